"""Optimizers and learning-rate schedules from the `optim:` config group (`conf/optim/<name>.yaml`).

    optimizer = build_optimizer(cfg.optim, model.parameters())      # sgd | momentum | nesterov | rmsprop | adam | adamw
    scheduler = build_scheduler(cfg.optim, optimizer, epochs=20)     # None unless optim.scheduler.name is set
"""

from __future__ import annotations

import dataclasses

import torch
from omegaconf import DictConfig, OmegaConf

from nnx.errors import NnxError
from nnx.registry import OPTIMIZERS

SCHEDULERS = ("none", "step", "cosine", "exponential")


@dataclasses.dataclass
class SchedulerConfig:
    name: str = "none"       # none | step | cosine | exponential; stepped once per epoch
    step_size: int = 10      # step: multiply the lr by gamma every step_size epochs
    gamma: float = 0.1       # step, exponential: the factor
    min_lr: float = 0.0      # cosine: the lr it anneals to, reached after the last epoch


@dataclasses.dataclass
class OptimConfig:
    lr: float = 0.01
    weight_decay: float = 0.0    # L2 penalty (sgd, momentum, nesterov, rmsprop, adam); decoupled for adamw
    momentum: float = 0.0        # sgd, momentum, nesterov, rmsprop
    betas: list[float] = dataclasses.field(default_factory=lambda: [0.9, 0.999])  # adam, adamw
    eps: float = 1e-8            # rmsprop, adam, adamw
    alpha: float = 0.99          # rmsprop: smoothing of the squared-gradient average
    scheduler: SchedulerConfig = dataclasses.field(default_factory=SchedulerConfig)


def _sgd(params, lr, weight_decay, momentum, nesterov=False, **_):
    if nesterov and momentum <= 0:
        raise NnxError("optim.name=nesterov needs optim.momentum > 0")
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)


@OPTIMIZERS.register("sgd", schema=OptimConfig)
def sgd(params, lr, weight_decay, momentum, **rest):
    return _sgd(params, lr, weight_decay, momentum)


@OPTIMIZERS.register("momentum", schema=OptimConfig)
def momentum(params, lr, weight_decay, momentum, **rest):
    return _sgd(params, lr, weight_decay, momentum)


@OPTIMIZERS.register("nesterov", schema=OptimConfig)
def nesterov(params, lr, weight_decay, momentum, **rest):
    return _sgd(params, lr, weight_decay, momentum, nesterov=True)


@OPTIMIZERS.register("rmsprop", schema=OptimConfig)
def rmsprop(params, lr, weight_decay, momentum, eps, alpha, **rest):
    return torch.optim.RMSprop(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum)


@OPTIMIZERS.register("adam", schema=OptimConfig)
def adam(params, lr, weight_decay, betas, eps, **rest):
    return torch.optim.Adam(params, lr=lr, betas=check_betas(betas), eps=eps, weight_decay=weight_decay)


@OPTIMIZERS.register("adamw", schema=OptimConfig)
def adamw(params, lr, weight_decay, betas, eps, **rest):
    return torch.optim.AdamW(params, lr=lr, betas=check_betas(betas), eps=eps, weight_decay=weight_decay)


def check_betas(betas) -> tuple[float, float]:
    """Adam's (beta1, beta2), each in [0, 1), or a clear error."""
    betas = tuple(betas)
    if len(betas) != 2 or not all(0 <= beta < 1 for beta in betas):
        raise NnxError(f"optim.betas={list(betas)}: Adam takes two decay rates, each in [0, 1)",
                       fix="e.g. optim.betas=[0.9,0.999]")
    return betas


def as_config(cfg) -> DictConfig:
    return cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)


def build_optimizer(optim_cfg, params) -> torch.optim.Optimizer:
    """The optimizer `optim_cfg.name` over `params` (parameters or parameter groups), its config validated."""
    params = list(params)
    if not params:
        raise NnxError("the model has no trainable parameters to optimize")
    try:
        return OPTIMIZERS.build(as_config(optim_cfg), params=params)
    except ValueError as err:  # torch.optim's own checks: "Invalid learning rate: -1.0", ...
        raise NnxError(f"optim: {err}", fix="optim.lr, weight_decay, momentum and eps are each >= 0") from None


def build_scheduler(optim_cfg, optimizer: torch.optim.Optimizer, epochs: int):
    """The per-epoch learning-rate schedule `optim.scheduler.name`, or None."""
    cfg = as_config(optim_cfg)
    schedule = SchedulerConfig(**OPTIMIZERS.validate(cfg, where="optim")["scheduler"])
    if schedule.name not in SCHEDULERS:
        raise NnxError(f"optim.scheduler.name={schedule.name!r} is unknown",
                       fix=f"choose one of: {', '.join(SCHEDULERS)}")
    lr_scheduler = torch.optim.lr_scheduler
    if schedule.name == "step":
        return lr_scheduler.StepLR(optimizer, step_size=schedule.step_size, gamma=schedule.gamma)
    if schedule.name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(epochs, 1), eta_min=schedule.min_lr)
    if schedule.name == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, gamma=schedule.gamma)
    return None

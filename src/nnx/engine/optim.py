"""Optimizers and learning-rate schedules from the `optim:` config group (`conf/optim/<name>.yaml`).

    optimizer, scheduler = build_optimizer(cfg.optim, model.parameters(), epochs=20)
    # sgd | momentum | nesterov | rmsprop | adam | adamw; scheduler: None unless optim.scheduler.name is set
"""

from __future__ import annotations

import torch
from omegaconf import DictConfig, OmegaConf

from nnx.errors import NnxError
from nnx.registry import OPTIMIZERS
from nnx.schemas import OptimConfig, SchedulerConfig


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
    return torch.optim.Adam(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)


@OPTIMIZERS.register("adamw", schema=OptimConfig)
def adamw(params, lr, weight_decay, betas, eps, **rest):
    return torch.optim.AdamW(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)


def as_config(cfg) -> DictConfig:
    return cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)


def build_optimizer(optim_cfg, params, epochs: int):
    """(optimizer, scheduler or None): the optimizer `optim_cfg.name` over `params` (parameters or parameter groups)
    and its per-epoch schedule over `epochs`, from one validation of the config."""
    params = list(params)
    if not params:
        raise NnxError("the model has no trainable parameters to optimize")
    cfg = as_config(optim_cfg)
    settings = OPTIMIZERS.validate(cfg, where="optim")
    try:
        optimizer = OPTIMIZERS.get(cfg.name).factory(params=params, **settings)
    except ValueError as err:  # torch.optim's own checks: "Invalid learning rate: -1.0", ...
        raise NnxError(f"optim: {err}", fix="optim.lr, weight_decay, momentum and eps are each >= 0") from None
    return optimizer, build_scheduler(SchedulerConfig(**settings["scheduler"]), optimizer, epochs)


def build_scheduler(schedule: SchedulerConfig, optimizer: torch.optim.Optimizer, epochs: int):
    """The per-epoch learning-rate schedule `optim.scheduler.name`, or None."""
    lr_scheduler = torch.optim.lr_scheduler
    if schedule.name == "step":
        return lr_scheduler.StepLR(optimizer, step_size=schedule.step_size, gamma=schedule.gamma)
    if schedule.name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(epochs, 1), eta_min=schedule.min_lr)
    if schedule.name == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, gamma=schedule.gamma)
    return None

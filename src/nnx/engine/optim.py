"""Optimizers and learning-rate schedules from the `optim:` config group (`conf/optim/<name>.yaml`).

    optimizer, scheduler = build_optimizer(cfg.optim, model.parameters(), epochs=20)
    # sgd | momentum | nesterov | rmsprop | adam | adamw; scheduler: None unless optim.scheduler.name is set
"""

from __future__ import annotations

import functools
import inspect

import torch
from omegaconf import DictConfig, OmegaConf

from nnx.errors import NnxError
from nnx.registry import OPTIMIZERS
from nnx.schemas import OptimConfig, SchedulerConfig

# Each name is torch.optim's own class; build_optimizer passes it the OptimConfig settings its signature takes.
for name, factory in (("sgd", torch.optim.SGD), ("momentum", torch.optim.SGD),
                      ("nesterov", functools.partial(torch.optim.SGD, nesterov=True)),
                      ("rmsprop", torch.optim.RMSprop), ("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW)):
    OPTIMIZERS.register(name, schema=OptimConfig)(factory)


def as_config(cfg) -> DictConfig:
    return cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)


def build_optimizer(optim_cfg, params, epochs: int):
    """(optimizer, scheduler or None): the optimizer `optim_cfg.name` over `params` (parameters or parameter groups)
    and its per-epoch schedule over `epochs`, from one validation of the config."""
    params = list(params)
    if not params:
        raise NnxError("the model has no trainable parameters to optimize")
    cfg = as_config(optim_cfg)
    settings = OPTIMIZERS.validate(cfg, where="optim")  # the ranges: OptimConfig.__post_init__
    factory = OPTIMIZERS.get(cfg.name).factory
    taken = inspect.signature(factory).parameters
    kwargs = {key: tuple(value) if isinstance(value, list) else value for key, value in settings.items()
              if key in taken and key != "params"}
    try:
        optimizer = factory(params, **kwargs)
    except ValueError as err:  # torch.optim's own checks, e.g. "Nesterov momentum requires a momentum"
        raise NnxError(f"optim.name={cfg.name}: {err}", fix="e.g. optim.momentum=0.9") from None
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

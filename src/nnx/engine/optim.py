"""Optimizers and learning-rate schedules from the `optim:` config group (`conf/optim/<name>.yaml`).

    recipe = OptimizerRecipe.from_config(cfg.optim)   # validated once (the runner does it: run.optimizer)
    optimizer, scheduler = recipe(model.parameters(), epochs=20)
    # sgd | momentum | nesterov | rmsprop | adam | adamw; scheduler: None unless optim.scheduler.name is set
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from typing import Callable

import torch

from nnx.errors import NnxError
from nnx.registry import OPTIMIZERS
from nnx.schemas import OptimConfig, SchedulerConfig

# Each name is torch.optim's own class; a recipe binds it the OptimConfig settings its signature takes.
for name, factory in (("sgd", torch.optim.SGD), ("momentum", torch.optim.SGD),
                      ("nesterov", functools.partial(torch.optim.SGD, nesterov=True)),
                      ("rmsprop", torch.optim.RMSprop), ("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW)):
    OPTIMIZERS.register(name, schema=OptimConfig)(factory)


@dataclasses.dataclass(frozen=True)
class OptimizerRecipe:
    """An `optim:` config checked once and bound to its torch.optim class: `recipe(params, epochs)` builds the
    optimizer over `params` (parameters or parameter groups) and its per-epoch schedule (or None)."""

    name: str
    settings: OptimConfig
    make: Callable[..., torch.optim.Optimizer]  # the class, with this config's keyword arguments bound

    @classmethod
    def from_config(cls, optim_cfg) -> OptimizerRecipe:
        """Keys, types and ranges (OptimConfig.__post_init__), then torch.optim's own checks on one dummy
        parameter (e.g. "Nesterov momentum requires a momentum"): every refusal before any data is read."""
        settings = OPTIMIZERS.settings(optim_cfg, "optim")  # its name, keys, types and ranges
        name = optim_cfg.get("name")
        factory = OPTIMIZERS.get(name).factory
        taken = inspect.signature(factory).parameters
        kwargs = {key: tuple(value) if isinstance(value, list) else value  # betas: torch takes a tuple
                  for key, value in dataclasses.asdict(settings).items() if key in taken}
        recipe = cls(name, settings, functools.partial(factory, **kwargs))
        recipe([torch.zeros(1, requires_grad=True)], epochs=1)
        return recipe

    def __call__(self, params, epochs: int):
        params = list(params)
        if not params:
            raise NnxError("the model has no trainable parameters to optimize")
        try:
            optimizer = self.make(params)
        except ValueError as err:  # torch.optim's own checks
            raise NnxError(f"optim.name={self.name}: {err}", fix="e.g. optim.momentum=0.9") from None
        return optimizer, build_scheduler(self.settings.scheduler, optimizer, epochs)


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

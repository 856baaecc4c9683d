"""optimizer_compare's settings and its own models', torch-free: Hydra's ConfigStore holds them, and
its experiment YAML and model YAMLs extend them."""

from __future__ import annotations

import dataclasses

from nnx.errors import NnxError
from nnx.schemas import check_betas

NAMES = ("sgd", "momentum", "nesterov", "rmsprop", "adam")  # the optimizers compared by default
IMPLS = ("scratch", "torch")
CHOICES = {"scratch": (*NAMES, "momentum_notebook"), "torch": NAMES}


def check_choice(name: str, impl: str) -> None:
    """One clear error for an unknown implementation or optimizer, before any work is done."""
    if impl not in IMPLS:
        raise NnxError(f"optim.impl={impl!r} is not an implementation", fix=f"use one of: {', '.join(IMPLS)}")
    if name not in CHOICES[impl]:
        raise NnxError(f"optimizer {name!r} has no {impl} implementation",
                       fix=f"with optim.impl={impl} choose one of: {', '.join(CHOICES[impl])}")


TENSOR_MLP_INITS = ("he", "unit_normal")


@dataclasses.dataclass
class TensorMlpConfig:
    hidden: int = 64
    init: str = "he"  # he: N(0, 2/fan_in) weights, zero biases | unit_normal: the notebook's randn everywhere


@dataclasses.dataclass
class OptimSettings:
    name: str = "all"        # all (the five) | sgd | momentum | nesterov | rmsprop | adam | momentum_notebook
    impl: str = "scratch"    # scratch (ours) | torch (torch.optim)
    lr: float | None = None  # one learning rate (what `optim.lr=0.01,0.1` sweeps); None: every one in `lrs`
    lrs: list[float] = dataclasses.field(default_factory=lambda: [0.001, 0.01, 0.1, 1.0])
    momentum: float = 0.9    # momentum and Nesterov
    alpha: float = 0.99      # RMSProp's decay of the squared gradients
    betas: list[float] = dataclasses.field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8

    def __post_init__(self) -> None:
        for name in self.names():
            check_choice(name, self.impl)
        check_betas(self.betas)
        if not self.chosen_lrs() or any(lr <= 0 for lr in self.chosen_lrs()):
            raise NnxError(f"learning rates must be positive, got {self.chosen_lrs()}", fix="e.g. optim.lr=0.01")

    def names(self) -> list[str]:
        return list(NAMES) if self.name == "all" else [self.name]

    def chosen_lrs(self) -> list[float]:
        return [self.lr] if self.lr is not None else list(self.lrs)


@dataclasses.dataclass
class ProtocolConfig:
    max_iters: int = 1000
    target_loss: float = 0.1
    diverge_factor: float = 10.0  # diverged: the loss is not finite or above diverge_factor x its starting value

    def __post_init__(self) -> None:
        if self.max_iters < 0 or self.diverge_factor <= 1:
            raise NnxError("protocol.max_iters must be >= 0 and protocol.diverge_factor > 1")


@dataclasses.dataclass
class OptimizerCompareConfig:
    protocol: ProtocolConfig = dataclasses.field(default_factory=ProtocolConfig)  # its own loop, not fit's trainer
    optim: OptimSettings = dataclasses.field(default_factory=OptimSettings)  # ours: impl, lrs


SCHEMA = OptimizerCompareConfig
MODEL_SCHEMAS = {"tensor_mlp": TensorMlpConfig}  # its own models' (conf/model/)

"""gradient_flow's settings, torch-free: Hydra's ConfigStore holds them, and its experiment YAML extends them."""

from __future__ import annotations

import dataclasses

from nnx.schemas import TrainerConfig

INIT_NAMES = ("zeros", "constant", "normal", "xavier", "kaiming")  # experiment.INITS applies each


@dataclasses.dataclass
class GradientFlowConfig:
    depth: int = 10                      # hidden layers
    width: int = 64                      # units per hidden layer
    activations: list = dataclasses.field(default_factory=lambda: ["sigmoid", "tanh", "relu"])
    inits: list = dataclasses.field(default_factory=lambda: list(INIT_NAMES))
    clips: list = dataclasses.field(default_factory=lambda: [None, 1.0])  # trainer.clip_grad_norm per variant
    constant: float = 0.05               # init=constant: every weight
    normal_std: float = 0.01             # init=normal: N(0, std^2)
    probe_size: int = 512                # training images for the activation statistics
    trainer: TrainerConfig = dataclasses.field(default_factory=TrainerConfig)


SCHEMA = GradientFlowConfig

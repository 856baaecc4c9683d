"""fashion_overfit's settings, torch-free: Hydra's ConfigStore holds them, and its experiment YAML extends them."""

from __future__ import annotations

import dataclasses
import math

from nnx.errors import NnxError
from nnx.schemas import TrainerConfig


@dataclasses.dataclass
class RegularizationConfig:
    l1: float = 0.0   # coefficient of l1 * sum |w| over the weight matrices (not the biases), added to the train loss
    max_norm: float = 0.0  # > 0: after every step, each unit's incoming weights rescaled to norm <= max_norm

    def __post_init__(self) -> None:
        for key, example in (("l1", "1e-4"), ("max_norm", "3")):
            value = getattr(self, key)
            if not (math.isfinite(value) and value >= 0):
                raise NnxError(f"regularization.{key}={value} must be a finite number >= 0 (0: off)",
                               fix=f"e.g. regularization.{key}={example}")


@dataclasses.dataclass
class FashionOverfitConfig:
    trainer: TrainerConfig = dataclasses.field(default_factory=TrainerConfig)
    regularization: RegularizationConfig = dataclasses.field(default_factory=RegularizationConfig)
    grid_images: int = 32        # test images in predictions.png (the first ones of the test set)
    sparsity_threshold: float = 1.0e-3  # a weight with |w| below this counts as zero in the sparsity metrics

    def __post_init__(self) -> None:
        if not self.sparsity_threshold > 0:
            raise NnxError(f"sparsity_threshold={self.sparsity_threshold} must be > 0")
        if self.grid_images <= 0:
            raise NnxError(f"grid_images={self.grid_images} must be positive")


SCHEMA = FashionOverfitConfig

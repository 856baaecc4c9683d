"""cifar_cnn_sweep's settings, torch-free: Hydra's ConfigStore holds them, and its experiment YAML extends them."""

from __future__ import annotations

import dataclasses

from nnx.schemas import TrainerConfig


@dataclasses.dataclass
class CifarCnnConfig:
    trainer: TrainerConfig = dataclasses.field(default_factory=TrainerConfig)
    feature_image: int = 0           # the test image whose feature maps are drawn
    max_params: int | None = None    # refuse a larger model before training (b_model's search: 10x base's)


SCHEMA = CifarCnnConfig

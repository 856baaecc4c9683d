"""adaline_iris' settings, torch-free: Hydra's ConfigStore holds them, and its experiment YAML extends them."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class LmsTrainerConfig:
    epochs: int = 900  # LMS epochs, as in the report


@dataclasses.dataclass
class AdalineIrisConfig:
    task: str = "both"  # setosa | versicolor | both
    trainer: LmsTrainerConfig = dataclasses.field(default_factory=LmsTrainerConfig)


SCHEMA = AdalineIrisConfig

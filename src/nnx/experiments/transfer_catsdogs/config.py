"""transfer_catsdogs\' settings, torch-free: Hydra's ConfigStore holds them, and its experiment YAML extends them."""

from __future__ import annotations

import dataclasses
from typing import Any

from nnx.errors import NnxError
from nnx.schemas import TrainerConfig


@dataclasses.dataclass
class TransferCatsDogsConfig:
    trainer: TrainerConfig = dataclasses.field(default_factory=TrainerConfig)
    feature_cache: bool = True     # frozen backbone: compute its features once, train the head on them
    forest_trees: int = 100        # part 2: RandomForestClassifier(n_estimators=...)
    misclassified_shown: int = 24  # images in misclassified.png
    report_tables: dict[str, Any] = dataclasses.field(default_factory=dict)  # the report's Tables 1-3
    summary_pivot: list[str] = dataclasses.field(default_factory=list)  # a sweep's summary.md: metric x job table

    def __post_init__(self) -> None:
        if self.forest_trees < 1 or self.misclassified_shown < 0:
            raise NnxError(f"forest_trees={self.forest_trees} must be >= 1 and misclassified_shown="
                           f"{self.misclassified_shown} >= 0")


SCHEMA = TransferCatsDogsConfig

"""dropout_arithmetic's settings, torch-free: Hydra's ConfigStore holds them, and its experiment YAML extends them."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class DropoutArithmeticConfig:
    outputs: list = dataclasses.field(default_factory=list)      # the layer's values, rows of numbers
    mask: list = dataclasses.field(default_factory=list)         # same shape, 1 = unit kept, 0 = dropped
    answer_key: dict = dataclasses.field(default_factory=dict)   # the reference's tables, keyed like TABLES
    samples: int = 100_000                                      # random masks for the expectation check
    tolerance: float = 0.005                                    # a key entry further off than this is a mistake


SCHEMA = DropoutArithmeticConfig

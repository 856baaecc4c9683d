"""madaline_moons\' settings, torch-free: Hydra's ConfigStore holds them, and its experiment YAML extends them."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class MadalineTrainerConfig:
    epochs: int = 100        # at most; stops early when every training pattern is right
    keep_best: bool = True   # keep the weights of the epoch with the fewest training errors (the pocket idea)


@dataclasses.dataclass
class MadalineMoonsConfig:
    trainer: MadalineTrainerConfig = dataclasses.field(default_factory=MadalineTrainerConfig)


SCHEMA = MadalineMoonsConfig

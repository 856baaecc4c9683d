"""madaline_moons' settings and its own models', torch-free: Hydra's ConfigStore holds them, and its experiment YAML
and model YAMLs extend them."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class MadalineConfig:
    hidden: int = 5          # hidden Adalines
    rule: str = "mrii"       # mrii: Widrow & Lehr 1990, output unit by LMS | mri: Fausett, fixed OR output unit
    max_flips: int = 2       # MRII: trial-adapt single hidden units, then pairs, ... up to this many at once
    init_scale: float = 0.5  # initial weights ~ U(−init_scale, init_scale)


@dataclasses.dataclass
class MadalineTrainerConfig:
    epochs: int = 100        # at most; stops early when every training pattern is right
    keep_best: bool = True   # keep the weights of the epoch with the fewest training errors (the pocket idea)


@dataclasses.dataclass
class MadalineMoonsConfig:
    trainer: MadalineTrainerConfig = dataclasses.field(default_factory=MadalineTrainerConfig)


SCHEMA = MadalineMoonsConfig
MODEL_SCHEMAS = {"madaline": MadalineConfig}  # its own models' (conf/model/)

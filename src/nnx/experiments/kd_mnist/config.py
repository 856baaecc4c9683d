"""kd_mnist's settings (torch-free: stored in Hydra's ConfigStore, which its experiment YAML extends)."""

from __future__ import annotations

import dataclasses
from typing import Any

from nnx.errors import NnxError
from nnx.schemas import TrainerConfig


@dataclasses.dataclass
class KdSettings:
    temperature: float = 2.0          # T: softens both softmaxes
    alpha: float = 0.5                # weight of the soft-target term; 0 is plain cross-entropy
    feature_weight: float = 0.0       # weight of the hint term on the last hidden layer (0: off)
    teacher_ckpt: str | None = None   # a teacher.pt (or a kd_mnist run folder holding one) to reuse
    teacher_epochs: int | None = None  # None: trainer.epochs
    student_augment: bool = False     # the students also train on data.augment (the teacher always does)
    cache_teacher: bool = True        # un-augmented students: the teacher's logits once, not every epoch

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise NnxError(f"kd.temperature={self.temperature:g} must be > 0", fix="e.g. kd.temperature=2")
        if not 0 <= self.alpha <= 1:
            raise NnxError(f"kd.alpha={self.alpha:g} must be in [0, 1]",
                           fix="0: plain cross-entropy, 1: soft targets only")
        if self.feature_weight < 0:
            raise NnxError(f"kd.feature_weight={self.feature_weight:g} must be >= 0", fix="0 turns the hint term off")
        if self.teacher_epochs is not None and self.teacher_epochs < 1:
            raise NnxError(f"kd.teacher_epochs={self.teacher_epochs} must be >= 1",
                           fix="null: as many as trainer.epochs")


@dataclasses.dataclass
class KdMnistConfig:
    teacher: dict[str, Any] = dataclasses.field(default_factory=lambda: {"name": "mlp"})  # a model: config
    student: dict[str, Any] = dataclasses.field(default_factory=lambda: {"name": "mlp"})
    kd: KdSettings = dataclasses.field(default_factory=KdSettings)
    trainer: TrainerConfig = dataclasses.field(default_factory=TrainerConfig)


SCHEMA = KdMnistConfig

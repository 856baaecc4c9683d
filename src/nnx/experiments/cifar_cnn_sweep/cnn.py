"""`cnn`: the small configurable CNN of the CIFAR-10 study (HW3); channels and image size come from the data.

    model = MODELS.build(cfg.model, input_shape=bundle.input_shape, num_classes=bundle.num_classes)

Default, as in the report: Conv(7, 3x3, same) -> Conv(9, 3x3, valid) -> MaxPool 2x2 -> Flatten -> Dropout 0.3 ->
Linear(10), an activation after every conv. `conv_layers` is a list of filter counts, or a depth n meaning
[7] * (n - 1) + [9] (the report's extra layers had 7 filters; depth 1 is one conv of 7). The first conv uses
`kernel_size` and "same" padding, the last `kernel_size2`, the ones between 3x3; all but the first are "valid"
(Keras' default padding, as in the report). `batchnorm_first` puts a BatchNorm on the input, before the first conv.
Two knobs beyond the report, for the combined model (`variant=b_model`): `batchnorm` adds a BatchNorm after every conv
(before its activation), and `pool_every=k` max-pools after every k-th conv instead of once after the last.
Weights start as Keras' do (`init: glorot`); on CIFAR-10 at Adam lr 0.01 PyTorch's smaller defaults trained worse.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from nnx.errors import NnxError
from nnx.experiments.cifar_cnn_sweep.config import CnnConfig
from nnx.models.mlp import activation_layer
from nnx.registry import MODELS

FIRST_FILTERS, LAST_FILTERS = 7, 9


def conv_filters(conv_layers: Any, filters: int | None = None, pool_every: int = 0) -> list[int]:
    """`conv_layers` as filter counts: a list is taken as is; a depth n becomes [7] * (n - 1) + [9], or with
    `filters` set, `filters` doubled after every pool (VGG's rule: [32, 64, 128] for n = 3, pool_every = 1)."""
    if isinstance(conv_layers, bool) or not isinstance(conv_layers, (int, list, tuple)):
        raise NnxError(f"model.conv_layers={conv_layers!r} must be a depth or a list of filter counts",
                       fix="e.g. model.conv_layers=3 or model.conv_layers=[16,32]")
    if isinstance(conv_layers, int):
        if conv_layers < 1:
            raise NnxError(f"model.conv_layers={conv_layers} must be at least 1")
        if filters is not None:
            return [filters * 2 ** (index // pool_every if pool_every else 0) for index in range(conv_layers)]
        return [FIRST_FILTERS] if conv_layers == 1 else [FIRST_FILTERS] * (conv_layers - 1) + [LAST_FILTERS]
    filters = list(conv_layers)
    if not filters or not all(isinstance(f, int) and not isinstance(f, bool) and f > 0 for f in filters):
        raise NnxError(f"model.conv_layers={filters!r}: every entry must be a positive filter count")
    return filters


def nonlinearity(name: str, leaky_slope: float) -> nn.Module:
    return nn.LeakyReLU(leaky_slope) if name == "leaky_relu" else activation_layer(name)


class ConvNet(nn.Module):
    """`features` (conv blocks, then the pool) and `head` (flatten, dropout, linear). `feature_blocks` are the
    modules whose outputs are drawn as feature maps: each conv with its activation."""

    def __init__(self, blocks: list[nn.Module], pool: nn.Module, head: nn.Module, norm: nn.Module | None = None):
        super().__init__()
        self.norm = norm if norm is not None else nn.Identity()
        self.blocks = nn.ModuleList(blocks)
        self.pool, self.head = pool, head

    @property
    def feature_blocks(self) -> list[nn.Module]:
        return list(self.blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        for block in self.blocks:
            x = block(x)
        return self.head(self.pool(x))


@MODELS.register("cnn", schema=CnnConfig)
def cnn(input_shape: tuple, num_classes: int, *, conv_layers: Any, kernel_size: int, kernel_size2: int,
        activation: str, leaky_slope: float, batchnorm_first: bool, batchnorm: bool, filters: int | None, pool: int,
        pool_every: int, dropout: float, init: str) -> ConvNet:
    if len(input_shape) != 3:
        raise NnxError(f"model=cnn needs images (channels, height, width), got input shape {tuple(input_shape)}")
    widths = conv_filters(conv_layers, filters, pool_every)
    channels, height, width = input_shape
    blocks = []
    for index, out_channels in enumerate(widths):
        first, last = index == 0, index == len(widths) - 1 and index > 0
        size = kernel_size if first else kernel_size2 if last else 3
        layers = [nn.Conv2d(channels, out_channels, size, padding=size // 2 if first else 0)]
        layers += [nn.BatchNorm2d(out_channels)] if batchnorm else []
        layers.append(nonlinearity(activation, leaky_slope))
        channels = out_channels
        if not first:
            height, width = height - size + 1, width - size + 1
        if pool_every and (index + 1) % pool_every == 0 and index < len(widths) - 1:
            layers.append(nn.MaxPool2d(pool))
            height, width = height // pool, width // pool
        blocks.append(nn.Sequential(*layers))
    height, width = height // pool, width // pool
    if height < 1 or width < 1:
        raise NnxError(f"model=cnn: {len(widths)} conv layers and a {pool}x{pool} pool leave nothing of a "
                       f"{input_shape[1]}x{input_shape[2]} image", fix="use fewer layers or smaller kernels")
    head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels * height * width, num_classes))
    norm = nn.BatchNorm2d(input_shape[0]) if batchnorm_first else None
    return initialise(ConvNet(blocks, nn.MaxPool2d(pool), head, norm), init)


def initialise(model: nn.Module, init: str) -> nn.Module:
    """`torch`: as built. `glorot`: Keras' defaults for Conv2D and Dense, Glorot-uniform weights and zero biases
    (PyTorch draws both from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), which is smaller for the last layer)."""
    if init not in ("torch", "glorot"):
        raise NnxError(f"model.init={init!r} is not one of torch, glorot")
    if init == "glorot":
        for layer in model.modules():
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)
    return model

"""`mlp`: a plain multi-layer perceptron whose input and output sizes come from the data (any image or feature shape).

    model = MODELS.build(cfg.model, input_shape=bundle.input_shape, num_classes=bundle.num_classes)
"""

from __future__ import annotations

import dataclasses
import math

from torch import nn

from nnx.errors import NnxError
from nnx.registry import MODELS

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU, "leaky_relu": nn.LeakyReLU,
               "elu": nn.ELU}


@dataclasses.dataclass
class MlpConfig:
    hidden: list[int] = dataclasses.field(default_factory=lambda: [128, 128])
    activation: str = "relu"
    dropout: float = 0.0  # after every hidden activation
    input_dropout: float = 0.0  # on the input pixels (Hinton et al.'s regularised nets: 0.2)

    def __post_init__(self):
        for key in ("dropout", "input_dropout"):
            if not 0 <= getattr(self, key) < 1:
                raise NnxError(f"model.{key}={getattr(self, key)} must be in [0, 1)")


def activation_layer(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise NnxError(f"model.activation={name!r} is unknown", fix=f"choose one of: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


@MODELS.register("mlp", schema=MlpConfig)
def mlp(input_shape: tuple, num_classes: int, *, hidden: list[int], activation: str, dropout: float,
        input_dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten()] + ([nn.Dropout(input_dropout)] if input_dropout else [])
    width = math.prod(input_shape)
    for size in hidden:
        layers += [nn.Linear(width, size), activation_layer(activation)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = size
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)

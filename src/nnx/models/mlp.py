"""`mlp`: a plain multi-layer perceptron whose input and output sizes come from the data (any image or feature shape).

    model = MODELS.build(cfg.model, input_shape=bundle.input_shape, num_classes=bundle.num_classes)
"""

from __future__ import annotations

import math

from torch import nn

from nnx.registry import MODELS
from nnx.schemas import MlpConfig, check_activation

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU, "leaky_relu": nn.LeakyReLU,
               "elu": nn.ELU}


def activation_layer(name: str) -> nn.Module:
    check_activation(name)  # the schema's names, which a test keeps equal to these
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

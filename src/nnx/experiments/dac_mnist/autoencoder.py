"""`autoencoder`: the DAC paper's fully connected autoencoder, input -> 512 -> 128 -> 32 -> 10 (a linear code) and the
mirrored decoder ending in a sigmoid, so reconstructions are pixels in [0, 1].

    model = MODELS.build(cfg.model, input_shape=bundle.input_shape)   # (1, 28, 28) -> 784 inputs
    codes = model.encode(x)                                           # N x code
    reconstruction = model(x)                                         # N x 784, flattened
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nnx.experiments.dac_mnist.config import AutoencoderConfig
from nnx.models.mlp import activation_layer
from nnx.registry import MODELS


def dense_stack(widths: list[int], activation: str, last: nn.Module | None) -> nn.Sequential:
    """Linear layers through `widths`, `activation` between them, `last` (or nothing) after the final one."""
    layers: list[nn.Module] = []
    for index, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if index < len(widths) - 2:
            layers.append(activation_layer(activation))
    if last is not None:
        layers.append(last)
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    def __init__(self, n_inputs: int, hidden: list[int], code: int, activation: str):
        super().__init__()
        widths = [n_inputs, *hidden, code]
        self.encoder = dense_stack(widths, activation, last=None)
        self.decoder = dense_stack(widths[::-1], activation, last=nn.Sigmoid())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(x))

    def weight_matrices(self) -> list[torch.Tensor]:
        """The Linear layers' weights (not the biases): what the paper's L2 term penalises."""
        return [module.weight for module in self.modules() if isinstance(module, nn.Linear)]


@MODELS.register("autoencoder", schema=AutoencoderConfig)
def autoencoder(input_shape: tuple, *, hidden: list[int], code: int, activation: str, **_) -> Autoencoder:
    return Autoencoder(math.prod(input_shape), list(hidden), code, activation)

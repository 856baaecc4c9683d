"""A two-layer perceptron whose parameters are plain tensors, as in the assignment's notebook: no nn.Module.

logits = relu(x W1 + b1) W2 + b2. Built from its own seeded generator, so every optimizer and learning rate of a
comparison starts from the very same weights.
"""

from __future__ import annotations

import math

import torch

from nnx.errors import NnxError
from nnx.experiments.optimizer_compare.config import TENSOR_MLP_INITS, TensorMlpConfig
from nnx.registry import MODELS


class TensorMLP:
    def __init__(self, n_in: int, hidden: int, n_out: int, init: str = "he", seed: int = 0, device: str = "cpu",
                 dtype: torch.dtype = torch.float32):
        if init not in TENSOR_MLP_INITS:
            raise NnxError(f"model.init={init!r} is not an initialisation",
                           fix=f"use one of: {', '.join(TENSOR_MLP_INITS)}")
        generator = torch.Generator().manual_seed(seed)

        def normal(*shape: int, std: float) -> torch.Tensor:
            return (torch.randn(*shape, generator=generator, dtype=dtype) * std).to(device).requires_grad_()

        if init == "unit_normal":
            scale_1 = scale_2 = bias_std = 1.0
        else:  # He et al. for the ReLU layer, LeCun for the linear output: logits start at unit scale
            scale_1, scale_2, bias_std = math.sqrt(2 / n_in), math.sqrt(1 / hidden), 0.0
        self.W1, self.b1 = normal(n_in, hidden, std=scale_1), normal(hidden, std=bias_std)
        self.W2, self.b2 = normal(hidden, n_out, std=scale_2), normal(n_out, std=bias_std)

    def parameters(self) -> list[torch.Tensor]:
        return [self.W1, self.b1, self.W2, self.b2]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.W1 + self.b1) @ self.W2 + self.b2


@MODELS.register("tensor_mlp", schema=TensorMlpConfig)
def tensor_mlp(hidden: int, init: str, *, n_in: int, n_out: int, seed: int = 0, device: str = "cpu") -> TensorMLP:
    return TensorMLP(n_in, hidden, n_out, init=init, seed=seed, device=device)

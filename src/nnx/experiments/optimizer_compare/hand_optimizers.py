"""Hand-written optimizers, each a literal transcription of its update rule, and their torch.optim twins.

Every rule is written in the form torch.optim uses, so `impl=scratch` and `impl=torch` take the same steps:
  sgd       p <- p - lr g
  momentum  v <- mu v + g;                   p <- p - lr v             (heavy ball; torch SGD(momentum=mu))
  nesterov  v <- mu v + g;                   p <- p - lr (g + mu v)    (torch SGD(momentum=mu, nesterov=True))
  rmsprop   s <- a s + (1 - a) g^2;          p <- p - lr g / (sqrt(s) + eps)
  adam      m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
            p <- p - lr m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t)
`momentum_notebook` is the reference notebook's rule, m <- 0.1 g + 0.9 m; p <- p - m, kept to show its bug:
it never reads the learning rate.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Iterable

import torch

from nnx.experiments.optimizer_compare.config import check_choice
from nnx.schemas import check_betas


class HandOptimizer(ABC):
    """Holds the parameters, one state dict per parameter and the step count t; subclasses write `update`."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float):
        self.params = list(params)
        self.lr = lr
        self.state: list[dict] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for p, state in zip(self.params, self.state):
            if p.grad is not None:  # as torch.optim: a parameter's step count t grows only when it has a gradient
                state["t"] = state.get("t", 0) + 1
                self.update(p, p.grad, state)

    @abstractmethod
    def update(self, p: torch.Tensor, g: torch.Tensor, state: dict) -> None:
        """Change `p` in place from its gradient `g` and its `state`."""


class SGD(HandOptimizer):
    def update(self, p, g, state):
        p -= self.lr * g


class Momentum(HandOptimizer):
    def __init__(self, params, lr, mu=0.9, nesterov=False):
        super().__init__(params, lr)
        self.mu, self.nesterov = mu, nesterov

    def update(self, p, g, state):
        state["v"] = v = self.mu * state.get("v", 0.0) + g  # the velocity starts at 0, so v_1 = g
        p -= self.lr * (g + self.mu * v if self.nesterov else v)


class RMSProp(HandOptimizer):
    def __init__(self, params, lr, alpha=0.99, eps=1e-8):
        super().__init__(params, lr)
        self.alpha, self.eps = alpha, eps

    def update(self, p, g, state):
        state["s"] = s = self.alpha * state.get("s", 0.0) + (1 - self.alpha) * g * g
        p -= self.lr * g / (s.sqrt() + self.eps)


class Adam(HandOptimizer):
    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        (self.beta1, self.beta2), self.eps = betas, eps

    def update(self, p, g, state):
        state["m"] = m = self.beta1 * state.get("m", 0.0) + (1 - self.beta1) * g
        state["v"] = v = self.beta2 * state.get("v", 0.0) + (1 - self.beta2) * g * g
        m_hat = m / (1 - self.beta1 ** state["t"])  # the bias corrections undo the zero start of m and v
        v_hat = v / (1 - self.beta2 ** state["t"])
        p -= self.lr * m_hat / (v_hat.sqrt() + self.eps)


class NotebookMomentum(HandOptimizer):
    """The reference notebook's momentum, bug included: the step is m itself, so `lr` changes nothing."""

    def update(self, p, g, state):
        state["m"] = m = 0.1 * g + 0.9 * state.get("m", 0.0)
        p -= m


def make_optimizer(name: str, params, lr: float, impl: str = "scratch", momentum: float = 0.9,
                   alpha: float = 0.99, betas=(0.9, 0.999), eps: float = 1e-8):
    """The optimizer `name` over `params`: ours (impl=scratch) or torch.optim's (impl=torch), same settings."""
    check_choice(name, impl)
    params, betas = list(params), check_betas(betas)
    scratch = {
        "sgd": lambda: SGD(params, lr),
        "momentum": lambda: Momentum(params, lr, momentum),
        "nesterov": lambda: Momentum(params, lr, momentum, nesterov=True),
        "rmsprop": lambda: RMSProp(params, lr, alpha, eps),
        "adam": lambda: Adam(params, lr, betas, eps),
        "momentum_notebook": lambda: NotebookMomentum(params, lr),
    }
    torch_made = {
        "sgd": lambda: torch.optim.SGD(params, lr),
        "momentum": lambda: torch.optim.SGD(params, lr, momentum=momentum),
        "nesterov": lambda: torch.optim.SGD(params, lr, momentum=momentum, nesterov=True),
        "rmsprop": lambda: torch.optim.RMSprop(params, lr, alpha=alpha, eps=eps),
        "adam": lambda: torch.optim.Adam(params, lr, betas=betas, eps=eps),
    }
    return (scratch if impl == "scratch" else torch_made)[name]()

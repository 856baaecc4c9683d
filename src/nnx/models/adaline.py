"""Adaline (Widrow & Hoff, 1960): a linear unit net = w·x + b trained by LMS, read out as sign(net).

LMS (the delta rule) is gradient descent on the cost E = ½·mean((t − net)²) with bipolar targets t = ±1:
per sample `w += lr·(t − net)·x` (online), or the same step averaged over all samples (batch).
Its fixed point is the least-squares solution, which `least_squares` computes in closed form.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from nnx.errors import NnxError
from nnx.registry import MODELS
from nnx.schemas import AdalineConfig

UPDATES = ("batch", "online")


def bipolar(labels: np.ndarray, positive) -> np.ndarray:
    """+1 where `labels == positive`, −1 elsewhere."""
    return np.where(labels == positive, 1.0, -1.0)


def sign(net: np.ndarray) -> np.ndarray:
    """The bipolar step: +1 for net >= 0, −1 below."""
    return np.where(net >= 0, 1.0, -1.0)


def least_squares(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, float]:
    """The closed-form minimum of E = ½·mean((t − w·x − b)²): the weights LMS converges to."""
    x_with_bias = np.hstack([x, np.ones((len(x), 1))])
    solution, *_ = np.linalg.lstsq(x_with_bias, t, rcond=None)
    return solution[:-1], float(solution[-1])


class Adaline:
    def __init__(self, n_inputs: int, update: str = "batch", rng: np.random.Generator | None = None):
        if update not in UPDATES:
            raise NnxError(f"model.update={update!r} is not an LMS update", fix=f"choose one of: {', '.join(UPDATES)}")
        self.w = np.zeros(n_inputs)  # LMS minimises a convex cost: zeros are as good a start as any
        self.b = 0.0
        self.update = update
        self.rng = rng or np.random.default_rng(0)  # the order of samples in an online epoch

    def net(self, x: np.ndarray) -> np.ndarray:
        return x @ self.w + self.b

    def predict(self, x: np.ndarray) -> np.ndarray:
        return sign(self.net(x))

    def cost(self, x: np.ndarray, t: np.ndarray) -> float:
        return float(0.5 * np.mean((t - self.net(x)) ** 2))

    def train_epoch(self, x: np.ndarray, t: np.ndarray, lr: float) -> float:
        """One pass of LMS over (x, t); returns the cost after it."""
        if self.update == "batch":
            error = t - self.net(x)
            self.w += lr * error @ x / len(x)
            self.b += lr * error.mean()
        else:
            for i in self.rng.permutation(len(x)):
                error = t[i] - self.net(x[i])
                self.w += lr * error * x[i]
                self.b += lr * error
        return self.cost(x, t)


@MODELS.register("adaline", schema=AdalineConfig)
def adaline(update: str, n_inputs: int, rng: np.random.Generator | None = None) -> Adaline:
    return Adaline(n_inputs, update, rng)


@dataclasses.dataclass
class LmsConfig:
    """`optim:` of the Adaline/Madaline experiments: LMS is their only optimizer, `lr` its step size."""

    name: str = "lms"
    lr: float = 0.3


def lms_config(optim) -> LmsConfig:
    """Validate `cfg.optim` (the runner leaves an unregistered optimizer to the experiment)."""
    from omegaconf import OmegaConf

    from nnx.registry import validate_against

    given = OmegaConf.to_container(OmegaConf.create(optim or {}), resolve=True)
    foreign = [key for key in given if key not in {f.name for f in dataclasses.fields(LmsConfig)}]
    if len(foreign) > 1:  # an optimizer group chosen on the command line (optim=adam) merged its keys in
        raise NnxError(f"optim has {', '.join(foreign)}: these learners train by their own LMS rule, so an optim= "
                       "choice such as optim=adam does not apply", fix="leave optim as the experiment sets it; "
                       "tune optim.lr")
    params = validate_against(LmsConfig, given, "optim")
    if params["name"] != "lms" or not params["lr"] > 0:
        raise NnxError(f"optim={params}: these learners train by LMS with a positive step",
                       fix="use optim.name=lms and optim.lr > 0")
    return LmsConfig(**params)


def check_learner(cfg, model: str, what: str) -> None:
    """The classic experiments train `model` (adaline | madaline) for at least one epoch, or say so in one line."""
    if cfg.model.name != model or cfg.trainer.epochs < 1:
        raise NnxError(f"model={cfg.model.name}, trainer.epochs={cfg.trainer.epochs}: this experiment trains {what} "
                       "for at least one epoch", fix=f"use model={model} and trainer.epochs >= 1")

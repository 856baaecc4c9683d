"""Madaline: a layer of bipolar Adalines z_j = sign(z_in_j), z_in_j = b_j + Σ_i x_i·w_ij, and one output unit
y = sign(y_in), y_in = b_out + Σ_j z_j·v_j. Two training rules, both written per training pattern:

- MRI (Fausett, "Fundamentals of Neural Networks", Algorithm MRI): the output unit is a fixed OR; only the hidden
  Adalines learn, with the Adaline rule toward +1 or −1 (see `mri_step`).
- MRII (Widrow & Lehr, "30 years of adaptive neural networks", 1990, §V-B), minimal disturbance: when the output
  is wrong, trial-adapt the least confident hidden Adalines first (smallest |z_in|), keeping a trial only if it
  reduces the output error; when none does, the output unit learns by LMS (see `mrii_step`).
"""

from __future__ import annotations

import itertools

import numpy as np

from nnx.errors import NnxError
from nnx.experiments.madaline_moons.config import MadalineConfig
from nnx.models.adaline import sign
from nnx.registry import MODELS

RULES = ("mrii", "mri")


class Madaline:
    def __init__(self, n_inputs: int, hidden: int, rule: str = "mrii", max_flips: int = 2, init_scale: float = 0.5,
                 rng: np.random.Generator | None = None):
        if rule not in RULES:
            raise NnxError(f"model.rule={rule!r} is not a Madaline rule", fix=f"choose one of: {', '.join(RULES)}")
        if hidden < 1:
            raise NnxError(f"model.hidden={hidden}: a Madaline needs at least one hidden Adaline")
        if max_flips < 1 or not init_scale > 0:
            raise NnxError(f"model.max_flips={max_flips} must be >= 1 and model.init_scale={init_scale} > 0")
        rng = rng or np.random.default_rng(0)
        self.rule = rule
        self.max_flips = max_flips
        self.w = rng.uniform(-init_scale, init_scale, (n_inputs, hidden))  # w[i, j]: input X_i -> hidden Z_j
        self.b = rng.uniform(-init_scale, init_scale, hidden)
        if rule == "mri":
            # Fausett's fixed OR unit for any number m of hidden units: b_out = ½(m − 1), so y_in = +½ for one
            # z = +1 (more for more) and −½ for none.
            self.v, self.b_out = np.full(hidden, 0.5), 0.5 * (hidden - 1)
        else:
            self.v, self.b_out = rng.uniform(-init_scale, init_scale, hidden), 0.0

    @property
    def hidden(self) -> int:
        return len(self.b)

    def z_in(self, x: np.ndarray) -> np.ndarray:
        return self.b + x @ self.w

    def y_in(self, x: np.ndarray) -> np.ndarray:
        return self.b_out + sign(self.z_in(x)) @ self.v

    def predict(self, x: np.ndarray) -> np.ndarray:
        return sign(self.y_in(x))

    def errors(self, x: np.ndarray, t: np.ndarray) -> int:
        return int((self.predict(x) != t).sum())


def mri_step(net: Madaline, x: np.ndarray, t: float, lr: float) -> None:
    """One pattern of MRI. Wrong output and t = +1: move the hidden unit whose net is closest to 0 toward +1.
    Wrong output and t = −1: move every hidden unit with positive net toward −1. Both are the Adaline rule
    b_J += lr·(t − z_in_J), w_iJ += lr·(t − z_in_J)·x_i."""
    z_in = net.z_in(x)
    if net.predict(x) == t:
        return
    units = [int(np.argmin(np.abs(z_in)))] if t == 1 else np.flatnonzero(z_in > 0)
    for J in units:
        net.b[J] += lr * (t - z_in[J])
        net.w[:, J] += lr * (t - z_in[J]) * x


def reverse_unit(net: Madaline, J: int, x: np.ndarray) -> None:
    """Minimal disturbance: the smallest weight change (α-LMS, α = 1) that moves z_in_J to −sign(z_in_J)."""
    z_in_J = net.b[J] + x @ net.w[:, J]
    step = (-sign(z_in_J) - z_in_J) / (1.0 + x @ x)  # 1 + |x|² counts the bias input too
    net.b[J] += step
    net.w[:, J] += step * x


def trial_sets(z_in: np.ndarray, max_flips: int) -> list[tuple[int, ...]]:
    """Single hidden units, then pairs, ..., each size ordered by confidence Σ|z_in| (least confident first)."""
    order = np.argsort(np.abs(z_in), kind="stable")
    sets = []
    for size in range(1, min(max_flips, len(order)) + 1):
        combos = itertools.combinations(order.tolist(), size)
        sets += sorted(combos, key=lambda units: np.abs(z_in[list(units)]).sum())
    return sets


def mrii_step(net: Madaline, x: np.ndarray, t: float, lr: float, max_flips: int = 2) -> tuple[int, ...] | None:
    """One pattern of MRII; returns the hidden units whose trial change was kept (None if none was).

    The output error is the Hamming error of the outputs; with our one output unit it falls only by becoming
    right, so a trial is kept iff it makes the output right, and undone otherwise. When no trial helps, the
    output unit takes an LMS step toward t. A right answer changes nothing (minimal disturbance)."""
    if net.predict(x) == t:
        return None
    for units in trial_sets(net.z_in(x), max_flips):
        saved = net.w.copy(), net.b.copy()
        for J in units:
            reverse_unit(net, J, x)
        if net.predict(x) == t:
            return units
        net.w, net.b = saved
    z = sign(net.z_in(x))  # the output Adaline: LMS on the hidden layer's bipolar outputs
    error_out = t - (net.b_out + z @ net.v)
    net.v += lr * error_out * z
    net.b_out += lr * error_out
    return None


def train_epoch(net: Madaline, x: np.ndarray, t: np.ndarray, lr: float, rng: np.random.Generator) -> None:
    """One pass over the training patterns in a random order."""
    for p in rng.permutation(len(x)):
        if net.rule == "mri":
            mri_step(net, x[p], t[p], lr)
        else:
            mrii_step(net, x[p], t[p], lr, net.max_flips)


@MODELS.register("madaline", schema=MadalineConfig)
def madaline(hidden: int, rule: str, max_flips: int, init_scale: float, n_inputs: int,
             rng: np.random.Generator | None = None) -> Madaline:
    return Madaline(n_inputs, hidden, rule, max_flips, init_scale, rng)

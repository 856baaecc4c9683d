"""McCulloch-Pitts nets for the seven-segment digits 6, 7, 8, 9: fixed weights, a unit fires iff net >= threshold."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from nnx.registry import MODELS

SEGMENTS = "abcdefg"
# Segments a..g lit for each digit (the assignment's table had e lit for 9; a real 9 has it off).
DIGITS = {6: "1011111", 7: "1110000", 8: "1111111", 9: "1111011"}


def bits(pattern: str) -> np.ndarray:
    return np.array([int(c) for c in pattern])


def all_inputs() -> np.ndarray:
    """The 128 seven-segment patterns as rows (a is the most significant bit)."""
    return np.array(list(itertools.product([0, 1], repeat=7)))


def ideal_outputs(inputs: np.ndarray) -> np.ndarray:
    """One-hot over (6, 7, 8, 9) for a digit's pattern, all zeros for every other pattern."""
    return np.array([[int((x == bits(p)).all()) for p in DIGITS.values()] for x in inputs])


@dataclasses.dataclass
class McpLayer:
    weights: np.ndarray     # (units, inputs)
    thresholds: np.ndarray  # (units,)
    unit_names: list[str]
    input_names: list[str]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x @ self.weights.T >= self.thresholds).astype(int)


@dataclasses.dataclass
class McpNet:
    layers: list[McpLayer]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer(x)
        return x

    @property
    def n_weights(self) -> int:
        """Every connection between consecutive layers, as the report counts (7*4 = 28; 7*2 + 2*4 = 22)."""
        return int(sum(layer.weights.size for layer in self.layers))

    @property
    def n_nonzero_weights(self) -> int:
        return int(sum(np.count_nonzero(layer.weights) for layer in self.layers))


def template_layer(codes: dict[str, np.ndarray], input_names: list[str]) -> McpLayer:
    """One unit per code: +1 where the code is 1, -1 where it is 0, threshold = number of ones.

    Such a unit fires for its exact code and nothing else (any other input loses at least 1 from the sum).
    """
    weights = np.array([2 * code - 1 for code in codes.values()])
    thresholds = np.array([code.sum() for code in codes.values()])
    return McpLayer(weights, thresholds, list(codes), input_names)


def digit_layer(hidden: McpLayer) -> McpLayer:
    """The output layer of a two-layer net: a template unit over each digit's hidden code."""
    codes = {f"y{d}": hidden(bits(p)[None])[0] for d, p in DIGITS.items()}
    if len({tuple(c) for c in codes.values()}) < len(codes):
        raise ValueError(f"hidden layer {hidden.unit_names} gives two digits the same code")
    return template_layer(codes, hidden.unit_names)


def feature_layer(features: dict[str, tuple[str, int]]) -> McpLayer:
    """Hidden units from {name: (segment weights as a..g string of 0/1/-, threshold)}."""
    sign = {"1": 1, "0": 0, "-": -1}
    weights = np.array([[sign[c] for c in w] for w, _ in features.values()])
    thresholds = np.array([t for _, t in features.values()])
    return McpLayer(weights, thresholds, list(features), list(SEGMENTS))


@MODELS.register("mcp_single")
def mcp_single() -> McpNet:
    return McpNet([template_layer({f"y{d}": bits(p) for d, p in DIGITS.items()}, list(SEGMENTS))])


@MODELS.register("mcp_two_layer")
def mcp_two_layer() -> McpNet:
    """The report's design: h1 = upper loop (a, b, f, g all lit), h2 = segment e; 7*2 + 2*4 = 22 weights.

    Two binary hidden units give only four codes, so every one of the 128 inputs lands on some digit.
    """
    hidden = feature_layer({"h_upper_loop": ("1100011", 4), "h_e": ("0000100", 1)})
    return McpNet([hidden, digit_layer(hidden)])


@MODELS.register("mcp_two_layer_exact")
def mcp_two_layer_exact() -> McpNet:
    """Exact on all 128 inputs: 6, 8, 9 share a, c, d, f, g and differ only in b and e; 7 has its own template."""
    hidden = feature_layer({
        "h_acdfg": ("1011011", 5),
        "h_b": ("0100000", 1),
        "h_e": ("0000100", 1),
        "h_seven": ("111----", 3),
    })
    return McpNet([hidden, digit_layer(hidden)])

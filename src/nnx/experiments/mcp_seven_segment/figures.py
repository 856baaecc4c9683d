"""Figures for mcp_seven_segment: seven-segment displays, weight tables and the 128-input heat map."""

from __future__ import annotations

import numpy as np

# Segment geometry on a 1 x 2 box: (x0, y0, x1, y1) of each bar a..g.
BARS = {
    "a": (0.15, 2.0, 0.85, 2.0), "b": (0.9, 1.95, 0.9, 1.05), "c": (0.9, 0.95, 0.9, 0.05),
    "d": (0.15, 0.0, 0.85, 0.0), "e": (0.1, 0.95, 0.1, 0.05), "f": (0.1, 1.95, 0.1, 1.05),
    "g": (0.15, 1.0, 0.85, 1.0),
}


def draw_display(ax, pattern: np.ndarray, title: str) -> None:
    for lit, (x0, y0, x1, y1) in zip(pattern, BARS.values()):
        ax.plot([x0, x1], [y0, y1], lw=7, solid_capstyle="round", color="crimson" if lit else "0.88")
    ax.set_xlim(-0.3, 1.3)
    ax.set_ylim(-0.3, 2.3)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=9)


def digits_figure(fig, digits: dict[int, np.ndarray], outputs: dict[str, np.ndarray]) -> None:
    """One display per digit; below it, each net's output vector for that pattern."""
    axes = fig.subplots(1, len(digits))
    for i, (ax, (digit, pattern)) in enumerate(zip(axes, digits.items())):
        lines = [f"{net}: {''.join(map(str, out[i]))}" for net, out in outputs.items()]
        draw_display(ax, pattern, f"digit {digit}")
        ax.text(0.5, -0.45, "\n".join(lines), ha="center", va="top", fontsize=7, family="monospace")


def weights_figure(fig, layers) -> None:
    """Each layer's weights and thresholds as a table image."""
    axes = np.atleast_1d(fig.subplots(len(layers), 1))
    for ax, layer in zip(axes, layers):
        cells = [[*map(str, w), str(t)] for w, t in zip(layer.weights, layer.thresholds)]
        ax.axis("off")
        table = ax.table(cellText=cells, rowLabels=layer.unit_names, colLabels=[*layer.input_names, "θ"], loc="center")
        table.scale(1, 1.3)


def heatmap_figure(fig, inputs: np.ndarray, panels: dict[str, np.ndarray]) -> None:
    """Outputs (4 columns) for all 128 inputs, one panel per net beside the ideal."""
    axes = fig.subplots(1, len(panels), sharey=True)
    for ax, (title, outputs) in zip(np.atleast_1d(axes), panels.items()):
        ax.imshow(outputs, aspect="auto", cmap="Greys", interpolation="nearest", vmin=0, vmax=1)
        ax.set_xticks(range(outputs.shape[1]), ["6", "7", "8", "9"])
        ax.set_title(title, fontsize=9)
    axes[0].set_ylabel("input pattern (abcdefg as a binary number)")

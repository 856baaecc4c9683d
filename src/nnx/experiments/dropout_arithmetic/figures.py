"""Figures for dropout_arithmetic: the tables as annotated grids, and the sampled mean converging to the test output."""

from __future__ import annotations

import numpy as np


def tables_figure(fig, tables: dict[str, np.ndarray], mistakes: list[dict]) -> None:
    """One annotated grid per table; a cell the answer key got wrong is boxed in red with the key's value below."""
    from matplotlib.patches import Rectangle

    axes = fig.subplots(2, (len(tables) + 1) // 2).ravel()
    for ax, (name, matrix) in zip(axes, tables.items()):
        limit = max(float(np.abs(matrix).max()), 1e-9)
        ax.imshow(matrix, cmap="RdBu_r", vmin=-1.6 * limit, vmax=1.6 * limit)  # pale colours: the numbers stay legible
        for (r, c), value in np.ndenumerate(matrix):
            ax.text(c, r, f"{value:g}", ha="center", va="center", fontsize=9)
        for wrong in (m for m in mistakes if m["table"] == name):
            r, c = wrong["row"] - 1, wrong["column"] - 1
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="red", lw=2.5))
            ax.text(c, r + 0.32, f"key {wrong['key']:g}", ha="center", va="center", fontsize=7, color="red")
        ax.set_title(name.replace("_", " "), fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(tables):]:
        ax.axis("off")
    fig.suptitle("dropout at training and test time (red: the answer key's wrong entries)", fontsize=11)


def expectation_figure(fig, convergence: list[dict]) -> None:
    """Largest gap between the mean training output and the test output, against the number of sampled masks."""
    ax = fig.subplots()
    counts = [row["samples"] for row in convergence]
    for key, label in (("standard_max_abs_error", "standard: mean(x·mask) vs x·keep"),
                       ("inverted_max_abs_error", "inverted: mean(x·mask/keep) vs x")):
        ax.loglog(counts, [max(row[key], 1e-12) for row in convergence], marker="o", ms=3, label=label)
    ax.loglog(counts, [convergence[0]["inverted_max_abs_error"] / np.sqrt(n) for n in counts], "k:", lw=1,
              label="∝ 1/√n")
    ax.set_xlabel("random masks sampled")
    ax.set_ylabel("largest |mean train output − test output|")
    ax.legend(fontsize=8)

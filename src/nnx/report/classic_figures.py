"""Figures for the classic learners (Adaline, Madaline): pairwise scatter, cost curves, decision boundaries."""

from __future__ import annotations

from typing import Callable

import numpy as np
from matplotlib.ticker import MaxNLocator

CLASS_COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]


def pairwise_scatter(fig, x: np.ndarray, labels: np.ndarray, feature_names: list[str], class_names: list[str]) -> None:
    """Every pair of features against each other, points coloured by class; histograms on the diagonal."""
    n = x.shape[1]
    axes = np.atleast_2d(fig.subplots(n, n))
    for row in range(n):
        for col in range(n):
            ax = axes[row, col]
            for k, name in enumerate(class_names):
                mine = labels == k
                if row == col:
                    ax.hist(x[mine, col], bins=12, alpha=0.6, color=CLASS_COLORS[k])
                else:
                    ax.scatter(x[mine, col], x[mine, row], s=7, color=CLASS_COLORS[k], label=name)
            ax.tick_params(labelsize=6)
            if row == n - 1:
                ax.set_xlabel(feature_names[col], fontsize=8)
            if col == 0:
                ax.set_ylabel(feature_names[row], fontsize=8)
    handles, names = axes[0, -1].get_legend_handles_labels()
    fig.subplots_adjust(top=0.93)
    fig.legend(handles, names, loc="upper center", ncol=len(class_names), fontsize=8)


def curves(fig, series: dict[str, list[float]], ylabel: str, log_y: bool = False) -> None:
    """One line per named series against the epoch (1-based)."""
    ax = fig.subplots()
    for label, values in series.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if log_y:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def decision_boundary(ax, predict: Callable[[np.ndarray], np.ndarray], points: dict[str, tuple], feature_names,
                      lines: list[tuple[np.ndarray, float]] = (), title: str = "") -> None:
    """Shade where `predict` says +1 / −1 over a grid; scatter the named point sets (x, t with t = ±1);
    draw each (w, b) in `lines` as the line w·x + b = 0 (e.g. a Madaline's hidden units)."""
    every = np.concatenate([x for x, _ in points.values()])
    low, high = every.min(axis=0) - 0.5, every.max(axis=0) + 0.5
    g1, g2 = np.meshgrid(np.linspace(low[0], high[0], 250), np.linspace(low[1], high[1], 250))
    grid_out = predict(np.column_stack([g1.ravel(), g2.ravel()])).reshape(g1.shape)
    ax.contourf(g1, g2, grid_out, levels=[-2, 0, 2], colors=["#cfe0f3", "#f6dcc4"], alpha=0.8)
    markers = ["o", "^", "s"]
    for (name, (x, t)), marker in zip(points.items(), markers):
        for sign_value, color in ((-1, "tab:blue"), (1, "tab:orange")):
            mine = t == sign_value
            ax.scatter(x[mine, 0], x[mine, 1], s=14, marker=marker, color=color, edgecolors="k", linewidths=0.3,
                       label=f"{name}, t = {sign_value:+d}")
    xs, centre = np.array([low[0], high[0]]), (low + high) / 2
    for j, (w, b) in enumerate(lines):
        if abs(w[1]) > 1e-12:
            ax.plot(xs, -(b + w[0] * xs) / w[1], "--", lw=1, color="0.3")
        else:
            ax.axvline(-b / w[0], ls="--", lw=1, color="0.3")
        label_at = centre - (w @ centre + b) * w / (w @ w)  # the line's point nearest the centre of the view
        ax.annotate(f"z{j + 1}", xy=label_at, fontsize=8, color="0.2")
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_xlabel(feature_names[0])
    ax.set_ylabel(feature_names[1])
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6, loc="best")

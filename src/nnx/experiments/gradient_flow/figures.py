"""Figures for gradient_flow: a layer x epoch heat map of gradient norms per variant, and the loss curves."""

from __future__ import annotations

import math

import numpy as np


def grad_heatmaps(fig, layers: list[dict], activations: list, inits: list, suffix: str) -> None:
    """Rows: activations; columns: initialisations; each panel log10 of the weight gradient's norm, one shared scale."""
    grids = {}
    for activation in activations:
        for init in inits:
            rows = [r for r in layers if r["variant"] == f"{activation}_{init}{suffix}"]
            epochs, depth = max(r["epoch"] for r in rows), max(r["layer"] for r in rows)
            grid = np.full((depth, epochs), np.nan)
            for r in rows:
                grid[r["layer"] - 1, r["epoch"] - 1] = math.log10(r["grad_norm"]) if r["grad_norm"] > 0 else np.nan
            grids[activation, init] = grid
    finite = np.concatenate([g[np.isfinite(g)] for g in grids.values()] or [np.zeros(1)])
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    import matplotlib

    cmap = matplotlib.colormaps["magma"].with_extremes(bad="0.75")  # log10(0) is NaN: drawn grey
    axes = np.atleast_2d(fig.subplots(len(activations), len(inits), squeeze=False))
    fig.subplots_adjust(hspace=0.45)
    for (i, activation), (j, init) in ((a, b) for a in enumerate(activations) for b in enumerate(inits)):
        ax, grid = axes[i, j], grids[activation, init]
        image = ax.imshow(grid, aspect="auto", origin="lower", cmap=cmap, vmin=low, vmax=high,
                          extent=(0.5, grid.shape[1] + 0.5, 0.5, grid.shape[0] + 0.5))
        ax.set_title(f"{activation}, {init}", fontsize=9)
        ax.set_xlabel("epoch" if i == len(activations) - 1 else "", fontsize=8)
        ax.set_ylabel("layer (1 = input side)" if j == 0 else "", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="log10 |dL/dW| (grey: exactly 0)")
    fig.suptitle(f"weight gradient norm per layer and epoch{' (gradient clipping on)' if suffix else ''}", fontsize=11)


def loss_curves(fig, histories: dict[str, list[dict]], activations: list, inits: list) -> None:
    """One panel per activation, one colour per initialisation; dashed: with gradient clipping."""
    axes = np.atleast_1d(fig.subplots(1, len(activations), sharey=True))
    colours = dict(zip(inits, ("tab:grey", "tab:brown", "tab:blue", "tab:green", "tab:red", "tab:purple")))
    for ax, activation in zip(axes, activations):
        for init in inits:
            for suffix, style in (("", "-"), ("_clip", "--")):
                rows = histories.get(f"{activation}_{init}{suffix}")
                if rows:
                    ax.plot([r["epoch"] for r in rows], [r["train_loss"] for r in rows], style, color=colours.get(init),
                            label=f"{init}{' clipped' if suffix else ''}")
        ax.set_title(activation)
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
    axes[0].set_ylabel("training loss")
    axes[-1].legend(fontsize=7)

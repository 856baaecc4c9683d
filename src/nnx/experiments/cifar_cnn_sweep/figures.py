"""Figures of the CNN study: the first conv layer's kernels, one image's feature maps after every conv block (a
sweep's overlay of every job's validation loss is drawn by nnx.report.summary)."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


def first_conv(model: nn.Module) -> nn.Conv2d:
    return next(module for module in model.modules() if isinstance(module, nn.Conv2d))


def as_picture(array: np.ndarray) -> tuple[np.ndarray, str | None]:
    """C x H x W -> (an image imshow can draw, its colour map): RGB scaled to [0, 1], anything else grey (mean)."""
    if array.shape[0] == 3:
        low, high = array.min(), array.max()
        return (array.transpose(1, 2, 0) - low) / max(high - low, 1e-12), None
    return array.mean(0), "gray"


def bare(ax, title: str | None = None) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def kernels_figure(fig, weight: np.ndarray, columns: int = 8) -> None:
    """One panel per output filter of a conv weight (out x in x k x k): RGB kernels in colour, others in grey."""
    n = len(weight)
    columns = min(columns, n)
    rows = math.ceil(n / columns)
    for index, kernel in enumerate(weight):
        picture, cmap = as_picture(kernel)
        ax = fig.add_subplot(rows, columns, index + 1)
        ax.imshow(picture, cmap=cmap, interpolation="nearest")
        bare(ax, f"filter {index}")
    fig.suptitle(f"First conv layer: {n} kernels of {weight.shape[2]}x{weight.shape[3]}"
                 f"{' (RGB)' if weight.shape[1] == 3 else ''}", fontsize=10)


@torch.no_grad()
def feature_maps(model: nn.Module, blocks: list[nn.Module], x: torch.Tensor) -> list[np.ndarray]:
    """The output (C x H x W) of each of `blocks` when `x` (one prepared image, 1 x C x H x W) goes through."""
    outputs: list[np.ndarray] = []
    hooks = [block.register_forward_hook(lambda _m, _i, out: outputs.append(out[0].float().cpu().numpy()))
             for block in blocks]
    try:
        model.eval()
        model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return outputs


def mosaic(maps: np.ndarray, columns: int, gap: int = 1) -> np.ndarray:
    """C x H x W -> one image: the first `columns` channels side by side, each scaled to [0, 1], NaN between."""
    chosen = maps[:columns]
    height, width = chosen.shape[1:]
    out = np.full((height, len(chosen) * (width + gap) - gap), np.nan)
    for index, channel in enumerate(chosen):
        low, high = channel.min(), channel.max()
        out[:, index * (width + gap):index * (width + gap) + width] = (channel - low) / max(high - low, 1e-12)
    return out


def feature_maps_figure(fig, image: np.ndarray, maps: list[np.ndarray], title: str, max_channels: int = 16) -> None:
    """The input image, then one row per block: its first `max_channels` channels side by side (one image per
    row keeps the figure quick to draw; each channel is scaled to its own range)."""
    rows = len(maps) + 1
    picture, cmap = as_picture(image)
    ax = fig.add_subplot(rows, 1, 1)
    ax.imshow(picture, cmap=cmap)
    bare(ax, "input")
    for row, maps_of_block in enumerate(maps, start=2):
        ax = fig.add_subplot(rows, 1, row)
        ax.imshow(mosaic(maps_of_block, max_channels), cmap="viridis", interpolation="nearest")
        shown = min(max_channels, len(maps_of_block))
        bare(ax, f"block {row - 1}: {shown} of {len(maps_of_block)} channels, "
                 f"{maps_of_block.shape[1]}x{maps_of_block.shape[2]}")
    fig.suptitle(title, fontsize=10)

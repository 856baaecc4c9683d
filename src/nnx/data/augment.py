"""Batched, seeded augmentations that run on the training device over a whole batch (N x C x H x W floats in [0, 1]).

`data.augment` lists them in order, each a name or a dict with its parameters:
    [flip, {name: crop, padding: 4}, {name: affine, degrees: 10, translate: 0.1}, {name: noise, std: 0.05}]
Every random draw comes from the generator passed in, so the same seed gives the same augmented batches.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import torch
import torch.nn.functional as F

from nnx.errors import NnxError
from nnx.registry import validate_against


@dataclasses.dataclass
class Flip:
    p: float = 0.5  # probability of a horizontal flip, per image


@dataclasses.dataclass
class Crop:
    padding: int = 4  # zero-pad each side, then crop back to the original size at a random offset


@dataclasses.dataclass
class Affine:
    degrees: float = 10.0      # rotation drawn from [-degrees, degrees]
    translate: float = 0.0     # shift drawn from [-translate, translate] of the image size, per axis
    scale: float = 0.0         # zoom drawn from [1 - scale, 1 + scale]


@dataclasses.dataclass
class Rotate:
    degrees: float = 10.0


@dataclasses.dataclass
class Noise:
    std: float = 0.05  # additive Gaussian noise (on the [0, 1] pixel scale), clipped back to [0, 1]


def uniform(n: int, low: float, high: float, like: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(n, device=like.device, generator=generator) * (high - low) + low


def flip(x: torch.Tensor, g: torch.Generator, p: float) -> torch.Tensor:
    chosen = torch.rand(len(x), device=x.device, generator=g) < p
    return torch.where(chosen[:, None, None, None], x.flip(3), x)


def crop(x: torch.Tensor, g: torch.Generator, padding: int) -> torch.Tensor:
    n, _, h, w = x.shape
    padded = F.pad(x, (padding,) * 4)
    top = torch.randint(0, 2 * padding + 1, (n, 1), device=x.device, generator=g)
    left = torch.randint(0, 2 * padding + 1, (n, 1), device=x.device, generator=g)
    rows = (top + torch.arange(h, device=x.device))[:, :, None]   # n x h x 1
    cols = (left + torch.arange(w, device=x.device))[:, None, :]  # n x 1 x w
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2).contiguous()


def affine(x: torch.Tensor, g: torch.Generator, degrees: float, translate: float = 0.0,
           scale: float = 0.0) -> torch.Tensor:
    n = len(x)
    angle = uniform(n, -degrees, degrees, x, g) * (math.pi / 180)
    zoom = uniform(n, 1 - scale, 1 + scale, x, g)
    shift = uniform(2 * n, -2 * translate, 2 * translate, x, g).view(n, 2)  # grid coordinates span 2
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    aspect = x.shape[-1] / x.shape[-2]  # grid coordinates are per axis: a rotation in pixels, not a shear, if H != W
    theta = torch.stack([torch.stack([cos, -sin / aspect, shift[:, 0]], 1),
                         torch.stack([sin * aspect, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def rotate(x: torch.Tensor, g: torch.Generator, degrees: float) -> torch.Tensor:
    return affine(x, g, degrees)


def noise(x: torch.Tensor, g: torch.Generator, std: float) -> torch.Tensor:
    return (x + std * torch.randn(x.shape, device=x.device, generator=g, dtype=x.dtype)).clamp_(0, 1)


AUGMENTATIONS: dict[str, tuple[type, Callable]] = {
    "flip": (Flip, flip), "crop": (Crop, crop), "affine": (Affine, affine), "rotate": (Rotate, rotate),
    "noise": (Noise, noise),
}


def build_augment(specs: list[Any]) -> Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None:
    """`data.augment` -> one function of (batch, generator), or None when the list is empty."""
    steps = []
    for position, spec in enumerate(specs):
        params = {"name": spec} if isinstance(spec, str) else dict(spec)
        name = params.pop("name", None)
        if name not in AUGMENTATIONS:
            raise NnxError(f"data.augment[{position}]: unknown augmentation {name!r}",
                           fix=f"choose from {', '.join(AUGMENTATIONS)}; "
                               "e.g. data.augment=[flip,{name:crop,padding:4}]")
        schema, function = AUGMENTATIONS[name]
        steps.append((function, validate_against(schema, params, f"data.augment[{position}]")))
    if not steps:
        return None

    def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for function, params in steps:
            x = function(x, generator, **params)
        return x

    return augment

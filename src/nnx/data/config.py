"""The `data:` config group's schema: one dataclass shared by every image data set (`conf/data/<name>.yaml`)."""

from __future__ import annotations

import dataclasses
from typing import Any

NORMALIZE_CHOICES = ("dataset", "imagenet", "none")
LOADER_CHOICES = ("auto", "tensor", "torch")


@dataclasses.dataclass
class DataConfig:
    root: str | None = None          # where the files are (or go, with download=true); None: the data set's default
    download: bool = False           # fetch with torchvision when absent (needs a network)
    batch_size: int = 64
    val_fraction: float = 0.0        # stratified, seeded split of the training set; 0: no validation split
    limit_train: int | None = None   # keep this many training samples (stratified): smoke configs
    limit_test: int | None = None
    normalize: str = "dataset"       # dataset (train mean/std per channel) | imagenet | none (just /255)
    augment: list[Any] = dataclasses.field(default_factory=list)  # e.g. [flip, {name: crop, padding: 4}]
    loader: str = "auto"             # tensor (all in device memory) | torch (DataLoader) | auto (by size)
    num_workers: int = 2             # DataLoader workers (loader=torch only)
    cache_dir: str | None = None     # decoded tensors are cached here; None: $NNX_CACHE_DIR or ~/.cache/nnx
    image_size: int | None = None    # folder data sets: resize to image_size x image_size (None: the files' size)
    test_fraction: float = 0.25      # data sets without an official test split (digits)
    max_memory_mb: int = 1536        # loader=auto: above this decoded size, use the torch DataLoader

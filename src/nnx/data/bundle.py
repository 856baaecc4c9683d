"""DataBundle: the train / val / test splits of one data set, and fast batches of model-ready input on the device.

Two kinds of split, one interface:
- `TensorSplit`: decoded once into uint8 tensors kept on the training device; an epoch is a random permutation
  sliced into index batches (no DataLoader, no per-sample Python);
- `LoaderSplit`: image files decoded by a torch DataLoader with workers, for folders too large for memory.
Either way `bundle.batches(...)` yields (x, y) on the device, where x went through `bundle.prepare`: uint8 -> float
in [0, 1], the seeded batched augmentations (training batches only), then per-channel normalization.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from nnx.data.augment import build_augment
from nnx.data.cache import cached
from nnx.data.formats import image_size_of, read_image, read_images
from nnx.errors import NnxError
from nnx.schemas import LOADER_CHOICES, NORMALIZE_CHOICES, DataConfig

log = logging.getLogger("nnx")
READY_BUDGET_BYTES = 2**30  # un-augmented splits up to this size are kept model-ready (float) after the first pass
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "digits": "digits (8x8)",
          "cats_vs_dogs": "cats vs dogs", "oxford_pets_binary": "Oxford-IIIT Pet (cat/dog)", "moons": "two moons"}


@dataclasses.dataclass
class TensorSplit:
    x: torch.Tensor  # uint8 N x C x H x W (images), or float N x F (tabular), on the device
    y: torch.Tensor  # int64 N, on the device

    def __len__(self) -> int:
        return len(self.y)

    def raw(self, index: int) -> torch.Tensor:
        """Sample `index`'s raw input (uint8 C x H x W image or float features), as stored."""
        return self.x[index]


class FileImages(torch.utils.data.Dataset):
    """(path, label) pairs -> (uint8 C x H x W tensor, label), decoded when asked (in DataLoader workers)."""

    def __init__(self, items: list[tuple[str, int]], size: tuple[int, int]):
        self.items, self.size = items, size

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        path, label = self.items[index]
        return torch.from_numpy(read_image(path, self.size)), label


@dataclasses.dataclass
class LoaderSplit:
    images: FileImages
    y: torch.Tensor  # int64 N labels (CPU)

    def __len__(self) -> int:
        return len(self.y)

    def raw(self, index: int) -> torch.Tensor:
        """Sample `index`'s uint8 C x H x W image, decoded from its file."""
        return self.images[index][0]


class DataBundle:
    """Splits, class names, input shape, and `batches` / `prepare` (see the module docstring)."""

    def __init__(self, train, val, test, classes: list[str], input_shape: tuple, device: str, seed: int,
                 options: DataConfig, name: str = "", origin: str = ""):
        self.train, self.val, self.test = train, val, test
        self.origin = origin  # how the files differ from the official ones, e.g. "JPEG copy"
        self.classes, self.input_shape, self.device = list(classes), tuple(input_shape), device
        self.name, self.options, self.batch_size = name, options, options.batch_size
        self.order_generator = torch.Generator().manual_seed(seed)
        self.augment_generator = torch.Generator(device=device).manual_seed(seed + 1)
        self.augment: Callable | None = build_augment(options.augment)
        self.mean, self.std = self._normalization(options.normalize)
        self._ready: dict[int, tuple] = {}  # id(split.x) -> (split.x, prepare(split.x)), for un-augmented passes
        # (split, sample indices) of the tensor batch just yielded, for steps that look up per-sample data (cached
        # teacher outputs); None for DataLoader batches
        self.batch_origin: tuple | None = None

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def split(self, split: str | TensorSplit | LoaderSplit):
        if not isinstance(split, str):
            return split
        if split not in ("train", "val", "test") or getattr(self, split) is None:
            raise NnxError(f"no {split!r} split in {self.name}",
                           fix="set data.val_fraction > 0 for a validation split" if split == "val" else None)
        return getattr(self, split)

    def prepare(self, x: torch.Tensor, train: bool = False) -> torch.Tensor:
        """Raw split input (uint8 images or float features) -> the float input the model sees, on the device."""
        x = x.to(self.device, non_blocking=True)
        x = x.float().div_(255) if x.dtype == torch.uint8 else x.float()
        if train and self.augment is not None:
            x = self.augment(x, self.augment_generator)
        return x if self.mean is None else (x - self.mean) / self.std

    def batches(self, split="train", batch_size: int | None = None, shuffle: bool | None = None,
                train: bool | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(x, y) batches on the device. Defaults: the training split is shuffled and augmented, the others not."""
        is_train = split == "train" or split is self.train
        shuffle = is_train if shuffle is None else shuffle
        train = is_train if train is None else train
        batch_size = batch_size or self.batch_size
        data = self.split(split)
        if isinstance(data, LoaderSplit):
            self.batch_origin = None
            yield from self._loader_batches(data, batch_size, shuffle, train)
            return
        augmented = train and self.augment is not None
        source = data.x if augmented else self._model_ready(data.x)
        order = torch.randperm(len(data), generator=self.order_generator).to(data.x.device) if shuffle else None
        for start in range(0, len(data), batch_size):
            index = slice(start, start + batch_size) if order is None else order[start:start + batch_size]
            self.batch_origin = (data, index)
            x, y = source[index], data.y[index]
            yield (self.prepare(x, train) if source is data.x else x), y

    def _model_ready(self, x: torch.Tensor) -> torch.Tensor:
        """`prepare(x)` computed once and kept when it fits the budget (a batch is then one index), else `x`."""
        kept = self._ready.get(id(x))
        if kept is None or kept[0] is not x:  # holding x keeps its id from being reused by another tensor
            if x.numel() * 4 > READY_BUDGET_BYTES:
                return x
            kept = self._ready[id(x)] = (x, torch.cat([self.prepare(chunk) for chunk in x.split(8192)]))
        return kept[1]

    def _loader_batches(self, data: LoaderSplit, batch_size: int, shuffle: bool, train: bool):
        cuda = self.device.startswith("cuda")
        workers = self.options.num_workers
        loader = torch.utils.data.DataLoader(data.images, batch_size=batch_size, shuffle=shuffle,
                                             generator=self.order_generator, num_workers=workers,
                                             pin_memory=cuda, persistent_workers=False)
        for x, y in loader:
            yield self.prepare(x, train), y.to(self.device, non_blocking=True)

    def rng_state(self) -> dict:
        """The batch-order and augmentation generators' states (saved in checkpoints, so a resumed run is identical)."""
        return {"order": self.order_generator.get_state(), "augment": self.augment_generator.get_state()}

    def set_rng_state(self, state: dict) -> None:
        self.order_generator.set_state(state["order"])
        if state["augment"].numel() == self.augment_generator.get_state().numel():
            self.augment_generator.set_state(state["augment"])
        elif self.augment is not None:  # a CPU generator's state does not fit a GPU's, nor the other way round
            log.warning("data: the augmentation random state was saved on another kind of device; augmentation "
                        "continues from a fresh seed, so this resumed run will not repeat an uninterrupted one exactly")

    @property
    def title(self) -> str:
        """The data set as reports name it, e.g. "MNIST (60,000 train / 10,000 test)"."""
        parts = [(name, getattr(self, name)) for name in ("train", "val", "test")]
        sizes = " / ".join(f"{len(part):,} {name}" for name, part in parts if part)
        return f"{TITLES.get(self.name, self.name)} ({f'{self.origin}; ' if self.origin else ''}{sizes})"

    def describe(self) -> str:
        sizes = ", ".join(f"{name} {len(part)}" for name in ("train", "val", "test") if (part := getattr(self, name)))
        kind = "DataLoader" if isinstance(self.train, LoaderSplit) else f"tensors on {self.device}"
        return f"{self.name}: {sizes}; input {self.input_shape}, {self.num_classes} classes; {kind}"

    def _normalization(self, normalize: str):
        if normalize not in NORMALIZE_CHOICES:
            raise NnxError(f"data.normalize={normalize!r} is not one of {', '.join(NORMALIZE_CHOICES)}")
        if normalize == "none":
            return None, None
        if normalize == "imagenet":
            mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        else:
            mean, std = channel_stats(self.train)
        shape = (1, -1) + (1,) * (len(self.input_shape) - 1)  # broadcast over channels (images) or features
        return mean.view(shape).to(self.device), std.view(shape).to(self.device)


def channel_stats(split) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std per channel (dim 1) of the split's [0, 1]-scaled input, in float64 chunks to spare memory."""
    if isinstance(split, LoaderSplit):  # a seeded sample is enough for a folder streamed from disk
        picks = torch.randperm(len(split), generator=torch.Generator().manual_seed(0))[:256]
        x = torch.stack([split.raw(int(i)) for i in picks])
    else:
        x = split.x
    total, total_sq, count = 0.0, 0.0, 0
    scale = 255.0 if x.dtype == torch.uint8 else 1.0
    dims = [d for d in range(x.dim()) if d != 1]
    for chunk in x.split(8192):
        chunk = chunk.double() / scale
        total = total + chunk.sum(dims)
        total_sq = total_sq + chunk.square().sum(dims)
        count += chunk.numel() // chunk.shape[1]
    mean = total / count
    std = (total_sq / count - mean.square()).clamp_min(0).sqrt()
    return mean.float().cpu(), std.clamp_min(1e-6).float().cpu()  # a constant channel must not divide by zero


def subset(labels: np.ndarray, size: int | float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, rest): `size` samples (a count, or a fraction), stratified by label when every class can be."""
    from sklearn.model_selection import train_test_split

    index = np.arange(len(labels))
    try:
        kept, rest = train_test_split(index, train_size=size, stratify=labels, random_state=seed)
    except ValueError:  # a class too small to stratify (tiny smoke subsets): a plain seeded draw
        kept, rest = train_test_split(index, train_size=size, random_state=seed)
    return np.sort(kept), np.sort(rest)


def limit(labels: np.ndarray, count: int | None, seed: int) -> np.ndarray:
    if count is None or count >= len(labels):
        return np.arange(len(labels))
    if count <= 0:
        raise NnxError(f"data.limit_train/limit_test must be positive, got {count}")
    return subset(labels, count, seed)[0]


def make_bundle(name: str, source, options: DataConfig, device: str, seed: int) -> DataBundle:
    """Limit, split off validation (stratified, seeded), decode or stream, and put tensors on the device."""
    if not 0 <= options.val_fraction < 1:
        raise NnxError(f"data.val_fraction={options.val_fraction} must be in [0, 1)")
    if options.loader not in LOADER_CHOICES:
        raise NnxError(f"data.loader={options.loader!r} is not one of {', '.join(LOADER_CHOICES)}")
    if options.batch_size <= 0:
        raise NnxError(f"data.batch_size={options.batch_size} must be positive")
    train_x, train_y, test_x, test_y = split_source(source)
    train_idx = limit(train_y, options.limit_train, seed)
    test_idx = limit(test_y, options.limit_test, seed)
    val_idx = np.array([], dtype=np.int64)
    if options.val_fraction > 0:
        kept, val_idx = subset(train_y[train_idx], 1 - options.val_fraction, seed)
        train_idx, val_idx = train_idx[kept], train_idx[val_idx]
    parts = {"train": (train_x, train_y, train_idx), "val": (train_x, train_y, val_idx),
             "test": (test_x, test_y, test_idx)}
    if train_x is None:  # image files
        splits, input_shape = file_splits(name, source, parts, options, device)
    else:
        splits = {key: TensorSplit(torch.from_numpy(x[i]).to(device), torch.from_numpy(y[i]).to(device))
                  for key, (x, y, i) in parts.items() if len(i)}
        input_shape = tuple(train_x.shape[1:])
    bundle = DataBundle(splits["train"], splits.get("val"), splits.get("test"), source.classes, input_shape,
                        device, seed, options, name, getattr(source, "origin", ""))
    log.info("data %s", bundle.describe())
    return bundle


def split_source(source):
    """(train_x, train_y, test_x, test_y); the x are None for image files, which are decoded later."""
    if hasattr(source, "train_x"):
        return source.train_x, np.asarray(source.train_y), source.test_x, np.asarray(source.test_y)
    return (None, np.array([y for _, y in source.train], dtype=np.int64), None,
            np.array([y for _, y in source.test], dtype=np.int64))


def file_splits(name: str, source, parts: dict, options: DataConfig, device: str):
    """Image files: decode once into device tensors (cached), or stream through a DataLoader when too large."""
    items = {"train": source.train, "val": source.train, "test": source.test}
    chosen = {key: [items[key][i] for i in index] for key, (_, _, index) in parts.items() if len(index)}
    if "train" not in chosen:
        raise NnxError(f"{name}: no training images under data.root={options.root}")
    size = (options.image_size,) * 2 if options.image_size else image_size_of(chosen["train"][0][0])
    total = sum(map(len, chosen.values()))
    megabytes = total * 3 * size[0] * size[1] / 2**20
    loader = options.loader
    if loader == "auto":
        loader = "torch" if megabytes > options.max_memory_mb else "tensor"
    log.info("%s: %d images at %dx%d = %.0f MB decoded -> loader=%s", name, total, *size, megabytes, loader)
    if loader == "torch":
        splits = {key: LoaderSplit(FileImages(pairs, size), torch.tensor([y for _, y in pairs]))
                  for key, pairs in chosen.items()}
    else:
        splits = {key: decode_files(name, pairs, size, options, device) for key, pairs in chosen.items()}
    return splits, (3, *size)


def decode_files(name: str, pairs: list[tuple[str, int]], size: tuple[int, int], options: DataConfig,
                 device: str) -> TensorSplit:
    def decode() -> dict:
        images = read_images([path for path, _ in pairs], size)
        return {"x": torch.from_numpy(np.stack(images)), "y": torch.tensor([y for _, y in pairs])}

    files = [Path(path) for path, _ in pairs]
    data = cached(options.cache_dir, name, f"files{size}{[y for _, y in pairs]}", files, decode)
    return TensorSplit(data["x"].to(device), data["y"].to(device))

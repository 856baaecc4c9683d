"""Data sets and fast batching, shared by every deep experiment.

    from nnx.data import load
    bundle = load(cfg.data, device=run.device, seed=run.seed)     # -> DataBundle, built through DATASETS
    bundle.input_shape, bundle.num_classes, bundle.classes       # (C, H, W), 10, ["0", ..., "9"]
    for x, y in bundle.batches("train"):                         # shuffled, augmented, normalized, on the device
        ...
    bundle.batches("test")                                       # in order, not augmented
    bundle.prepare(bundle.test.x[:8])                            # raw uint8 -> the float input the model sees

Data sets (`conf/data/<name>.yaml`, schema `nnx.schemas.DataConfig`): mnist, fashion_mnist, cifar10 (torchvision
download with data.download=true, or a folder of the standard files), digits (scikit-learn, offline), cats_vs_dogs (an
ImageFolder tree with train/ and val/), oxford_pets_binary; iris and moons live in `nnx.data.tabular` (their
standardized float features become a DataBundle too, so `fit` trains on them like on images).
Splits: `bundle.train`, `bundle.val` (None unless data.val_fraction > 0), `bundle.test`; each a `TensorSplit`
(`x` uint8 N x C x H x W, `y` int64, on the device) or a `LoaderSplit` (image files through a DataLoader).
"""

from __future__ import annotations

import inspect

from nnx.data import sources, tabular  # importing them registers the image and the tabular data sets
from nnx.data.bundle import DataBundle, LoaderSplit, TensorSplit
from nnx.data.tabular import arrays_bundle
from nnx.registry import DATASETS
from nnx.schemas import DataConfig

__all__ = ["DataBundle", "DataConfig", "LoaderSplit", "TensorSplit", "load", "sources", "tabular"]


def load(data_cfg, device: str = "cpu", seed: int = 0, run=None) -> DataBundle:
    """The data set `data_cfg.name`, validated against its schema, split and placed on `device`; `run` records
    its title (e.g. "MNIST (60,000 train / 10,000 test)") as metric `data`, which reports name it by."""
    from omegaconf import DictConfig, OmegaConf

    data_cfg = data_cfg if isinstance(data_cfg, DictConfig) else OmegaConf.create(data_cfg)
    params = DATASETS.validate(data_cfg, where="data")  # errors name data.<key>, as the user typed it
    factory = DATASETS.get(data_cfg.name).factory
    if "device" in inspect.signature(factory).parameters:
        bundle = factory(device=device, seed=seed, **params)
    else:
        bundle = arrays_bundle(data_cfg.name, factory(seed=seed, **params), device, seed)  # tabular: numpy arrays
    if run is not None:
        run.metric("data", bundle.title)
    return bundle

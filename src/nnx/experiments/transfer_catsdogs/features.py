"""Features of a frozen backbone, computed once: train a head on them with `fit` instead of re-running the backbone.

    features = feature_bundle(model.backbone, bundle)          # a DataBundle of N x F float features, same labels
    fit(model.classifier, features, cfg.trainer, optimizer, run)   # each epoch costs a linear layer, not a CNN

A frozen backbone in eval mode is a fixed function of its input, so without augmentation the head trained on cached
features is the head end-to-end training would give (same seed: same batch order, same dropout draws), at a tiny
fraction of the cost on a CPU. Augmentation is the one difference: features are of the un-augmented images. The
feature bundle continues the image bundle's batch-order and augmentation generators, and keeps its splits: a split
shared by two names (val is test) is computed once.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from nnx.data.bundle import DataBundle, TensorSplit
from nnx.schemas import DataConfig


@torch.no_grad()
def extract_features(backbone: nn.Module, bundle: DataBundle, split: str, batch_size: int | None = None,
                     amp: bool = False) -> torch.Tensor:
    """`backbone(x)` (float32, N x F, on the bundle's device) over one ordered, un-augmented pass of `split`."""
    cuda = bundle.device.startswith("cuda")
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if amp and cuda else contextlib.nullcontext()
    was_training = backbone.training
    backbone.eval()
    try:
        with autocast:
            chunks = [backbone(x).float().flatten(1)
                      for x, _ in bundle.batches(split, batch_size, shuffle=False, train=False)]
    finally:
        backbone.train(was_training)
    return torch.cat(chunks)


def feature_bundle(backbone: nn.Module, bundle: DataBundle, batch_size: int | None = None,
                   amp: bool = False) -> DataBundle:
    """A DataBundle over `backbone`'s features of every split of `bundle` (see the module docstring)."""
    computed: dict[int, TensorSplit] = {}
    splits = {}
    for name in ("train", "val", "test"):
        split = getattr(bundle, name)
        if split is None:
            continue
        if id(split) not in computed:
            x = extract_features(backbone, bundle, name, batch_size, amp)
            computed[id(split)] = TensorSplit(x, split.y.to(bundle.device))
        splits[name] = computed[id(split)]
    options = DataConfig(batch_size=bundle.batch_size, normalize="none")  # features go to the head as they are
    features = DataBundle(splits["train"], splits.get("val"), splits.get("test"), bundle.classes,
                          tuple(splits["train"].x.shape[1:]), bundle.device, seed=0, options=options,
                          name=f"{bundle.name} features")
    features.set_rng_state(bundle.rng_state())  # the same batch order as training on the images would draw
    return features

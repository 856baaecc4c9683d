"""CIFAR-10 from an ImageFolder tree of JPEGs (data/cifar10, as `nnx data` links it): one training epoch of the
study's base CNN (Adam lr 0.01, batch 32, one CPU thread as the experiment trains) on the 50,000 training images:

(a) the idiomatic pipeline: torchvision's ImageFolder + ToTensor() + DataLoader(shuffle=True), which decodes every
    JPEG every epoch;
(b) nnx: the tree decoded once into a uint8 cache, then `nnx.engine.fit` batching tensors by index.
Also the first decode of the tree and a cached load. NNX_BENCH_CIFAR=<tree> reads another copy.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from nnx.paths import data_home

BATCH, LR, SEED = 32, 0.01, 0


def model() -> nn.Module:
    from nnx.registry import MODELS
    from nnx.runner import load_experiment

    load_experiment("cifar_cnn_sweep")  # registers model=cnn
    torch.manual_seed(SEED)
    return MODELS.build({"name": "cnn"}, input_shape=(3, 32, 32), num_classes=10)


def idiomatic(tree: Path) -> float:
    from torchvision import datasets, transforms

    data = datasets.ImageFolder(str(tree / "train"), transform=transforms.ToTensor())
    loader = torch.utils.data.DataLoader(data, batch_size=BATCH, shuffle=True)
    net, loss_fn = model(), nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=LR, eps=1e-7)
    start = time.perf_counter()
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(net(x), y).backward()
        optimizer.step()
    return time.perf_counter() - start


def main() -> None:
    from nnx.data import load
    from nnx.engine import fit
    from nnx.run import Run

    tree = Path(os.environ.get("NNX_BENCH_CIFAR", data_home() / "cifar10"))
    if not (tree / "train").is_dir():
        print(f"cifar_tree: skipped (no ImageFolder tree at {tree}: nnx data cifar10 --from <folder>)")
        return
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        options = {"name": "cifar10", "root": str(tree), "normalize": "none", "batch_size": BATCH, "cache_dir": tmp}
        start = time.perf_counter()
        load(options)
        decode = time.perf_counter() - start
        start = time.perf_counter()
        bundle = load(options)
        cached = time.perf_counter() - start
        start = time.perf_counter()
        fit(model(), bundle, {"epochs": 1, "plots": False, "progress": False}, {"name": "adam", "lr": LR, "eps": 1e-7},
            Run(Path(tmp) / "run"))
        ours = time.perf_counter() - start
    theirs = idiomatic(tree)
    print(f"cifar_tree: {tree}, one epoch of the base CNN on 50,000 JPEG images, batch {BATCH}, 1 torch thread")
    print(f"  first decode of the tree {decode:6.1f} s, then a cached load {cached:5.1f} s")
    print(f"  (a) ImageFolder + ToTensor + DataLoader(shuffle)  {theirs:6.1f} s")
    print(f"  (b) nnx: cached uint8 tensors + fit               {ours:6.1f} s")
    print(f"  (a)/(b) = {theirs / ours:.1f}x")


if __name__ == "__main__":
    main()

"""Input pipeline: one training epoch of the Fashion-MNIST MLP 784-128-128-10 (batch 64, SGD lr 0.01), three ways,
on the same model initialisation and seed:

(a) the idiomatic pipeline: torchvision's FashionMNIST giving a PIL image per sample, ToTensor(), DataLoader(shuffle)
(b) the floor: a bare loop over a preloaded float tensor, randperm batches, nothing else
(c) nnx: `nnx.engine.fit` with everything a real run does per epoch (uint8 on the device, normalization, history.csv,
    last.pt and best.pt, progress bar on a terminal, loss and accuracy accumulated); validation off, so all three
    train on the same 60,000 images. Data loading is outside every timing (each pipeline loads once, up front).

NNX_BENCH_DEVICE=cuda runs all three on the GPU ((a) copies each batch there, as such code does; (b) and (c) keep the
data resident on the device; (c) replays its training step from a CUDA graph, `trainer.cuda_graph=true`, and is also
timed without it); NNX_BENCH_FASHION=<folder of the four IDX .gz files> reads the data from elsewhere.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from nnx.data.sources import FASHION_MNIST_SYSTEM_COPY, IDX_FILES

BATCH, LR, SEED = 64, 0.01, 0
DEVICE = os.environ.get("NNX_BENCH_DEVICE", "cpu")


def model() -> nn.Module:
    torch.manual_seed(SEED)
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                         nn.Linear(128, 10)).to(DEVICE)


def synchronize() -> None:
    if DEVICE.startswith("cuda"):
        torch.cuda.synchronize()


def idiomatic(raw_root: Path) -> float:
    from torchvision import datasets, transforms

    data = datasets.FashionMNIST(str(raw_root), train=True, transform=transforms.ToTensor())
    loader = torch.utils.data.DataLoader(data, batch_size=BATCH, shuffle=True)
    net, loss_fn = model(), nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)
    start = time.perf_counter()
    for x, y in loader:
        x, y = x.to(DEVICE), y.to(DEVICE)
        optimizer.zero_grad()
        loss_fn(net(x), y).backward()
        optimizer.step()
    synchronize()
    return time.perf_counter() - start


def bare(x: torch.Tensor, y: torch.Tensor) -> float:
    net, loss_fn = model(), nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)
    start = time.perf_counter()
    order = torch.randperm(len(y), device=y.device)
    for i in range(0, len(y), BATCH):
        index = order[i:i + BATCH]
        optimizer.zero_grad()
        loss_fn(net(x[index]), y[index]).backward()
        optimizer.step()
    synchronize()
    return time.perf_counter() - start


def engine(bundle, out: Path, cuda_graph: bool) -> float:
    from nnx.engine import fit
    from nnx.run import Run

    run = Run(out, device=DEVICE)
    start = time.perf_counter()
    fit(model(), bundle, {"epochs": 1, "plots": False, "cuda_graph": cuda_graph}, {"name": "sgd", "lr": LR}, run)
    synchronize()
    seconds = time.perf_counter() - start
    run.close()
    return seconds


def main(repeats: int = 5) -> None:
    from nnx.data import load

    source = Path(os.environ.get("NNX_BENCH_FASHION", FASHION_MNIST_SYSTEM_COPY))
    if not all((source / f"{name}.gz").is_file() for name in IDX_FILES):
        print(f"pipeline: skipped (no Fashion-MNIST in {source}: apt-get install dataset-fashion-mnist)")
        return
    torch.manual_seed(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "FashionMNIST" / "raw"  # torchvision reads the ungzipped files from here
        raw.mkdir(parents=True)
        for name in IDX_FILES:
            with gzip.open(source / f"{name}.gz") as packed, (raw / name).open("wb") as plain:
                shutil.copyfileobj(packed, plain)
        bundle = load({"name": "fashion_mnist", "root": str(source), "normalize": "none", "batch_size": BATCH},
                      device=DEVICE)
        x, y = bundle.prepare(bundle.train.x), bundle.train.y
        graphs = DEVICE.startswith("cuda")
        times = {"a": [], "b": [], "c": []} | ({"c_eager": []} if graphs else {})
        for round in range(repeats):  # interleaved, so a burst of load elsewhere hits all three alike
            if round < 2:  # (a) is slow and steady: two rounds are enough
                times["a"].append(idiomatic(Path(tmp)))
            times["b"].append(bare(x, y))
            times["c"].append(engine(bundle, Path(tmp) / f"run{round}", cuda_graph=graphs))
            if graphs:
                times["c_eager"].append(engine(bundle, Path(tmp) / f"eager{round}", cuda_graph=False))
        times = {key: min(values) for key, values in times.items()}
    print(f"pipeline: one epoch, Fashion-MNIST MLP 784-128-128-10, batch {BATCH}, SGD lr {LR}, on {DEVICE}, "
          f"{torch.get_num_threads()} torch threads, best of {repeats} ((a): of 2)")
    print(f"  (a) torchvision dataset + ToTensor + DataLoader   {times['a']:6.2f} s")
    print(f"  (b) bare loop over a preloaded tensor            {times['b']:6.2f} s")
    print(f"  (c) nnx fit (history, checkpoints; no val split)  {times['c']:6.2f} s"
          + ("   (CUDA graph; without it: {:.2f} s)".format(times["c_eager"]) if "c_eager" in times else ""))
    print(f"  (c)/(b) = {times['c'] / times['b']:.2f}x   (a)/(c) = {times['a'] / times['c']:.1f}x")


if __name__ == "__main__":
    main()

"""The CIFAR CNN study: seconds per training epoch of every variant of `experiment=cifar_cnn_sweep`, each composed
from its own config (model, optimizer, batch size), trained by `nnx.engine.fit` for one epoch on the same fixed,
seeded subset of real Fashion-MNIST (generated CIFAR-shaped images when Fashion-MNIST is absent), with the
experiment's one CPU thread for every variant (on a shared 2-core machine two threads were up to 10x slower), no
validation split, no checkpoints or plots, after one warm-up epoch.

MobileNetV2 (from scratch here) is timed on a smaller subset; every line also gives the estimated seconds of one
full epoch of the study (51,000 Fashion-MNIST training images; 42,500 for CIFAR-10).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from nnx.data.sources import FASHION_MNIST_SYSTEM_COPY, IDX_FILES

SUBSET, MOBILENET_SUBSET, SEED = 1024, 96, 0


def variant_configs(data_overrides: list[str]) -> dict:
    """variant name -> its composed config, as `nnx run experiment=cifar_cnn_sweep variant=NAME` builds it."""
    from nnx.cli import conf_dir, experiment_groups
    from nnx.schemas import composing

    names = sorted(p.stem for p in (conf_dir() / "experiment_groups/cifar_cnn_sweep/variant").glob("*.yaml"))
    configs = {}
    with composing() as compose:
        for name in names:
            overrides = ["experiment=cifar_cnn_sweep", f"variant={name}", *data_overrides]
            if name == "mobilenet_v2":
                overrides.append("model.weights=null")  # never wait for a download
            configs[name] = compose(*experiment_groups(overrides))
    return configs


def data_source(tmp: Path) -> tuple[list[str], str, int]:
    """(data overrides, description, training images in a full epoch of the study)."""
    source = Path(FASHION_MNIST_SYSTEM_COPY)
    if all((source / f"{name}.gz").is_file() for name in IDX_FILES):
        return ["data=fashion_mnist", f"data.root={source}"], "real Fashion-MNIST (1x28x28)", 51_000
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from formats import write_cifar

    write_cifar(tmp, n_per_batch=SUBSET // 5 + 1, n_test=10)
    return [f"data.root={tmp}"], "generated CIFAR-format images (3x32x32; no Fashion-MNIST here)", 42_500


def epoch_seconds(cfg, bundle, run_dir: Path) -> float:
    from nnx.engine import fit
    from nnx.engine.cpu import flush_subnormals, torch_threads
    from nnx.registry import MODELS
    from nnx.run import Run
    from nnx.runner import load_experiment

    load_experiment("cifar_cnn_sweep")  # registers model=cnn and model=mobilenet_v2
    torch.manual_seed(SEED)
    bundle.batch_size = cfg.data.batch_size
    with torch_threads("cpu", 1), flush_subnormals("cpu"):
        model = MODELS.build(cfg.model, input_shape=bundle.input_shape, num_classes=bundle.num_classes)
        run = Run(run_dir)
        trainer = {"epochs": 1, "plots": False, "checkpoint": False, "progress": False}
        start = time.perf_counter()
        fit(model, bundle, trainer, cfg.optim, run)
        seconds = time.perf_counter() - start
        run.close()
    return seconds


def main() -> None:
    from omegaconf import OmegaConf

    from nnx.data import load

    with tempfile.TemporaryDirectory() as tmp:
        overrides, described, full_epoch = data_source(Path(tmp))
        configs = variant_configs(overrides)
        data_cfg = OmegaConf.to_container(configs["base"].data) | {"val_fraction": 0.0, "limit_test": 10}
        bundles = {size: load(data_cfg | {"limit_train": size}, device="cpu", seed=SEED)
                   for size in (SUBSET, MOBILENET_SUBSET)}
        print(f"cifar_cnn_sweep: one training epoch per variant on {described}, {SUBSET} images "
              f"(mobilenet_v2: {MOBILENET_SUBSET}), one CPU thread")
        print(f"  {'variant':14s} {'batch':>5s} {'s/epoch':>8s} {'ms/image':>9s} {'full epoch (est.)':>18s}")
        epoch_seconds(configs["base"], bundles[SUBSET], Path(tmp) / "warm-up")
        total, total_full = 0.0, 0.0
        for name, cfg in configs.items():
            size = MOBILENET_SUBSET if name == "mobilenet_v2" else SUBSET
            seconds = epoch_seconds(cfg, bundles[size], Path(tmp) / name)
            total, total_full = total + seconds, total_full + seconds / size * full_epoch
            print(f"  {name:14s} {cfg.data.batch_size:5d} {seconds:8.2f} {1000 * seconds / size:9.2f} "
                  f"{seconds / size * full_epoch:16.0f} s")
        print(f"  measured: {total:.1f} s in all; one full epoch of every variant: about {total_full / 60:.0f} min")


if __name__ == "__main__":
    main()

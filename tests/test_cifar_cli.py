"""cifar_cnn_sweep end to end: every variant composes as the report set it up; the whole study as ONE smoke multirun
on generated CIFAR-10 pickles gives the report's table (one row per variant), per-run figures and the overlay; a
diverging run is recorded, not fatal; absent CIFAR is one clear message."""

from pathlib import Path

import pytest

from conftest import CONF, Cli, read_metrics, summary_rows
from formats import write_cifar

EXP = "experiment=cifar_cnn_sweep"
VARIANTS = sorted(p.stem for p in (CONF / "experiment_groups/cifar_cnn_sweep/variant").glob("*.yaml"))
TABLE = ("min_train_loss", "min_val_loss", "epochs", "train_s", "max_val_acc", "test_acc")
BASE = {"model.name": "cnn", "model.conv_layers": [7, 9], "model.kernel_size": 3, "model.activation": "relu",
        "model.batchnorm_first": False, "model.dropout": 0.3, "optim.name": "adam", "optim.lr": 0.01,
        "data.name": "cifar10", "data.batch_size": 32, "data.val_fraction": 0.15, "trainer.epochs": 50,
        "trainer.early_stopping.monitor": "train_loss", "trainer.early_stopping.patience": 3}
CHANGES = {
    "base": {}, "conv3": {"model.conv_layers": 3}, "conv4": {"model.conv_layers": 4},
    "kernel5": {"model.kernel_size": 5}, "kernel7": {"model.kernel_size": 7},
    "single_conv5": {"model.conv_layers": 1, "model.kernel_size": 5},
    "lr0.1": {"optim.lr": 0.1}, "lr0.001": {"optim.lr": 0.001}, "lr0.0001": {"optim.lr": 0.0001},
    "tanh": {"model.activation": "tanh"}, "leaky_relu": {"model.activation": "leaky_relu"},
    "sgd": {"optim.name": "sgd"}, "batchnorm": {"model.batchnorm_first": True},
    "batch4": {"data.batch_size": 4}, "batch128": {"data.batch_size": 128},
    "mobilenet_v2": {"model.name": "mobilenet_v2", "trainer.epochs": 20},
    "b_model": {"model.conv_layers": 4, "model.filters": 48, "model.pool_every": 2, "model.batchnorm": False,
                "model.dropout": 0.28362871681672647,
                "optim.lr": 0.0011759836431465137, "data.batch_size": 32, "trainer.epochs": 30,
                "trainer.early_stopping.monitor": "val_loss", "trainer.early_stopping.patience": 4},
}


def lookup(cfg, dotted: str):
    for part in dotted.split("."):
        cfg = cfg[part]
    return cfg


def test_the_variants_are_the_reports_runs():
    assert VARIANTS == sorted(CHANGES)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_composes_as_the_report_set_it_up(compose, variant):
    cfg = compose(EXP, f"variant={variant}", hydra=True)
    assert cfg.hydra.runtime.choices.variant == variant and "variant" not in cfg  # the choice names it, once
    for key, value in (BASE | CHANGES[variant]).items():
        if not (variant == "mobilenet_v2" and key.startswith("model.") and key != "model.name"):
            assert lookup(cfg, key) == value, key


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """The whole study in one command, smoke-sized, on generated cifar-10-batches-py pickles."""
    data = tmp_path_factory.mktemp("data")
    write_cifar(data, n_per_batch=8, n_test=10)
    cli = Cli(tmp_path_factory.mktemp("outputs"))
    result = cli("run", "-m", EXP, "variant=glob(*)", "smoke=true", f"data.root={data}")
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep_dir,) = cli.sweep_dirs("cifar_cnn_sweep")
    return sweep_dir


@pytest.mark.slow  # the 16-job sweep: ~30 s of CPU, 70 s on the busy 2-core machine
def test_the_sweep_table_has_one_row_per_variant_from_the_metrics(sweep):
    rows = summary_rows(sweep)
    assert sorted(row["variant"] for row in rows) == VARIANTS
    assert all(row["status"] == "ok" for row in rows)
    for row in rows:
        metrics = read_metrics(sweep / row["job"])
        for key in TABLE:
            assert row[key] == str(metrics[key]), (row["variant"], key)
        assert metrics["epochs"] == 2 and 0 <= metrics["max_val_acc"] <= 1 and metrics["min_train_loss"] > 0
    summary = (sweep / "summary.md").read_text()
    header = next(line for line in summary.splitlines() if line.startswith("| job | variant"))
    assert all(f"| {key} |" in header for key in TABLE)
    assert sum(line.startswith(f"| {row['job']} | {row['variant']} |") for row in rows for line in
               summary.splitlines()) >= len(VARIANTS)
    assert "## Reference numbers (each job's own)" in summary and "| 0.62 |" in summary  # base's 62 %


@pytest.mark.slow  # the 16-job sweep: ~30 s of CPU, 70 s on the busy 2-core machine
def test_every_run_draws_kernels_feature_maps_curves_and_confusion(sweep):
    for job in sorted(p for p in sweep.iterdir() if (p / "metrics.json").is_file()):
        for figure in ("kernels", "feature_maps", "curves", "confusion_matrix"):
            assert (job / f"{figure}.png").stat().st_size > 3000, (job.name, figure)
        assert (job / "history.csv").read_text().count("\n") == 3  # header + 2 epochs


@pytest.mark.slow  # the 16-job sweep: ~30 s of CPU, 70 s on the busy 2-core machine
def test_the_sweep_overlays_every_variants_validation_loss(sweep):
    assert (sweep / "val_loss.png").stat().st_size > 20000
    assert "![val_loss](val_loss.png)" in (sweep / "summary.md").read_text()


@pytest.mark.slow  # the 16-job sweep: ~30 s of CPU, 70 s on the busy 2-core machine
def test_mobilenet_smoke_trains_from_scratch(sweep):
    job = next(row["job"] for row in summary_rows(sweep) if row["variant"] == "mobilenet_v2")
    metrics = read_metrics(sweep / job)
    assert metrics["pretrained"] is False and metrics["n_params"] > 2_000_000
    assert "mobilenet_v2" in (sweep / job / "report.md").read_text()


@pytest.mark.slow
def test_a_diverging_run_is_recorded_not_fatal(cli, tmp_path):
    write_cifar(tmp_path, n_per_batch=8, n_test=10)
    result = cli("run", EXP, "variant=lr0.1", "smoke=true", f"data.root={tmp_path}", "optim.lr=1e30")
    assert result.returncode == 0, result.stderr[-2000:]
    (run_dir,) = cli.run_dirs("cifar_cnn_sweep")
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "diverged" and metrics["diverged"] is True and "test_acc" not in metrics
    assert (run_dir / "curves.png").is_file() and (run_dir / "report.md").is_file()


def test_absent_cifar_is_one_clear_message(cli, tmp_path):
    result = cli("run", EXP, f"data.root={tmp_path / 'nowhere'}")
    assert result.returncode == 2
    assert "cifar" in result.stderr.lower() and str(Path(tmp_path / "nowhere")) in result.stderr
    assert "Traceback" not in result.stderr


def test_a_model_over_max_params_is_refused_before_training(cli, tmp_path):
    write_cifar(tmp_path, n_per_batch=8, n_test=10)
    result = cli("run", EXP, "variant=b_model", "smoke=true", f"data.root={tmp_path}", "model.filters=64")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "more than max_params=210,320" in result.stderr
    (run_dir,) = cli.run_dirs("cifar_cnn_sweep")
    assert read_metrics(run_dir)["status"] == "failed" and not (run_dir / "history.csv").exists()

"""dac_mnist end to end through the CLI: every output of a smoke run, determinism, MNIST IDX files, clear errors."""

import json

import pytest

from conftest import Cli, read_metrics
from formats import write_idx_set
from nnx.experiments.dac_mnist.config import DacSettings

EXP = "experiment=dac_mnist"
METHODS = ("kmeans_raw", "pca_kmeans", "ae_kmeans", "dac_kmeans")
FIGURES = ("pixel_importance", "reconstructions", "codes_3d", "ari", "loss_curve")
TIMING = {"duration_s", "git_commit"}
DEFAULT_STANDARDIZE = DacSettings().standardize


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory):
    """Two smoke runs (digits) with the same seed."""
    cli = Cli(tmp_path_factory.mktemp("outputs"))
    for _ in range(2):
        result = cli("run", EXP, "data=digits", "smoke=true", "seed=3")
        assert result.returncode == 0, result.stderr
    return cli.run_dirs("dac_mnist")


def test_smoke_run_writes_every_output(smoke_runs):
    run_dir = smoke_runs[0]
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "ok"
    for method in METHODS:  # ARI may dip below 0 (worse than chance); NMI and matched accuracy cannot
        assert -0.5 <= metrics[f"{method}/ari"] <= 1.0
        assert 0 <= metrics[f"{method}/nmi"] <= 1.0 and 1 / 10 <= metrics[f"{method}/acc"] <= 1.0
    assert metrics["dac/epochs"] == metrics["ae/epochs"] == 2 and metrics["pixel_weights/n_labelled"] == 100
    for figure in FIGURES:
        assert (run_dir / f"{figure}.png").stat().st_size > 5000, figure
    table = (run_dir / "clustering.md").read_text()
    assert all(method in table for method in METHODS)
    for name in ("dac", "ae"):
        assert (run_dir / f"{name}_history.csv").read_text().count("\n") == 3  # header + 2 epochs
    assert "dac_kmeans/ari" in (run_dir / "report.md").read_text()


def test_same_seed_same_metrics(smoke_runs):
    first, second = (json.loads((d / "metrics.json").read_text()) for d in smoke_runs)
    assert {k: v for k, v in first.items() if k not in TIMING} == {k: v for k, v in second.items() if k not in TIMING}


def test_standardize_changes_the_learned_features_only(smoke_runs, cli):
    """dac.standardize z-scores the PCA features and both codes before KMeans, never the raw pixels."""
    result = cli("run", EXP, "data=digits", "smoke=true", "seed=3", f"dac.standardize={not DEFAULT_STANDARDIZE}")
    assert result.returncode == 0, result.stderr
    default, flipped = read_metrics(smoke_runs[0]), read_metrics(cli.run_dirs("dac_mnist")[0])
    assert flipped["kmeans_raw/ari"] == default["kmeans_raw/ari"]
    assert flipped["dac/train_loss"] == default["dac/train_loss"]  # same training; only the clustering differs
    for method in ("pca_kmeans", "ae_kmeans", "dac_kmeans"):
        assert flipped[f"{method}/ari"] != default[f"{method}/ari"], method


def test_mnist_idx_files_run_without_the_ablation(cli, tmp_path):
    write_idx_set(tmp_path / "mnist", n_train=40, n_test=20)
    result = cli("run", EXP, "data=mnist", f"data.root={tmp_path / 'mnist'}", "trainer.epochs=1",
                 "model.hidden=[16]", "dac.ablation=false", "dac.n_labelled=20", "dac.n_init=1")
    assert result.returncode == 0, result.stderr
    metrics = read_metrics(cli.run_dirs("dac_mnist")[0])
    assert "dac_kmeans/ari" in metrics and "ae_kmeans/ari" not in metrics and "ae/epochs" not in metrics


@pytest.mark.parametrize("args, message", [
    (("data=mnist", "data.root=/nonexistent/mnist"), "no data under data.root=/nonexistent/mnist"),
    (("data=digits", "smoke=true", "data.normalize=dataset"), "data.normalize=none"),
    (("data=digits", "smoke=true", "+dac.clusters=3"), "dac.clusters"),
    (("data=digits", "smoke=true", "dac.beta=lots"), "dac.beta"),
    (("data=digits", "smoke=true", "dac.scale=-1"), "dac.scale=-1 must be > 0"),
    (("data=digits", "smoke=true", "dac.n_labelled=3"), "dac.n_labelled=3 must be >= the 10 classes"),
    (("data=digits", "smoke=true", "cpu_threads=-1"), "cpu_threads=-1 must be a count >= 0"),
])
def test_bad_settings_give_one_clear_message(cli, args, message):
    result = cli("run", EXP, *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr

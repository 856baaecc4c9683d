"""Slow tests on the real data sets, found where `make data SRC=...` (nnx data) puts them: data/<name> in the checkout.
One short epoch each through the CLI, at the experiment's own config but for the limits named here."""

import pytest

from conftest import ROOT, read_metrics

DATA = ROOT / "data"
pytestmark = pytest.mark.slow


def needs(name: str):
    return pytest.mark.skipif(not (DATA / name).exists(), reason=f"data/{name}: run `make data SRC=<copy>` first")


@needs("mnist")
@pytest.mark.parametrize("experiment, options, scores", [
    ("kd_mnist", ("kd.teacher_epochs=1",), {"teacher/test_acc": 0.95, "student/test_acc": 0.9, "kd/test_acc": 0.9}),
    ("dac_mnist", ("dac.n_init=1",), {"dac_kmeans/ari": 0.2, "kmeans_raw/ari": 0.2}),
])
def test_one_epoch_on_the_60000_mnist_images(cli, experiment, options, scores):
    result = cli("run", f"experiment={experiment}", "trainer.epochs=1", "seed=0", *options, timeout=900)
    assert result.returncode == 0, result.stderr
    metrics = read_metrics(cli.run_dirs(experiment)[-1])
    assert metrics["data"] == "MNIST (60,000 train / 10,000 test)"
    assert all(metrics[key] > floor for key, floor in scores.items()), metrics


@needs("cifar10")
def test_cifar10_tree_one_epoch_of_the_base_cnn(cli):
    result = cli("run", "experiment=cifar_cnn_sweep", "trainer.epochs=1", timeout=900)
    assert result.returncode == 0, result.stderr
    metrics = read_metrics(cli.run_dirs("cifar_cnn_sweep")[-1])
    assert metrics["data"] == "CIFAR-10 (JPEG copy; 42,500 train / 7,500 val / 10,000 test)"
    assert metrics["max_val_acc"] > 0.3

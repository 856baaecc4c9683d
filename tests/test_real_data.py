"""Slow tests on the real data sets, found where `make data SRC=...` (nnx data) puts them: data/<name> in the checkout.
One short epoch each through the CLI, at the experiment's own config but for the limits named here."""

import pytest

from conftest import ROOT, read_metrics

DATA = ROOT / "data"
pytestmark = pytest.mark.slow


def needs(name: str):
    return pytest.mark.skipif(not (DATA / name).exists(), reason=f"data/{name}: run `make data SRC=<copy>` first")


@needs("mnist")
def test_kd_mnist_one_epoch_on_the_60000_images(cli):
    result = cli("run", "experiment=kd_mnist", "kd.teacher_epochs=1", "trainer.epochs=1", "seed=0", timeout=900)
    assert result.returncode == 0, result.stderr
    metrics = read_metrics(cli.run_dirs("kd_mnist")[-1])
    assert metrics["data"] == "MNIST (60,000 train / 10,000 test)"
    assert metrics["teacher/test_acc"] > 0.95 and metrics["student/test_acc"] > 0.9 and metrics["kd/test_acc"] > 0.9


@needs("mnist")
def test_dac_mnist_one_epoch_on_the_60000_images(cli):
    result = cli("run", "experiment=dac_mnist", "trainer.epochs=1", "dac.n_init=1", "seed=0", timeout=900)
    assert result.returncode == 0, result.stderr
    metrics = read_metrics(cli.run_dirs("dac_mnist")[-1])
    assert metrics["data"] == "MNIST (60,000 train / 10,000 test)"
    assert metrics["dac_kmeans/ari"] > 0.2 and metrics["kmeans_raw/ari"] > 0.2


@needs("cifar10")
def test_cifar10_tree_one_epoch_of_the_base_cnn(cli):
    result = cli("run", "experiment=cifar_cnn_sweep", "trainer.epochs=1", timeout=900)
    assert result.returncode == 0, result.stderr
    metrics = read_metrics(cli.run_dirs("cifar_cnn_sweep")[-1])
    assert metrics["data"] == "CIFAR-10 (JPEG copy; 42,500 train / 7,500 val / 10,000 test)"
    assert metrics["max_val_acc"] > 0.3

"""`nnx data`: local copies linked or copied into data/, never over files of the user's; CIFAR-10 as a JPEG tree."""

import numpy as np
import pytest
import torch

from formats import CIFAR_CLASSES, write_idx_set, write_image_folder
from nnx.cli import main
from nnx.data import load
from nnx.data.formats import read_image
from nnx.data.prepare import prepare
from nnx.errors import NnxError


@pytest.fixture
def shared(tmp_path):
    """A folder laid out as ../shared/data: mnist/ (IDX) and cats_vs_dogs/ (ImageFolder)."""
    origin = tmp_path / "shared"
    written = write_idx_set(origin / "mnist", n_train=20, n_test=10)
    write_image_folder(origin / "cats_vs_dogs", {"train": 2, "val": 1})
    return origin, written


def test_link_then_the_default_root_reads_the_copy(shared, tmp_path, monkeypatch):
    origin, written = shared
    home = tmp_path / "checkout" / "data"
    rows = {row["data set"]: row["done"] for row in prepare([], origin, home=home)}
    assert rows["mnist"].startswith("linked to") and rows["cats_vs_dogs"].startswith("linked to")
    assert rows["cifar10"].startswith("not found")  # not in this copy: said, not fatal without names
    assert (home / "mnist").is_symlink() and (home / "mnist").resolve() == (origin / "mnist").resolve()
    monkeypatch.chdir(tmp_path / "checkout")  # data.root's default, data/mnist, read from here
    bundle = load({"name": "mnist", "root": "data/mnist", "cache_dir": str(tmp_path / "cache")})
    np.testing.assert_array_equal(bundle.train.x[:, 0].numpy(), written["train_x"])
    assert bundle.title == "MNIST (20 train / 10 test)"
    again = prepare(["mnist"], origin, home=home)
    assert again[0]["done"].startswith("already linked")


def test_files_of_the_users_are_never_replaced_and_copy_copies(shared, tmp_path):
    origin, _ = shared
    home = tmp_path / "data"
    (home / "mnist").mkdir(parents=True)
    (home / "mnist" / "mine.txt").write_text("keep")
    done = prepare(["mnist", "cats_vs_dogs"], origin, how="copy", home=home)
    assert done[0]["done"].startswith("left as it is") and (home / "mnist" / "mine.txt").read_text() == "keep"
    assert done[1]["done"].startswith("copied") and not (home / "cats_vs_dogs").is_symlink()
    assert len(list((home / "cats_vs_dogs").rglob("*.jpg"))) == 6


def test_a_named_data_set_that_cannot_be_prepared_is_an_error(shared, tmp_path):
    origin, _ = shared
    with pytest.raises(NnxError, match="cifar10: not found"):
        prepare(["cifar10"], origin, home=tmp_path / "data")
    with pytest.raises(NnxError, match="unknown data set imagenet"):
        prepare(["imagenet"], origin, home=tmp_path / "data")
    with pytest.raises(NnxError, match="no such folder"):
        prepare([], tmp_path / "nowhere", home=tmp_path / "data")
    with pytest.raises(NnxError, match="cats_vs_dogs has no download"):
        prepare(["cats_vs_dogs"], None, home=tmp_path / "empty")


def test_the_cli_prints_what_it_did(shared, tmp_path, monkeypatch, capsys):
    origin, _ = shared
    monkeypatch.setattr("nnx.data.prepare.data_home", lambda: tmp_path / "data")
    with pytest.raises(SystemExit) as code:
        main(["data", "mnist", "--from", str(origin)])
    assert code.value.code == 0 and "mnist  linked to" in capsys.readouterr().out
    with pytest.raises(SystemExit) as code:
        main(["data", "--frm", str(origin)])
    assert code.value.code == 2 and "unknown option --frm" in capsys.readouterr().err


def test_cifar10_from_an_image_folder_tree_is_decoded_once_in_label_order(tmp_path, caplog):
    root = write_image_folder(tmp_path / "cifar10", {"train": 3, "test": 2}, classes=CIFAR_CLASSES, size=(32, 32))
    options = {"name": "cifar10", "root": str(root), "cache_dir": str(tmp_path / "cache")}
    with caplog.at_level("INFO", logger="nnx"):
        bundle = load(options)
        again = load(options)
    assert "decoded 50 source file(s)" in caplog.text and "read the decoded cache" in caplog.text
    assert bundle.classes == CIFAR_CLASSES and bundle.input_shape == (3, 32, 32)
    assert torch.bincount(bundle.train.y).tolist() == [3] * 10 and torch.bincount(bundle.test.y).tolist() == [2] * 10
    first_truck = root / "test" / "truck" / "truck.0.jpg"
    index = int(np.flatnonzero(bundle.test.y.numpy() == 9)[0])
    np.testing.assert_array_equal(bundle.test.x[index].numpy(), read_image(first_truck, None))
    assert torch.equal(again.train.x, bundle.train.x)
    assert bundle.title == "CIFAR-10 (JPEG copy; 30 train / 20 test)"


def test_a_tree_of_mixed_sizes_or_classes_is_refused(tmp_path):
    root = write_image_folder(tmp_path / "c", {"train": 1}, classes=("a", "b"), size=(32, 32))
    write_image_folder(root, {"test": 1}, classes=("a", "c"), size=(32, 32))
    with pytest.raises(NnxError, match="train/ has classes"):
        load({"name": "cifar10", "root": str(root), "cache_dir": str(tmp_path / "cache")})
    write_image_folder(tmp_path / "d", {"train": 1, "test": 1}, classes=("a",), size=(32, 32))
    write_image_folder(tmp_path / "d", {"train": 1}, classes=("b",), size=(16, 16))
    write_image_folder(tmp_path / "d", {"test": 1}, classes=("b",), size=(16, 16))
    with pytest.raises(NnxError, match="differ in size"):
        load({"name": "cifar10", "root": str(tmp_path / "d"), "cache_dir": str(tmp_path / "cache")})

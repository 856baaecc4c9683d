"""Data sets through the code users hit: real on-disk formats written here, absent and corrupt files, splits."""

import gzip
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from formats import write_cifar, write_idx, write_idx_set, write_image_folder, write_oxford_pets
from nnx.data import LoaderSplit, TensorSplit, load
from nnx.data.sources import FASHION_MNIST_SYSTEM_COPY, resolve_root
from nnx.errors import NnxError

SHARED_CATS_VS_DOGS = Path(__file__).resolve().parents[2] / "shared" / "data" / "cats_vs_dogs"


@pytest.fixture
def cache(tmp_path) -> str:
    return str(tmp_path / "cache")


def test_idx_files_gzipped_or_not_and_in_torchvision_layout(tmp_path, cache):
    for folder, gz in ((tmp_path / "plain", False), (tmp_path / "gz", True), (tmp_path / "tv" / "MNIST" / "raw", True)):
        written = write_idx_set(folder, gz=gz)
        root = tmp_path / "tv" if folder.name == "raw" else folder
        bundle = load({"name": "mnist", "root": str(root), "cache_dir": cache})
        assert bundle.input_shape == (1, 28, 28) and bundle.num_classes == 10 and bundle.val is None
        assert bundle.train.x.dtype == torch.uint8 and bundle.train.y.dtype == torch.int64
        np.testing.assert_array_equal(bundle.train.x[:, 0].numpy(), written["train_x"])
        np.testing.assert_array_equal(bundle.test.y.numpy(), written["test_y"])


def test_fashion_mnist_has_its_class_names(tmp_path, cache):
    write_idx_set(tmp_path)
    bundle = load({"name": "fashion_mnist", "root": str(tmp_path), "cache_dir": cache})
    assert bundle.classes[0] == "T-shirt/top" and bundle.classes[9] == "Ankle boot"


def test_fashion_mnist_falls_back_on_the_debian_copy_for_the_default_root_only(tmp_path, cache, monkeypatch):
    written = write_idx_set(tmp_path / "system")
    monkeypatch.setattr("nnx.data.sources.FASHION_MNIST_SYSTEM_COPY", str(tmp_path / "system"))
    monkeypatch.setattr("nnx.data.sources.FASHION_MNIST_ROOT", str(tmp_path / "default"))
    bundle = load({"name": "fashion_mnist", "root": str(tmp_path / "default"), "cache_dir": cache})
    np.testing.assert_array_equal(bundle.train.y.numpy(), written["train_y"])
    with pytest.raises(NnxError, match="no data under data.root=.*named"):  # a folder you named is never replaced
        load({"name": "fashion_mnist", "root": str(tmp_path / "named"), "cache_dir": cache})


def test_a_relative_root_is_read_from_here_or_else_from_the_checkout(tmp_path, monkeypatch):
    checkout = Path(__file__).resolve().parents[1]
    (tmp_path / "conf").mkdir()
    monkeypatch.chdir(tmp_path)
    assert resolve_root("conf") == str(tmp_path / "conf")  # here first
    assert resolve_root("experiments") == str(checkout / "experiments")  # else beside conf/
    assert resolve_root("nowhere") == str(tmp_path / "nowhere")  # absent: named as the user would look for it


def test_second_load_reads_the_cache_not_the_files(tmp_path, cache, monkeypatch):
    written = write_idx_set(tmp_path / "idx")
    load({"name": "mnist", "root": str(tmp_path / "idx"), "cache_dir": cache})
    assert len(list(Path(cache).glob("mnist-*.pt"))) == 1

    def refuse(path):
        raise AssertionError("decoded again")

    monkeypatch.setattr("nnx.data.sources.read_idx", refuse)
    bundle = load({"name": "mnist", "root": str(tmp_path / "idx"), "cache_dir": cache})
    np.testing.assert_array_equal(bundle.test.x[:, 0].numpy(), written["test_x"])


def test_cifar_pickles_from_the_folder_or_its_parent(tmp_path, cache):
    written = write_cifar(tmp_path)
    for root in (tmp_path, tmp_path / "cifar-10-batches-py"):
        bundle = load({"name": "cifar10", "root": str(root), "cache_dir": cache})
        assert bundle.input_shape == (3, 32, 32) and bundle.classes[3] == "cat"
        np.testing.assert_array_equal(bundle.train.x.numpy(), written["train_x"])
        np.testing.assert_array_equal(bundle.test.y.numpy(), written["test_y"])


def test_image_folder_decoded_to_tensors_or_streamed(tmp_path, cache):
    root = write_image_folder(tmp_path / "cvd", {"train": 6, "val": 3})
    common = {"name": "cats_vs_dogs", "root": str(root), "cache_dir": cache, "image_size": 16}
    tensors = load(common | {"loader": "tensor"})
    streamed = load(common | {"loader": "torch", "num_workers": 0})
    assert isinstance(tensors.train, TensorSplit) and isinstance(streamed.train, LoaderSplit)
    assert tensors.classes == ["cat", "dog"] and tensors.input_shape == (3, 16, 16) == streamed.input_shape
    assert len(tensors.train) == 12 and len(tensors.test) == 6
    x_tensor, y_tensor = map(torch.cat, zip(*tensors.batches("test")))
    x_stream, y_stream = map(torch.cat, zip(*streamed.batches("test", batch_size=4)))
    assert torch.equal(y_tensor, y_stream) and x_tensor.shape == (6, 3, 16, 16)
    assert torch.equal(tensors.test.x, torch.stack([streamed.test.images[i][0] for i in range(6)]))


def test_auto_loader_streams_when_larger_than_the_memory_budget(tmp_path, cache):
    root = write_image_folder(tmp_path / "cvd", {"train": 4, "val": 2})
    bundle = load({"name": "cats_vs_dogs", "root": str(root), "cache_dir": cache, "max_memory_mb": 0,
                   "num_workers": 0})
    assert isinstance(bundle.train, LoaderSplit) and bundle.input_shape == (3, 20, 24)  # the files' own size


def test_oxford_pets_binary_through_torchvision(tmp_path, cache):
    write_oxford_pets(tmp_path, n_trainval=6, n_test=4)
    bundle = load({"name": "oxford_pets_binary", "root": str(tmp_path), "cache_dir": cache, "image_size": 8})
    assert bundle.classes == ["cat", "dog"] and len(bundle.train) == 6 and len(bundle.test) == 4
    assert bundle.train.y.tolist() == [0, 1, 0, 1, 0, 1]


def test_digits_are_real_and_offline():
    bundle = load({"name": "digits"})
    assert bundle.input_shape == (1, 8, 8) and bundle.num_classes == 10
    assert len(bundle.train) + len(bundle.test) == 1797 and int(bundle.train.x.max()) == 255


def test_tabular_sets_come_as_bundles_of_features():
    bundle = load({"name": "iris"})
    assert bundle.input_shape == (4,) and bundle.num_classes == 3 and bundle.train.x.dtype == torch.float32
    x, y = next(bundle.batches("train"))
    assert x.shape == (len(y), 4) and len(bundle.train) + len(bundle.test) == 150


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10", "cats_vs_dogs", "oxford_pets_binary"])
def test_absent_data_names_the_files_and_both_fixes(tmp_path, name, monkeypatch):
    monkeypatch.setattr("nnx.data.sources.FASHION_MNIST_SYSTEM_COPY", str(tmp_path / "not-installed"))
    with pytest.raises(NnxError) as caught:
        load({"name": name, "root": str(tmp_path / "empty")})
    message = str(caught.value)
    assert str(tmp_path / "empty") in message and "data.root" in message
    expected = {"mnist": "train-images-idx3-ubyte", "fashion_mnist": "t10k-labels-idx1-ubyte",
                "cifar10": "data_batch_1", "cats_vs_dogs": "val/dog",
                "oxford_pets_binary": "annotations/{trainval,test}.txt"}[name]
    assert expected in message and "download=true" in message


def test_a_failed_download_gives_the_same_message(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr("urllib.request.urlopen", offline)  # what every request meets on a machine offline
    with pytest.raises(NnxError) as caught:
        load({"name": "mnist", "root": str(tmp_path / "m"), "download": True})
    message = str(caught.value)
    assert "train-images-idx3-ubyte" in message and "download failed" in message and "fix:" in message


def test_truncated_or_corrupt_files_are_named(tmp_path, cache):
    write_idx_set(tmp_path / "cut")
    labels = tmp_path / "cut" / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:-12])  # a download cut short
    bad_header = tmp_path / "hdr"
    write_idx_set(bad_header, gz=False)
    images = bad_header / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    write_cifar(tmp_path / "cifar")
    (tmp_path / "cifar" / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"\x80\x04garbage")
    root = write_image_folder(tmp_path / "cvd", {"train": 2, "val": 1})
    (root / "train" / "dog" / "dog.1.jpg").write_bytes(b"not a jpeg")
    cases = [("mnist", tmp_path / "cut", labels), ("mnist", bad_header, images),
             ("cifar10", tmp_path / "cifar", "data_batch_3"), ("cats_vs_dogs", root, "dog.1.jpg")]
    for name, folder, culprit in cases:
        with pytest.raises(NnxError, match="truncated or corrupt") as caught:
            load({"name": name, "root": str(folder), "cache_dir": cache})
        assert str(culprit) in str(caught.value)


def test_idx_header_mismatch_is_explained(tmp_path):
    path = write_idx(tmp_path / "x.gz", np.zeros((3, 4, 4)))
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-5]))
    from nnx.data.formats import read_idx

    with pytest.raises(NnxError, match=r"header says 3x4x4 = 48 bytes, found 43"):
        read_idx(path)


def test_bad_keys_and_values_fail_clearly(tmp_path):
    with pytest.raises(NnxError, match="data.*batchsize"):
        load({"name": "digits", "batchsize": 32})
    with pytest.raises(NnxError, match="data.val_fraction"):
        load({"name": "digits", "val_fraction": "lots"})
    with pytest.raises(NnxError, match=r"data.augment\[1\].*unknown augmentation 'blur'"):
        load({"name": "digits", "augment": ["flip", "blur"]})
    with pytest.raises(NnxError, match=r"data.augment\[0\].*padding"):
        load({"name": "digits", "augment": [{"name": "crop", "padding": "wide"}]})
    with pytest.raises(NnxError, match="unknown dataset 'mnits'"):
        load({"name": "mnits"})


def test_validation_split_is_stratified_and_seeded():
    splits = [load({"name": "digits", "val_fraction": 0.2}, seed=seed) for seed in (0, 0, 1)]
    first, again, other = splits
    assert torch.equal(first.val.y, again.val.y) and torch.equal(first.val.x, again.val.x)
    assert not torch.equal(first.val.x, other.val.x)
    assert len(first.val) + len(first.train) == 1347 and abs(len(first.val) - 0.2 * 1347) <= 1
    train_share = torch.bincount(first.train.y) / len(first.train)
    val_share = torch.bincount(first.val.y) / len(first.val)
    assert (train_share - val_share).abs().max() < 0.01  # every class in the same proportion


def test_limits_keep_a_stratified_subset():
    bundle = load({"name": "digits", "limit_train": 100, "limit_test": 30, "val_fraction": 0.1})
    assert len(bundle.train) + len(bundle.val) == 100 and len(bundle.test) == 30
    assert torch.bincount(bundle.test.y).tolist() == [3] * 10


def test_every_sample_once_per_epoch_in_a_fresh_order():
    bundle = load({"name": "digits", "normalize": "none", "batch_size": 100})
    bundle.train.x = torch.arange(len(bundle.train)).view(-1, 1, 1, 1).float()  # each sample its own id
    epochs = [torch.cat([x.flatten() for x, _ in bundle.batches("train")]) for _ in range(2)]
    for order in epochs:
        assert sorted(order.long().tolist()) == list(range(len(bundle.train)))
    assert not torch.equal(epochs[0], epochs[1])
    assert torch.equal(torch.cat([x.flatten() for x, _ in bundle.batches("test")]),
                       bundle.prepare(bundle.test.x).flatten())  # evaluation batches keep the order
    sizes = [len(y) for _, y in bundle.batches("train")]
    assert sizes == [100] * 13 + [47]


def test_random_state_round_trips_and_survives_a_change_of_device(caplog):
    bundle = load({"name": "digits", "augment": ["flip"]}, seed=1)
    saved = bundle.rng_state()
    first = [x for x, _ in bundle.batches("train")]
    bundle.set_rng_state(saved)
    assert all(torch.equal(a, b) for a, b in zip(first, (x for x, _ in bundle.batches("train"))))
    from_gpu = saved | {"augment": torch.zeros(16, dtype=torch.uint8)}  # a CUDA generator's state: 16 bytes
    bundle.set_rng_state(from_gpu)
    assert [len(y) for _, y in bundle.batches("train")]  # the order is restored, augmentation re-seeded
    assert "saved on another kind of device" in caplog.text


def test_batches_are_seeded_and_normalized():
    orders = [torch.cat([y for _, y in load({"name": "digits"}, seed=3).batches("train")]) for _ in range(2)]
    assert torch.equal(*orders)
    bundle = load({"name": "digits"})
    x = bundle.prepare(bundle.train.x)
    assert x.dtype == torch.float32 and abs(x.mean().item()) < 1e-4 and abs(x.std().item() - 1) < 1e-3


@pytest.mark.slow
@pytest.mark.skipif(not Path(FASHION_MNIST_SYSTEM_COPY).is_dir(), reason="apt-get install dataset-fashion-mnist")
def test_real_fashion_mnist_from_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default data.root (data/fashion_mnist) is empty here: Debian's copy is read
    bundle = load({"name": "fashion_mnist", "cache_dir": str(tmp_path / "c")})
    assert (len(bundle.train), len(bundle.test)) == (60000, 10000) and bundle.input_shape == (1, 28, 28)
    assert torch.bincount(bundle.test.y).tolist() == [1000] * 10


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_CATS_VS_DOGS.is_dir(), reason="the shared cats-vs-dogs images")
def test_real_cats_vs_dogs_folder(tmp_path):
    bundle = load({"name": "cats_vs_dogs", "root": str(SHARED_CATS_VS_DOGS), "image_size": 64,
                   "cache_dir": str(tmp_path)})
    assert (len(bundle.train), len(bundle.test)) == (2000, 1000) and bundle.classes == ["cat", "dog"]
    assert torch.bincount(bundle.test.y).tolist() == [500, 500]

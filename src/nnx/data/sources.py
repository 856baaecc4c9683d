"""The registered image data sets. Each reader finds the files under `data.root` and returns them undecoded or decoded:

- `Arrays`: the whole set decoded in memory (IDX, CIFAR pickles, scikit-learn digits), cached after the first load;
- `Files`: (image path, label) lists (ImageFolder trees, Oxford-IIIT Pet), decoded once or streamed (see bundle.py).

Absent files give one NnxError naming the expected files and the two fixes; so does a failed download.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
from pathlib import Path

import numpy as np

from nnx.data.cache import cached
from nnx.data.formats import corrupt, read_cifar_batch, read_cifar_meta, read_idx, read_images
from nnx.errors import NnxError
from nnx.paths import checkout_dir
from nnx.registry import DATASETS
from nnx.schemas import DataConfig

log = logging.getLogger("nnx")

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
FASHION_MNIST_SYSTEM_COPY = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist package
FASHION_MNIST_ROOT = "data/fashion_mnist"  # conf/data/fashion_mnist.yaml's data.root
CIFAR_FILES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta")
CIFAR_BATCHES = "cifar-10-batches-py"  # torchvision's folder of the official pickles


@dataclasses.dataclass
class Arrays:
    train_x: np.ndarray  # N x C x H x W uint8
    train_y: np.ndarray  # N int64
    test_x: np.ndarray
    test_y: np.ndarray
    classes: list[str]
    origin: str = ""  # how the files differ from the official ones (e.g. "JPEG copy"), said in reports


@dataclasses.dataclass
class Files:
    train: list[tuple[str, int]]  # (image path, label)
    test: list[tuple[str, int]]
    classes: list[str]


def dataset(name: str, default_root: str):
    """Register `read(options) -> Arrays | Files` as data set `name`; DATASETS.build then returns a DataBundle."""

    def wrap(read):
        def build(device: str = "cpu", seed: int = 0, **params):
            from nnx.data.bundle import make_bundle

            options = DataConfig(**params)
            if options.root is not None and not str(options.root).strip():
                raise NnxError(f"data.root is empty (data={name})",
                               fix=f"give a folder, or leave data.root out for the default {default_root}")
            options.root = resolve_root(options.root or default_root)
            return make_bundle(name, read(options), options, device, seed)

        DATASETS.register(name, schema=DataConfig)(build)
        return read

    return wrap


def resolve_root(root: str) -> str:
    """`data.root` as an absolute path: a relative one is read from the current folder, or else from the nnx
    checkout (so the defaults, data/<name> as `nnx data` prepares them, work from any folder)."""
    path = Path(root).expanduser()
    if not path.is_absolute() and not path.exists() and (checkout_dir() / path).exists():
        path = checkout_dir() / path
    return str(path.resolve())


def absent(name: str, root: str, expected: str, also: str = "") -> NnxError:
    return NnxError(f"{name}: no data under data.root={root} (expected {expected})",
                    fix=f"nnx data {name} --from <folder holding {name}/> links a local copy into place; "
                        f"nnx data {name} (or data.download=true) downloads it (needs a network); "
                        f"or point data.root at a copy{also}")


@contextlib.contextmanager
def downloading(name: str, root: str, expected: str):
    """Run a torchvision download; any failure (no network, bad checksum) becomes the absent-data message."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # torchvision prints each mirror it tries
            yield
    except NnxError:
        raise
    except Exception as err:
        error = absent(name, root, expected)
        error.args = (f"{error.args[0]}; the download failed: {str(err).splitlines()[0] if str(err) else err!r}",)
        raise error from None


def find_idx(folders: list[Path]) -> list[Path] | None:
    """The four IDX files (gzipped or not) in the first folder that holds them all."""
    for folder in folders:
        found = [next((p for p in (folder / f, folder / f"{f}.gz") if p.is_file()), None) for f in IDX_FILES]
        if all(found):
            return found
    return None


def idx_arrays(name: str, options: DataConfig, torchvision_name: str, classes: list[str],
               fallbacks: tuple[str, ...] = (), also: str = "") -> Arrays:
    root = Path(options.root)
    folders = [root, root / torchvision_name / "raw", *map(Path, fallbacks)]
    expected = f"{', '.join(IDX_FILES)} (.gz or not), in the folder or in {torchvision_name}/raw/"
    files = find_idx(folders)
    if files is not None and files[0].parent in folders[2:]:  # a fallback copy
        log.info("%s: nothing under data.root=%s; reading %s", name, root, files[0].parent)
    if files is None and options.download:
        import torchvision

        with downloading(name, options.root, expected):
            getattr(torchvision.datasets, torchvision_name)(options.root, train=True, download=True)
        files = find_idx(folders)
    if files is None:
        raise absent(name, options.root, expected, also)

    def decode() -> dict:
        images = [read_idx(files[0]), read_idx(files[2])]
        labels = [read_idx(files[1]).astype(np.int64), read_idx(files[3]).astype(np.int64)]
        for x, y, path in zip(images, labels, files[::2]):
            if len(x) != len(y):
                raise NnxError(f"{path}: {len(x)} images but {len(y)} labels beside it", fix="copy the files afresh")
        for y, path in zip(labels, files[1::2]):
            if len(y) and not 0 <= y.min() <= y.max() < len(classes):
                raise corrupt(path, f"labels run from {y.min()} to {y.max()}; {name} has {len(classes)} classes, "
                                    f"0 to {len(classes) - 1}")
        return {"train_x": images[0][:, None], "train_y": labels[0], "test_x": images[1][:, None],
                "test_y": labels[1]}

    data = cached(options.cache_dir, name, "idx", files, lambda: {k: tensor(v) for k, v in decode().items()})
    return Arrays(**{k: v.numpy() for k, v in data.items()}, classes=classes)


def tensor(array: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(array))


@dataset("mnist", default_root="data/mnist")
def mnist(options: DataConfig) -> Arrays:
    return idx_arrays("mnist", options, "MNIST", [str(d) for d in range(10)])


@dataset("fashion_mnist", default_root=FASHION_MNIST_ROOT)
def fashion_mnist(options: DataConfig) -> Arrays:
    """Debian's copy stands in for an empty default data.root, never for a folder you named."""
    default = options.root == resolve_root(FASHION_MNIST_ROOT)
    return idx_arrays("fashion_mnist", options, "FashionMNIST", FASHION_CLASSES,
                      fallbacks=(FASHION_MNIST_SYSTEM_COPY,) if default else (),
                      also=" (on Debian: apt-get install dataset-fashion-mnist, then leave data.root as it is)")


@dataset("cifar10", default_root="data/cifar10")
def cifar10(options: DataConfig) -> Arrays:
    """The official python pickles (cifar-10-batches-py/), or an ImageFolder tree train/<class>/, test/<class>/
    (class order = sorted folder names = the official labels), decoded once into the same uint8 arrays."""
    root = Path(options.root)
    if (root / "train").is_dir() and (root / "test").is_dir():
        return folder_arrays("cifar10", root, "test", options.cache_dir)
    folders = [root, root / CIFAR_BATCHES]
    expected = (f"{CIFAR_BATCHES}/ holding {', '.join(CIFAR_FILES)}, "
                "or an ImageFolder tree train/<class>/, test/<class>/")

    def find() -> Path | None:
        return next((f for f in folders if all((f / name).is_file() for name in CIFAR_FILES)), None)

    folder = find()
    if folder is None and options.download:
        import torchvision

        with downloading("cifar10", options.root, expected):
            torchvision.datasets.CIFAR10(options.root, train=True, download=True)
        folder = find()
    if folder is None:
        raise absent("cifar10", options.root, expected)

    def decode() -> dict:
        train = [read_cifar_batch(folder / name) for name in CIFAR_FILES[:5]]
        test_x, test_y = read_cifar_batch(folder / "test_batch")
        return {"train_x": np.concatenate([x for x, _ in train]), "train_y": np.concatenate([y for _, y in train]),
                "test_x": test_x, "test_y": test_y, "classes": read_cifar_meta(folder / "batches.meta")}

    files = [folder / name for name in CIFAR_FILES]
    data = cached(options.cache_dir, "cifar10", "cifar", files,
                  lambda: {k: v if k == "classes" else tensor(v) for k, v in decode().items()})
    return Arrays(**{k: v if k == "classes" else v.numpy() for k, v in data.items()})


def folder_arrays(name: str, root: Path, test: str, cache_dir: str | None = None) -> Arrays:
    """An ImageFolder tree of small images (root/train/<class>/, root/<test>/<class>/), all of one size, decoded
    once in threads and cached: from then on it loads like the pickles."""
    train, classes = image_folder(root / "train")
    test_items, test_classes = image_folder(root / test)
    if test_classes != classes:
        raise NnxError(f"{root}: train/ has classes {classes} but {test}/ has {test_classes}")

    def decode() -> dict:
        def stack(items):
            images = read_images([path for path, _ in items], None)
            if len({image.shape for image in images}) > 1:
                raise NnxError(f"{root}: the images differ in size", fix="resize them to one size first")
            return tensor(np.stack(images)), torch_labels(items)

        (train_x, train_y), (test_x, test_y) = stack(train), stack(test_items)
        return {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y}

    files = [Path(path) for path, _ in (*train, *test_items)]
    data = cached(cache_dir, name, f"folder{classes}", files, decode)
    lossy = any(path.suffix.lower() in (".jpg", ".jpeg") for path in files)
    return Arrays(**{k: v.numpy() for k, v in data.items()}, classes=classes, origin="JPEG copy" if lossy else "")


def torch_labels(items: list[tuple[str, int]]):
    return tensor(np.array([label for _, label in items], dtype=np.int64))


@dataset("digits", default_root="(embedded in scikit-learn)")
def digits(options: DataConfig) -> Arrays:
    """scikit-learn's 1,797 real 8x8 handwritten digits (16 grey levels -> 0..255); a seeded stratified test split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = np.round(bunch.images * (255 / 16)).astype(np.uint8)[:, None]
    train_x, test_x, train_y, test_y = train_test_split(images, bunch.target.astype(np.int64),
                                                        test_size=options.test_fraction, stratify=bunch.target,
                                                        random_state=0)  # fixed: the test set never moves with seed
    return Arrays(train_x, train_y, test_x, test_y, [str(d) for d in range(10)])


def image_folder(root: Path) -> tuple[list[tuple[str, int]], list[str]]:
    from torchvision.datasets import ImageFolder

    try:
        folder = ImageFolder(str(root))
    except (FileNotFoundError, OSError) as err:
        raise NnxError(f"{root}: {err}", fix="one sub-folder per class holding .jpg/.png images") from None
    if len(folder.classes) < 2:
        raise NnxError(f"{root}: one class folder ({', '.join(folder.classes)}); a classifier needs two or more",
                       fix="one sub-folder per class holding .jpg/.png images")
    return folder.samples, folder.classes


@dataset("cats_vs_dogs", default_root="data/cats_vs_dogs")
def cats_vs_dogs(options: DataConfig) -> Files:
    """An ImageFolder tree: train/<class>/*.jpg and val/<class>/*.jpg (val/ is the held-out test split)."""
    root = Path(options.root)
    if not ((root / "train").is_dir() and (root / "val").is_dir()):
        raise NnxError(f"cats_vs_dogs: no data under data.root={root} (expected train/cat, train/dog, val/cat, "
                       "val/dog holding .jpg images)",
                       fix="nnx data cats_vs_dogs --from <folder holding cats_vs_dogs/>, point data.root at "
                           "your copy, or use data=oxford_pets_binary data.download=true on a machine with a network")
    train, classes = image_folder(root / "train")
    test, test_classes = image_folder(root / "val")
    if test_classes != classes:
        raise NnxError(f"{root}: train/ has classes {classes} but val/ has {test_classes}")
    return Files(train, test, classes)


@dataset("oxford_pets_binary", default_root="data/oxford_pets")
def oxford_pets_binary(options: DataConfig) -> Files:
    """torchvision's Oxford-IIIT Pet with binary labels (cat, dog): trainval is the training set, test the test set."""
    from torchvision.datasets import OxfordIIITPet

    expected = "oxford-iiit-pet/images/*.jpg and oxford-iiit-pet/annotations/{trainval,test}.txt"

    def split(name: str) -> list[tuple[str, int]]:
        pets = OxfordIIITPet(options.root, split=name, target_types="binary-category")
        return [(str(path), int(label)) for path, label in zip(pets._images, pets._bin_labels)]

    if options.download:
        with downloading("oxford_pets_binary", options.root, expected):
            OxfordIIITPet(options.root, download=True)
    try:
        return Files(split("trainval"), split("test"), ["cat", "dog"])
    except RuntimeError:  # torchvision: "Dataset not found or corrupted"
        raise absent("oxford_pets_binary", options.root, expected) from None

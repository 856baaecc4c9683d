"""Small files in the real on-disk formats, written inside tests and read back through the code users hit.

    write_idx_set(folder, n_train=30, n_test=10)     # the four MNIST-family IDX files (gzipped or not)
    write_cifar(folder, n_per_batch=6)                # cifar-10-batches-py/ with pickled batches and batches.meta
    write_image_folder(root, {"train": 8, "val": 4})  # root/<split>/{cat,dog}/*.jpg
    write_oxford_pets(root, n_trainval=6, n_test=4)  # oxford-iiit-pet/ as torchvision's OxfordIIITPet reads it
Each returns the arrays it wrote, so a test can compare pixels and labels with what the loader gives back.
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np

IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_bytes(array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def labelled_images(n: int, shape: tuple, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random uint8 images and labels cycling through every class (so stratified splits work)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, *shape), dtype=np.uint8), np.arange(n) % n_classes


def write_idx_set(folder: Path, n_train: int = 30, n_test: int = 10, gz: bool = True, size: int = 28) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    train_x, train_y = labelled_images(n_train, (size, size), 10, seed=1)
    test_x, test_y = labelled_images(n_test, (size, size), 10, seed=2)
    for name, array in zip(IDX_NAMES, (train_x, train_y, test_x, test_y)):
        write_idx(folder / (name + (".gz" if gz else "")), array)
    return {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y}


CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def write_cifar(parent: Path, n_per_batch: int = 6, n_test: int = 10) -> dict:
    """parent/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}, pickled as the real archive is."""
    folder = parent / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    batches = []
    for index, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        images, labels = labelled_images(n_test if name == "test_batch" else n_per_batch, (3, 32, 32), 10, index)
        with (folder / name).open("wb") as handle:
            pickle.dump({b"data": images.reshape(len(images), -1), b"labels": labels.tolist(),
                         b"batch_label": name.encode()}, handle)
        batches.append((images, labels))
    with (folder / "batches.meta").open("wb") as handle:
        pickle.dump({b"label_names": [c.encode() for c in CIFAR_CLASSES], b"num_vis": 3072}, handle)
    return {"train_x": np.concatenate([x for x, _ in batches[:5]]),
            "train_y": np.concatenate([y for _, y in batches[:5]]), "test_x": batches[5][0], "test_y": batches[5][1]}


def write_jpeg(path: Path, rng: np.random.Generator, size: tuple[int, int]) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path, quality=90)


def write_image_folder(root: Path, counts: dict[str, int], classes=("cat", "dog"), size=(20, 24)) -> Path:
    """root/<split>/<class>/<class>.<i>.jpg, `counts[split]` images per class."""
    rng = np.random.default_rng(0)
    for split, count in counts.items():
        for name in classes:
            for i in range(count):
                write_jpeg(root / split / name / f"{name}.{i}.jpg", rng, size)
    return root


def write_oxford_pets(root: Path, n_trainval: int = 6, n_test: int = 4, size=(20, 24)) -> Path:
    """root/oxford-iiit-pet/{images, annotations/{trainval,test}.txt, annotations/trimaps} (species 1 cat, 2 dog)."""
    base = root / "oxford-iiit-pet"
    (base / "annotations" / "trimaps").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    breeds = [("Abyssinian", 1, 1), ("beagle", 2, 2)]  # (breed, class id, species)
    for split, count in (("trainval", n_trainval), ("test", n_test)):
        lines = []
        for i in range(count):
            breed, class_id, species = breeds[i % 2]
            image_id = f"{breed}_{split}{i}"
            write_jpeg(base / "images" / f"{image_id}.jpg", rng, size)
            lines.append(f"{image_id} {class_id} {species} 1")
        (base / "annotations" / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return root

"""Readers for the standard on-disk formats: IDX (MNIST family), CIFAR-10 python pickles, image files.

Each reader checks what it reads and names the file in an NnxError when the file is truncated or corrupt.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np

from nnx.errors import NnxError

IDX_DTYPES = {0x08: np.uint8}  # the MNIST family only uses unsigned bytes


def corrupt(path: Path, why: str) -> NnxError:
    return NnxError(f"{path}: truncated or corrupt ({why})",
                    fix="replace it with a good copy (a downloadable data set: delete it, then data.download=true)")


def read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it ends in .gz."""
    try:
        return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise corrupt(path, str(err) or type(err).__name__) from None


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (big-endian header: 0, 0, dtype code, number of dims, then one uint32 per dim)."""
    data = read_bytes(path)
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in IDX_DTYPES:
        raise corrupt(path, "not an IDX file of unsigned bytes")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise corrupt(path, "header cut short")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape))
    if len(data) - header != expected:
        raise corrupt(path, f"header says {'x'.join(map(str, shape))} = {expected} bytes, found {len(data) - header}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()  # writable, for torch


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: images N x 3 x 32 x 32 uint8, labels N int64."""
    try:
        with path.open("rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
        data, labels = batch[b"data"], batch[b"labels"]
        images = np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32)
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, ValueError) as err:
        raise corrupt(path, str(err) or type(err).__name__) from None
    if len(images) != len(labels):
        raise corrupt(path, f"{len(images)} images but {len(labels)} labels")
    return images, np.asarray(labels, dtype=np.int64)


def read_cifar_meta(path: Path) -> list[str]:
    try:
        with path.open("rb") as handle:
            return [name.decode() for name in pickle.load(handle, encoding="bytes")[b"label_names"]]
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, AttributeError) as err:
        raise corrupt(path, str(err) or type(err).__name__) from None


def read_image(path: str | Path, size: tuple[int, int] | None) -> np.ndarray:
    """An image file as C x H x W uint8 RGB, resized to `size` (H, W) when given."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            if size is not None and image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            return np.asarray(image, dtype=np.uint8).transpose(2, 0, 1).copy()
    except (OSError, UnidentifiedImageError, SyntaxError) as err:
        raise corrupt(Path(path), str(err) or type(err).__name__) from None


def read_images(paths: list[str | Path], size: tuple[int, int] | None) -> list[np.ndarray]:
    """`read_image` over many files, in threads (PIL releases the GIL while decoding)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda path: read_image(path, size), paths))


def image_size_of(path: str | Path) -> tuple[int, int]:
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.size[1], image.size[0]
    except OSError as err:
        raise corrupt(Path(path), str(err)) from None

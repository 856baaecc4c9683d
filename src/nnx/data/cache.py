"""A cache of decoded data sets: tensors saved once under the cache dir, keyed by the source files' fingerprints.

The second load of a data set reads one `.pt` file instead of decoding gzip, pickles or thousands of JPEGs.
A cache file that cannot be read is rebuilt; a cache dir that cannot be written only costs the speed-up.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Callable

from nnx.fileio import atomic_path

log = logging.getLogger("nnx")


def cache_root(cache_dir: str | None) -> Path:
    return Path(cache_dir or os.environ.get("NNX_CACHE_DIR") or "~/.cache/nnx").expanduser()


def fingerprint(key: str, files: list[Path]) -> str:
    digest = hashlib.sha1(key.encode())
    for path in files:
        stat = Path(path).stat()
        digest.update(f"{Path(path).resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def cached(cache_dir: str | None, name: str, key: str, files: list[Path], build: Callable[[], dict]) -> dict:
    """`build()` (a dict of tensors, lists, numbers), or the copy saved by an earlier call with the same files."""
    import torch

    start = time.perf_counter()
    path = cache_root(cache_dir) / f"{name}-{fingerprint(key, files)}.pt"
    if path.is_file():
        try:
            data = torch.load(path, weights_only=True)
            log.info("%s: read the decoded cache %s in %.1f s", name, path, time.perf_counter() - start)
            return data
        except Exception as err:  # a half-written or foreign file: decode again
            log.warning("ignoring unreadable cache %s (%s)", path, err)
    data = build()
    log.info("%s: decoded %d source file(s) in %.1f s (cached for next time)", name, len(files),
             time.perf_counter() - start)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:  # concurrent sweep jobs never read half a file
            torch.save(data, tmp)
    except OSError as err:
        log.warning("cannot cache %s under %s (%s)", name, path.parent, err)
    return data

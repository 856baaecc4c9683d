"""Atomic file writes: a reader (or a concurrent sweep job) never sees half a file."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: Path):
    """A temporary path beside `path` (same suffix, so savefig knows the format) to write to; it replaces `path`
    when the block ends, or is removed when the block fails.

        with atomic_path(out) as tmp:
            torch.save(state, tmp)
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(path: Path, data: dict) -> None:
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")

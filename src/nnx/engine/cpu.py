"""CPU settings for a block of work: torch's thread count (`cpu_threads`, set by the runner around every run) and
subnormal floats flushed to zero (the experiments whose training meets them).

Threads: small layers run fastest on one thread, since their work per call is too little to share, and on a busy
2-core machine two threads spin against the other processes (measured here: a kd teacher step 0.17 s on one thread,
1.3 s on two; a dac epoch of 10,000 images 0.65 s against 11 s), so those experiments' YAML sets `cpu_threads: 1`.
"""

from __future__ import annotations

import contextlib

import torch

from nnx.errors import NnxError


def check_threads(threads: int | None) -> None:
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 0):
        raise NnxError(f"cpu_threads={threads!r} must be a count >= 0 (0 or null: torch's default)",
                       fix="e.g. cpu_threads=1")


@contextlib.contextmanager
def torch_threads(device: str, threads: int | None):
    """On `device == "cpu"`: `threads` torch threads for the block (0 or None: leave torch's count), restored after."""
    check_threads(threads)
    before = torch.get_num_threads()
    if device == "cpu" and threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def flush_subnormals(device: str):
    """On `device == "cpu"`: subnormal floats flushed to zero for the block, restored afterwards; elsewhere nothing.

    An L2 term and Adam's decaying moments drive weights of always-blank pixels and dead units below 1.2e-38, where
    x86 arithmetic is ~10x slower (a dac Fashion-MNIST epoch went from 11 s to 140 s after 7 epochs). Flushing them
    to zero changes nothing else. (The thread count is the runner's: `cpu_threads`, through `torch_threads`.)"""
    flushing = device == "cpu" and torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if flushing:
            torch.set_flush_denormal(False)

"""Start-up: `nnx list` never imports torch, so it answers far faster than anything that does."""

from __future__ import annotations

import subprocess
import sys
import time


def best_of(command: list[str], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    listing = best_of([sys.executable, "-m", "nnx.cli", "list"])
    torch_import = best_of([sys.executable, "-c", "import torch"])
    print("startup")
    print(f"  nnx list                 {listing:6.3f} s")
    print(f"  python -c 'import torch' {torch_import:6.3f} s")
    print(f"  ratio import-torch / nnx-list: {torch_import / listing:.1f}x")

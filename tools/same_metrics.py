"""Same seed, same metrics: every experiment's smoke metrics, timings aside, recorded before a refactor and checked
after it (a refactor changes no number).

    python tools/same_metrics.py record tools/smoke_metrics.json   # runs `nnx reproduce --smoke` (minutes)
    python tools/same_metrics.py check tools/smoke_metrics.json    # runs it again; prints every difference, exit 1

Experiments whose data is missing (fashion_overfit, cifar_cnn_sweep, transfer_catsdogs need `make data`) are
left out of a recording, and a check compares only what both runs have. Float values must be equal to 1e-9 relative.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

TIMING = ("duration_s", "train_s", "seconds", "seconds_per_epoch", "feature_seconds")
SKIPPED = ("git_commit", "device")


def is_timing(key: str) -> bool:
    return key.rsplit("/", 1)[-1] in TIMING


def smoke_metrics() -> dict[str, dict]:
    """`<experiment>/<job>` -> that job's metrics.json without timings, from a fresh `nnx reproduce --smoke`."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "nnx.cli", "reproduce", "--smoke", "--out", out], check=False)
        found = {}
        for path in sorted(Path(out).glob("*/*/metrics.json")):
            metrics = json.loads(path.read_text())
            if metrics.get("status") == "ok":
                found[f"{path.parent.parent.name}/{path.parent.name}"] = {
                    k: v for k, v in metrics.items() if not is_timing(k) and k not in SKIPPED}
        return found


def differences(before: dict, after: dict) -> list[str]:
    lines = []
    for job in sorted(before.keys() & after.keys()):
        for key in sorted(before[job].keys() | after[job].keys()):
            a, b = before[job].get(key), after[job].get(key)
            same = (math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) if isinstance(a, float) and isinstance(b, float)
                    else a == b)
            if not same:
                lines.append(f"{job} {key}: {a} -> {b}")
    lines += [f"{job}: only before" for job in sorted(before.keys() - after.keys())]
    return lines + [f"{job}: only after" for job in sorted(after.keys() - before.keys())]


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("record", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, path = argv[0], Path(argv[1])
    now = smoke_metrics()
    if mode == "record":
        path.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"recorded {len(now)} smoke jobs in {path}")
        return 0
    found = differences(json.loads(path.read_text()), now)
    print("\n".join(found) or f"same metrics in all {len(now)} smoke jobs")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Same seed, same metrics: every experiment's smoke metrics, timings aside, recorded before a refactor and checked
after it (a refactor changes no number).

    python tools/same_metrics.py record tools/smoke_metrics.json   # runs `nnx reproduce --smoke` (minutes)
    python tools/same_metrics.py check tools/smoke_metrics.json    # runs it again; prints every difference, exit 1

Experiments whose data is missing (fashion_overfit, cifar_cnn_sweep, transfer_catsdogs need `make data`) are
left out of a recording, and a check compares only what both runs have (a job only the new run has, such as a
seed added to `nnx reproduce`, is listed and is no difference). Float values must be equal to 1e-9 relative.
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


def same_values(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def same_job(before: dict, after: dict) -> bool:
    """Equal on every metric `before` had (a metric added since, such as a new figure's number, is no change)."""
    return all(same_values(value, after.get(key)) for key, value in before.items())


def differences(before: dict, after: dict) -> list[str]:
    """Jobs are matched by their numbers within each experiment, not by job index, so a variant added to a sweep
    (which renumbers the jobs after it) shows as one new job, not as changes to all the others."""
    lines, unmatched_before = [], dict(before)
    new_jobs = []
    for job, metrics in sorted(after.items()):
        experiment = job.split("/")[0]
        match = next((old for old, m in unmatched_before.items()
                      if old.split("/")[0] == experiment and same_job(m, metrics)), None)
        if match is None:
            new_jobs.append(job)
        else:
            del unmatched_before[match]
    for job in new_jobs:  # closest earlier job of the same index, for a readable diff
        old = unmatched_before.get(job)
        if old is None:
            lines.append(f"{job}: only after")
            continue
        for key in sorted(old):
            if not same_values(old[key], after[job].get(key)):
                lines.append(f"{job} {key}: {old[key]} -> {after[job].get(key)}")
    matched_new = {job for job in new_jobs if job in unmatched_before}
    return lines + [f"{job}: only before" for job in sorted(unmatched_before) if job not in matched_new]


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
    changed = [line for line in found if not line.endswith(": only after")]  # a job added since is no change
    print("\n".join(found))
    print(f"{len(changed)} difference(s)" if changed else
          f"same metrics in all {len(now) - (len(found) - len(changed))} smoke jobs both runs have")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

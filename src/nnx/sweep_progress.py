"""One overall line for a whole sweep on a terminal: job k of N, how many ok / failed / diverged, time so far.

It watches the sweep folder's metrics.json files from a thread of the launching process, so jobs that run in other
processes (joblib, submitit, SLURM) count alike. A line is printed each time a job ends, on a terminal only: logs
and CI stay quiet (each job's own epoch bar is unchanged).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

POLL_S = 1.0


def planned_jobs(config: DictConfig) -> int | None:
    """How many jobs the sweep will launch: an Optuna search's n_trials, or the basic sweeper's grid size."""
    sweeper = config.hydra.sweeper
    if "optuna" in str(sweeper.get("_target_", "")).lower():
        return int(sweeper.n_trials)
    try:
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
        from hydra.core.override_parser.overrides_parser import OverridesParser

        params = sweeper.get("params")
        params = OmegaConf.to_container(params, resolve=False) if isinstance(params, DictConfig) else {}
        overrides = [f"{key}={value}" for key, value in params.items()] + list(config.hydra.overrides.task)
        parsed = OverridesParser.create().parse_overrides(overrides)
        return len(BasicSweeper.split_arguments(parsed, None)[0])
    except Exception:  # an unusual sweeper: the line says "job k" without "of N"
        return None


def count_statuses(sweep_dir: Path, since: float) -> dict[str, int]:
    """Jobs that have ended, by status: those ended since `since`, and a resumed sweep's kept (ok) ones."""
    counts: dict[str, int] = {}
    for path in sweep_dir.glob("*/metrics.json"):
        try:
            earlier = path.stat().st_mtime < since
            status = json.loads(path.read_text()).get("status", "?")
        except (OSError, ValueError):
            continue  # being written right now: the next poll reads it
        if earlier and status != "ok":
            continue  # an earlier failure that a resumed sweep runs again
        counts[status] = counts.get(status, 0) + 1
    return counts


def progress_line(counts: dict[str, int], total: int | None, elapsed: float) -> str:
    done = sum(counts.values())
    others = sum(n for status, n in counts.items() if status not in ("ok", "failed", "diverged"))
    minutes, seconds = divmod(int(elapsed), 60)
    parts = [f"sweep: {done} of {total} jobs done" if total else f"sweep: {done} jobs done",
             f"{counts.get('ok', 0)} ok", f"{counts.get('failed', 0)} failed", f"{counts.get('diverged', 0)} diverged"]
    if others:
        parts.append(f"{others} interrupted")
    return " | ".join(parts) + f" | {minutes} min {seconds:02d} s"


def on_terminal() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


class SweepProgress:
    def __init__(self, sweep_dir: Path, total: int | None, stream=None):
        self.sweep_dir, self.total, self.stream = sweep_dir, total, stream or sys.stderr
        self.start = time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="nnx-sweep-progress", daemon=True)
        self._last: dict[str, int] = {}

    def begin(self) -> SweepProgress:
        self._thread.start()
        return self

    def poll(self) -> None:
        counts = count_statuses(self.sweep_dir, self.start)
        if counts != self._last:
            self._last = counts
            print(progress_line(counts, self.total, time.time() - self.start), file=self.stream, flush=True)

    def _watch(self) -> None:
        while not self._stop.wait(POLL_S):
            self.poll()

    def end(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.poll()

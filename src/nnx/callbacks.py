"""Hydra callback that keeps a sweep's summary.csv / summary.md up to date, for every launcher and sweeper.

It reads each job's files from disk, so jobs run in other processes (joblib, submitit) are summarised alike, and
a resumed sweep lists its kept jobs beside the re-run ones. After an Optuna search it adds the best parameters.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from nnx.errors import NnxError

log = logging.getLogger("nnx")

SWEEP_DIR_ENV = "NNX_SWEEP_DIR_FILE"  # a file the CLI names; the callback writes the sweep's folder into it


class SweepSummary(Callback):
    """Also shows the sweep's overall progress on a terminal (nnx.sweep_progress)."""

    progress = None

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        from nnx import sweep_progress, sweep_resume

        sweep = Path(config.hydra.sweep.dir)
        sweep_resume.mark_running(sweep)  # until the CLI's Hydra call returns (cli.cmd_run)
        if os.environ.get(SWEEP_DIR_ENV):
            Path(os.environ[SWEEP_DIR_ENV]).write_text(str(sweep.resolve()))
        if sweep_progress.on_terminal():
            self.progress = sweep_progress.SweepProgress(sweep, sweep_progress.planned_jobs(config)).begin()

    def on_job_end(self, config: DictConfig, job_return, **kwargs) -> None:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        if HydraConfig.get().mode == RunMode.MULTIRUN:
            self.write(Path(config.hydra.sweep.dir), final=False)

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        if self.progress is not None:
            self.progress.end()
        self.write(Path(config.hydra.sweep.dir), final=True)

    def write(self, sweep_dir: Path, final: bool) -> None:
        from nnx.report.summary import collect
        from nnx.sweeps import write_sweep_summary

        if not sweep_dir.is_dir():
            return
        try:
            out = write_sweep_summary(sweep_dir)
        except Exception as err:  # a summary problem must never cost the sweep its results
            log.warning("could not write the sweep summary: %s", err, exc_info=not isinstance(err, NnxError))
            return
        if final:
            log.info("sweep summary: %s (%d jobs, %d did not finish)", out, len(collect(sweep_dir)[0]),
                     len(unfinished_jobs(sweep_dir)))


def unfinished_jobs(sweep_dir: Path) -> list[str]:
    """The sweep's jobs that did not finish, read from disk: a status other than ok or diverged, or no folder at all
    (a job a cluster cancelled before it started), numbered as the sweep numbers them."""
    from nnx.report.summary import collect, planned_jobs

    rows = collect(sweep_dir)[0]
    bad = {row["job"] for row in rows if row.get("status") not in ("ok", "diverged")}
    never = {str(n) for n in range(planned_jobs(sweep_dir) or 0)} - {row["job"] for row in rows}
    return sorted(bad | never, key=lambda job: (len(job), job))


@contextlib.contextmanager
def sweep_dir_channel():
    """Around a Hydra call from the CLI: yields a function that returns the sweep's folder once it has started
    (None before, or for a single run). The callback writes it to a file whose name the environment carries."""
    handle, name = tempfile.mkstemp(prefix="nnx-sweep-")
    os.close(handle)
    os.environ[SWEEP_DIR_ENV] = name
    try:
        yield lambda: Path(text) if (text := Path(name).read_text().strip()) else None
    finally:
        os.environ.pop(SWEEP_DIR_ENV, None)
        Path(name).unlink(missing_ok=True)

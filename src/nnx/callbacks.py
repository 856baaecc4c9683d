"""Hydra callback that keeps a sweep's summary.csv / summary.md up to date, for every launcher and sweeper.

It reads each job's files from disk, so jobs run in other processes (joblib, submitit) are summarised alike, and
a resumed sweep lists its kept jobs beside the re-run ones. After an Optuna search it adds the best parameters.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from nnx.errors import NnxError

log = logging.getLogger("nnx")

# Set after a multirun: how many jobs did not finish (read by the CLI to choose its exit code).
FAILED_JOBS: list[str] = []
SWEEP_DIR: list[Path] = []  # the running sweep's folder (the CLI rewrites its summary after a Ctrl-C)
UNFINISHED_JOBS: list[str] = []  # jobs a cluster ended without a result (cancelled, killed): set by the SLURM launcher


class SweepSummary(Callback):
    """Also shows the sweep's overall progress on a terminal (nnx.sweep_progress)."""

    progress = None

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        from nnx import sweep_progress

        SWEEP_DIR[:] = [Path(config.hydra.sweep.dir)]
        UNFINISHED_JOBS.clear()
        if sweep_progress.on_terminal():
            total = sweep_progress.planned_jobs(config)
            self.progress = sweep_progress.SweepProgress(Path(config.hydra.sweep.dir), total).begin()

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
            rows = collect(sweep_dir)[0]
            FAILED_JOBS[:] = [r["job"] for r in rows if r.get("status") not in ("ok", "diverged")]
            log.info("sweep summary: %s (%d jobs, %d failed)", out, len(rows), len(FAILED_JOBS))


def write_summary_after_interrupt() -> None:
    """The running sweep's summary as Ctrl-C left it (parallel workers may each have written an older one)."""
    if SWEEP_DIR:
        SweepSummary().write(SWEEP_DIR[0], final=False)

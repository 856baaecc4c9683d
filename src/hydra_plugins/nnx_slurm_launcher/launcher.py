"""`NnxSlurmLauncher`: hydra-submitit-launcher's SlurmLauncher with three changes, all on the submitting side.

1. Job states without accounting. submitit reads job states from `sacct`; where accounting is off that fails, every
   job stays UNKNOWN (= running) and a cancelled job that wrote no result is waited on until Ctrl-C, with a warning
   per poll, printed three times. `QueueWatcher` tries `sacct` once; where it fails it says so once and reads
   `squeue` instead: a job that has left the queue is over. It polls at least every POLL_S seconds (submitit: 600).
2. A job that ends without a result (scancel, a node failure, the time limit) no longer aborts the sweep: its result
   is the status `missing`, the other jobs are collected and summarised, and the CLI names the unfinished jobs
   (read from the sweep folder: `nnx.callbacks.unfinished_jobs`) with the `resume_sweep` command that completes them.
3. `sbatch` refusing the request is one message that names the setting to change, exit 2.

Hydra's `launch` submits and collects in one piece of code with no hook, so submitit's job class is patched for the
duration of `launch` only.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import typing as tp

from hydra.core.utils import JobReturn, JobStatus
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher

log = logging.getLogger("nnx")
POLL_S = 20  # the longest wait between two job-state queries
GONE = "LEFT_QUEUE"  # the state of a job squeue no longer lists: over, however it ended
STUCK = {  # pending reasons that no amount of waiting fixes, with the fix
    "PartitionConfig": "the partition cannot give what the launcher asks for; scancel it and lower "
                       "hydra.launcher.cpus_per_task, mem_gb or gpus_per_node (see `sinfo -N -l`)",
    "PartitionNodeLimit": "more nodes than the partition allows; scancel it and lower hydra.launcher.nodes",
    "PartitionTimeLimit": "a longer time limit than the partition allows; scancel it and lower "
                          "hydra.launcher.timeout_min",
}

# (what sbatch says, what it means, the fix)
REJECTIONS = (
    ("gres", "no node has the GPUs the launcher asks for",
     "on nodes without GPUs use hydra/launcher=slurm_cpu (or hydra.launcher.gpus_per_node=0)"),
    ("node configuration is not available", "no node has the CPUs, memory or GPUs the launcher asks for",
     "lower hydra.launcher.cpus_per_task, hydra.launcher.mem_gb or hydra.launcher.gpus_per_node (see `sinfo -N -l`)"),
    ("partition", "the cluster has no such partition, or it is not open to you",
     "set NNX_SLURM_PARTITION or hydra.launcher.partition to one that `sinfo` lists"),
    ("account", "the cluster does not accept that account",
     "set NNX_SLURM_ACCOUNT or hydra.launcher.account to one of yours (`sacctmgr show assoc user=$USER`)"),
    ("time limit", "the time limit is above the partition's", "lower hydra.launcher.timeout_min"),
)


def rejection_message(stderr: str) -> tuple[str, str]:
    """sbatch's error text -> (the message, the fix)."""
    said = " ".join(line.strip() for line in stderr.strip().splitlines()[-3:])
    for needle, meaning, fix in REJECTIONS:
        if needle in said.lower():
            return f"sbatch refused the sweep: {meaning} ({said})", fix
    return f"sbatch refused the sweep ({said or 'no message'})", "check the hydra.launcher.* settings against `sinfo`"


def accounting_error() -> str | None:
    """None when `sacct` answers here; otherwise what it said."""
    try:
        done = subprocess.run(["sacct", "--noheader", "--jobs", "0"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return str(err)
    return None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["exit code"])[-1]


def queue_watcher_class():
    from submitit.slurm.slurm import SlurmInfoWatcher

    class QueueWatcher(SlurmInfoWatcher):
        """submitit's watcher, reading `squeue` where `sacct` does not answer (see the module's docstring)."""

        def __init__(self, delay_s: int) -> None:
            super().__init__(delay_s)
            self.accounting: bool | None = None  # unknown until the first query
            self.told: set[str] = set()  # the pending reasons already reported

        def _make_command(self) -> tp.Optional[tp.List[str]]:
            if self.accounting is None:
                problem = accounting_error()
                self.accounting = problem is None
                if problem:
                    log.warning("SLURM accounting does not answer here (sacct: %s): job states come from squeue",
                                problem)
            if self.accounting:
                return super()._make_command()
            if not self._registered - self._finished:
                return None
            return ["squeue", "--noheader", "--array", "--states=all", "--format=%i|%T|%r"]  # all: gone ids fail -j

        def read_info(self, string: tp.Union[bytes, str]) -> tp.Dict[str, tp.Dict[str, str]]:
            if self.accounting:
                return super().read_info(string)
            text = string.decode() if isinstance(string, bytes) else string
            listed = {job: rest for job, *rest in (line.split("|") for line in text.splitlines()) if len(rest) == 2}
            for job, (state, reason) in listed.items():
                if job in self._registered and state == "PENDING" and reason in STUCK and reason not in self.told:
                    self.told.add(reason)
                    log.warning("SLURM job %s pends with reason %s: %s", job, reason, STUCK[reason])
            return {job: {"State": listed.get(job, [GONE])[0]} for job in self._registered}

    return QueueWatcher


@contextlib.contextmanager
def patched(owner: type, name: str, value):
    """`owner.name = value` inside the block; afterwards the class is as it was (an inherited name inherited again)."""
    own = name in owner.__dict__
    saved = owner.__dict__.get(name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        if own:
            setattr(owner, name, saved)
        else:
            delattr(owner, name)


class NnxSlurmLauncher(SlurmLauncher):
    def launch(self, job_overrides: tp.Sequence[tp.Sequence[str]], initial_job_idx: int) -> tp.Sequence[JobReturn]:
        from submitit.core.utils import FailedJobError, UncompletedJobError
        from submitit.slurm.slurm import SlurmJob

        from nnx import console

        results = SlurmJob.results

        def result_or_missing(job) -> list:
            try:
                return results(job)
            except UncompletedJobError:  # cancelled, killed or lost: no result file
                number = initial_job_idx + int(job.job_id.partition("_")[2] or 0)  # array job 7_1: the sweep's 2nd
                state = job.watcher.get_state(job.job_id, mode="cache")
                how = "it left the queue (cancelled, killed or lost)" if state == GONE else f"SLURM state {state}"
                log.warning("sweep job %d (SLURM job %s) ended without a result: %s", number, job.job_id, how)
                return [JobReturn(status=JobStatus.COMPLETED, _return_value="missing")]

        with patched(SlurmJob, "watcher", queue_watcher_class()(delay_s=POLL_S)), \
                patched(SlurmJob, "results", result_or_missing):
            try:
                return super().launch(job_overrides, initial_job_idx)
            except FailedJobError as err:  # raised by the submission: every result is caught above
                message, fix = rejection_message(str(err))
                console.error(f"{message}\n  fix: {fix}")
                sys.exit(2)

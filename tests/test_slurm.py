"""Sweeps through a real SLURM cluster (`hydra/launcher=slurm_cpu`): `.ci/run` starts a one-node cluster from
Debian's packages (`.ci/slurm-cluster`); elsewhere these tests skip unless `sbatch` reaches a cluster."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import ROOT, summary_rows


def cluster_up() -> bool:
    if not (shutil.which("sbatch") and shutil.which("sinfo")):
        return False
    try:
        nodes = subprocess.run(["sinfo", "--noheader", "--format=%T"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return False
    return nodes.returncode == 0 and any(s.strip("*~#") in ("idle", "mixed", "allocated") for s in nodes.stdout.split())


pytestmark = pytest.mark.skipif(not cluster_up(), reason="no SLURM cluster answers here (.ci/slurm-cluster starts one)")

SMALL = ["experiment=madaline_moons", "smoke=true", "hydra/launcher=slurm_cpu", "device=cpu",
         "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1", "hydra.launcher.timeout_min=10"]


def nnx(*args: str) -> list[str]:
    return [sys.executable, "-m", "nnx.cli", *args]


def run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(nnx(*args), capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env=os.environ | {"HYDRA_FULL_ERROR": "0"})


def no_noise(output: str) -> None:
    assert "Traceback" not in output and "Bypassing sacct" not in output
    assert output.count("SLURM accounting does not answer") <= 1  # said once, not per poll


def test_a_sweep_runs_on_the_cluster_and_a_job_that_raises_is_failed(tmp_path):
    sweep = tmp_path / "sweep"
    result = run("run", "-m", *SMALL, "model.hidden=3,-1,5", f"hydra.sweep.dir={sweep}")
    assert result.returncode == 1, result.stderr[-2000:]
    rows = summary_rows(sweep)
    assert [r["status"] for r in rows] == ["ok", "failed", "ok"]
    assert "hidden" in rows[1]["error"]
    assert "1 sweep job(s) did not finish: 1" in result.stderr and f"resume_sweep={sweep}" in result.stderr
    assert list((sweep / ".submitit").iterdir()), "the jobs ran through sbatch"
    no_noise(result.stdout + result.stderr)


def test_a_cancelled_job_ends_the_wait_and_resume_sweep_completes_it(tmp_path):
    sweep = tmp_path / "sweep"
    # One job at a time: job 1 waits in the queue while job 0 runs, and is cancelled there.
    sweeping = subprocess.Popen(nnx("run", "-m", *SMALL, "model.hidden=3,5", "hydra.launcher.array_parallelism=1",
                                    f"hydra.sweep.dir={sweep}"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, cwd=ROOT)
    job_name, cancelled, deadline = "madaline_moons", None, time.time() + 60
    while cancelled is None and time.time() < deadline:
        queue = subprocess.run(["squeue", "--noheader", "--array", "--format=%i|%j|%o"], capture_output=True,
                               text=True).stdout.splitlines()
        ours = [line.split("|")[0] for line in queue if job_name in line and str(sweep) in line]
        cancelled = next((job for job in ours if job.endswith("_1")), None)
        time.sleep(0.1)
    assert cancelled, "the sweep's array job never showed in squeue"
    subprocess.run(["scancel", cancelled], check=True)
    start = time.time()
    stdout, stderr = sweeping.communicate(timeout=180)
    assert time.time() - start < 120, "the wait after scancel is bounded"  # accounting off: squeue says it is gone
    assert sweeping.returncode == 1, stderr[-2000:]
    assert "1 sweep job(s) did not finish: 1" in stderr and "ended without a result" in stdout + stderr
    assert [r["status"] for r in summary_rows(sweep)] == ["ok"]
    assert "1 not run" in (sweep / "summary.md").read_text()
    no_noise(stdout + stderr)

    resumed = run("run", f"resume_sweep={sweep}")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert [r["status"] for r in summary_rows(sweep)] == ["ok", "ok"]


def test_asking_a_cluster_without_gpus_for_one_is_one_message_naming_the_fix(tmp_path):
    gres = subprocess.run(["sinfo", "--noheader", "--format=%G"], capture_output=True, text=True).stdout
    if "gpu" in gres:
        pytest.skip("this cluster has GPUs")
    result = run("run", "-m", "experiment=madaline_moons", "smoke=true", "model.hidden=3,5", "hydra/launcher=slurm",
                 f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert result.returncode == 2
    assert "sbatch refused the sweep" in result.stderr and "hydra/launcher=slurm_cpu" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) < 12

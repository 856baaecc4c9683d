"""Resuming a sweep (`nnx run resume_sweep=PATH`): the earlier command rebuilt, job folders renumbered to the new
grid, finished jobs kept, stopped ones continued, and no earlier file ever written over."""

import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from omegaconf import OmegaConf

from conftest import ROOT, summary_rows
from nnx import sweep_resume
from nnx.errors import NnxError
from nnx.overrides import sweep_grid, task_overrides

MCP = "experiment=mcp_seven_segment"
MODELS = "model=mcp_single,mcp_two_layer"


# --- units ----------------------------------------------------------------------------------------------------------

def earlier_job(job_dir, status="ok", config=None, files=()):
    """A job folder as an earlier sweep left it: metrics.json (none for status=killed), config.yaml, other files."""
    (job_dir / ".hydra").mkdir(parents=True)
    (job_dir / ".hydra" / "config.yaml").write_text("{}\n")
    if status != "killed":
        (job_dir / "metrics.json").write_text(json.dumps({"status": status}))
    if config is not None:
        (job_dir / "config.yaml").write_text(OmegaConf.to_yaml(config))
    for name in files:
        (job_dir / name).write_text("")
    return job_dir


def test_plan_keeps_ok_jobs_continues_stopped_ones_and_sets_the_rest_aside(tmp_path):
    now = {"name": "x", "seed": 1, "trainer": {"epochs": 2}}  # as `comparable` gives it
    then = {**now, "paths": {"output_dir": "elsewhere"}, "device": "cuda:3"}  # where it ran does not count
    continued = {**then, "trainer": {"epochs": 2, "resume": "/runs/x/1"}}    # nor where it continued from
    plan = sweep_resume.plan
    assert plan(tmp_path / "never_ran", now)[0] == "run"
    assert plan(earlier_job(tmp_path / "hydra_only", status="killed"), now)[0] == "run"
    assert plan(earlier_job(tmp_path / "ok", config=then), now) == ("keep", "kept from the earlier sweep")
    assert plan(earlier_job(tmp_path / "ok_continued", config=continued), now)[0] == "keep"
    assert plan(earlier_job(tmp_path / "epochs", config={**then, "trainer": {"epochs": 3}}), now) == (
        "set aside", "ok, its config changed: trainer.epochs")
    for status in ("interrupted", "killed"):
        stopped = earlier_job(tmp_path / status, status, config=then, files=["teacher_last.pt"])
        assert plan(stopped, now) == ("continue", f"{status}: continues from its last checkpoint")
        no_checkpoint = earlier_job(tmp_path / f"{status}_early", status, config=then)
        assert plan(no_checkpoint, now) == ("set aside", status)
    for status in ("failed", "diverged"):
        assert plan(earlier_job(tmp_path / status, status, config=then, files=["last.pt"]), now) == (
            "set aside", status)
    untrained = {key: value for key, value in now.items() if key != "trainer"}  # no trainer.resume to continue with
    assert plan(earlier_job(tmp_path / "mcp", "interrupted", config=untrained, files=["last.pt"]), untrained)[0] == \
        "set aside"


def test_a_sweep_still_running_is_not_resumed(tmp_path):
    import socket

    marker = tmp_path / sweep_resume.RUNNING
    sweep_resume.check_not_running(tmp_path)  # no marker: never ran, or ended
    marker.write_text(f"{socket.gethostname()} {os.getpid()}")  # this very process: alive
    with pytest.raises(NnxError, match="still running") as err:
        sweep_resume.check_not_running(tmp_path)
    assert str(marker) in err.value.fix
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    marker.write_text(f"{socket.gethostname()} {dead.pid}")  # killed before it could remove its marker: stale
    sweep_resume.check_not_running(tmp_path)
    marker.write_text("another-host 1")  # cannot be checked from here: refused, with the way out
    with pytest.raises(NnxError, match="process 1 on another-host"):
        sweep_resume.check_not_running(tmp_path)


def test_config_changes_name_every_key_that_differs():
    earlier = {"a": 1, "b": {"c": 2, "d": [1, 2]}, "gone": 0}
    now = {"a": 1, "b": {"c": 3, "d": [1, 2], "new": None}, "e": {"f": 1}}
    assert sweep_resume.config_changes(earlier, now) == ["b.c", "b.new", "e", "gone"]
    assert sweep_resume.config_changes(now, now) == []


def test_resume_args_rebuild_the_earlier_command(tmp_path):
    saved = {"hydra": {"sweeper": {"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"},
                       "overrides": {"hydra": ["hydra/launcher=joblib", "hydra.mode=MULTIRUN"],
                                     "task": [MCP, "seed=0,1,2"]}}}
    OmegaConf.save(saved, tmp_path / "multirun.yaml")
    args, sweep_dir = sweep_resume.resume_args([f"+resume_sweep={tmp_path}", "seed=0,1,2,3", "hydra/launcher=basic"])
    assert sweep_dir == tmp_path.resolve()
    assert args == ["-m", MCP, "seed=0,1,2,3", "hydra/launcher=basic", f"hydra.sweep.dir={tmp_path.resolve()}"]
    saved["hydra"]["overrides"]["hydra"] += ["hydra/launcher=slurm", "hydra.launcher.gpus_per_node=2"]
    OmegaConf.save(saved, tmp_path / "multirun.yaml")
    args, _ = sweep_resume.resume_args([f"resume_sweep={tmp_path}", "hydra/launcher=basic"])
    assert not any(arg.startswith("hydra.launcher.") for arg in args)  # another launcher: SLURM's settings stay behind
    args, _ = sweep_resume.resume_args([f"resume_sweep={tmp_path}"])
    assert "hydra.launcher.gpus_per_node=2" in args
    assert sweep_resume.resume_args([MCP, "seed=1"]) == ([MCP, "seed=1"], None)
    with pytest.raises(NnxError, match="not a sweep folder"):
        sweep_resume.resume_args([f"resume_sweep={tmp_path / 'nope'}"])
    for damaged, message in (("hydra: [unclosed", "not readable YAML"), ("name: x\n", "has no hydra.overrides")):
        (tmp_path / "multirun.yaml").write_text(damaged)
        with pytest.raises(NnxError, match=message):
            sweep_resume.resume_args([f"resume_sweep={tmp_path}"])
    (tmp_path / sweep_resume.OPTUNA_RESULTS).write_text("name: optuna\n")
    with pytest.raises(NnxError, match="Optuna"):
        sweep_resume.resume_args([f"resume_sweep={tmp_path}"])


def test_sweep_grid_numbers_jobs_as_hydra_does():
    grid = sweep_grid(["-m", MCP, "hydra/launcher=joblib", "seed=0,1", "+model=a,b", "hydra.sweep.dir=x"])
    assert grid == [{"experiment": "mcp_seven_segment", "seed": s, "model": m} for s in "01" for m in "ab"]
    assert len(sweep_grid(["seed=range(3)", "lr=0.1,0.2"])) == 6


def fake_job(sweep_dir, name, overrides):
    job = sweep_dir / name
    (job / ".hydra").mkdir(parents=True)
    OmegaConf.save(overrides, job / ".hydra" / "overrides.yaml")
    (job / "marker").write_text(" ".join(overrides))
    return job


def test_realign_jobs_moves_each_earlier_job_to_its_place_in_the_new_grid(tmp_path):
    for num, (model, seed) in enumerate([("a", 0), ("a", 1), ("b", 0), ("b", 1)]):
        fake_job(tmp_path, str(num), [MCP, f"model={model}", f"seed={seed}"])
    fake_job(tmp_path, "earlier/1", [MCP, "model=c", "seed=1"])  # set aside by an earlier resume
    grid = sweep_grid([MCP, "seed=1,0", "model=b,a,c"])  # reordered, one model more: (c, 1) comes back
    sweep_resume.realign_jobs(tmp_path, grid)
    for num, job in enumerate(grid[:5]):
        assert (tmp_path / str(num) / "marker").read_text() == f"{MCP} model={job['model']} seed={job['seed']}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0", "1", "2", "3", "4"]  # (c, 0) never ran
    sweep_resume.realign_jobs(tmp_path, sweep_grid([MCP, "seed=1", "model=a"]))
    assert (tmp_path / "0" / "marker").read_text() == f"{MCP} model=a seed=1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0", "earlier"]  # nothing left half-way
    assert sorted(p.name for p in (tmp_path / "earlier").iterdir()) == ["0", "2", "3", "4"]
    fake_job(tmp_path, "3", [MCP, "model=d", "seed=0"])
    sweep_resume.realign_jobs(tmp_path, grid)  # set aside under a free name: earlier/3 is taken
    assert (tmp_path / "earlier" / "3_1" / "marker").read_text() == f"{MCP} model=d seed=0"



# --- end to end ---

def test_a_killed_sweep_resumes_and_runs_only_the_rest(cli):
    env = os.environ | {"NNX_OUTPUT_DIR": str(cli.out), "HYDRA_FULL_ERROR": "0"}
    sweep = subprocess.Popen([sys.executable, "-m", "nnx.cli", "run", "-m", MCP, "seed=0,1,2,3"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 60
    while not glob.glob(f"{cli.out}/mcp_seven_segment/multirun/*/0/metrics.json") and time.time() < deadline:
        time.sleep(0.01)
    os.killpg(sweep.pid, signal.SIGKILL)  # as a scheduler or Ctrl-\ would, mid-sweep
    sweep.wait()
    (sweep_dir,) = cli.sweep_dirs("mcp_seven_segment")
    finished = {p.parent.name: p.read_text() for p in sweep_dir.glob("*/metrics.json")}
    assert "0" in finished and len(finished) < 4

    assert (sweep_dir / sweep_resume.RUNNING).is_file()  # left by the killed process, whose pid is gone
    result = cli("run", f"+resume_sweep={sweep_dir}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not (sweep_dir / sweep_resume.RUNNING).exists()  # removed when the resumed sweep ended
    for job, text in finished.items():
        assert (sweep_dir / job / "metrics.json").read_text() == text  # kept, not run again
    rerun = sorted(p.parent.name for p in sweep_dir.glob("*/metrics.json") if p.parent.name not in finished)
    assert rerun == [str(k) for k in range(4) if str(k) not in finished]
    assert result.stdout.count("kept from the earlier sweep") == len(finished)
    rows = summary_rows(sweep_dir)
    assert [r["seed"] for r in rows] == ["0", "1", "2", "3"] and {r["status"] for r in rows} == {"ok"}


def metrics_by_job(sweep_dir) -> dict:
    """Each job's overrides -> its metrics.json (text and mtime): a job kept by a resume keeps both."""
    from nnx.report.run_report import read_overrides

    return {frozenset(task_overrides(read_overrides(p.parent)).items()): (p.read_text(), p.stat().st_mtime_ns)
            for p in sweep_dir.glob("[0-9]*/metrics.json")}


def test_a_resumed_sweep_keeps_its_jobs_when_the_grid_grows_or_is_reordered(cli):
    assert cli("run", "-m", MCP, MODELS, "seed=0,1").returncode == 0
    (sweep_dir,) = cli.sweep_dirs("mcp_seven_segment")
    before = metrics_by_job(sweep_dir)
    result = cli("run", f"resume_sweep={sweep_dir}", "seed=0,1,2")  # jobs 2, 3 become 3, 4: two new ones run
    assert result.returncode == 0, result.stderr[-2000:]
    after = metrics_by_job(sweep_dir)
    assert len(after) == 6 and all(after[job] == before[job] for job in before)
    assert result.stdout.count("kept from the earlier sweep") == 4
    assert [(r["model"], r["seed"]) for r in summary_rows(sweep_dir)] == [
        (model, seed) for model in ("mcp_single", "mcp_two_layer") for seed in "012"]

    result = cli("run", f"resume_sweep={sweep_dir}", "model=mcp_two_layer,mcp_single")  # reordered: all kept
    assert result.returncode == 0 and result.stdout.count("kept from the earlier sweep") == 6
    assert metrics_by_job(sweep_dir) == after
    rows = summary_rows(sweep_dir)
    assert [(r["seed"], r["model"]) for r in rows][:2] == [("0", "mcp_two_layer"), ("0", "mcp_single")]

    typo = cli("run", f"resume_sweep={sweep_dir}", "seed=0,1,2,3", "model=mcp_two_layer,mcp_singel")  # job 4
    assert typo.returncode == 2 and "does not compose" in typo.stderr and "no job folder was moved" in typo.stderr
    assert metrics_by_job(sweep_dir) == after and not (sweep_dir / "earlier").exists()


def test_a_narrowed_resume_sets_the_other_jobs_aside(cli):
    assert cli("run", "-m", MCP, MODELS, "seed=0,-1").returncode == 1  # seed=-1 is no numpy seed: those fail
    (sweep_dir,) = cli.sweep_dirs("mcp_seven_segment")
    result = cli("run", f"resume_sweep={sweep_dir}", "seed=0")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("kept from the earlier sweep") == 2
    assert sorted(p.name for p in (sweep_dir / "earlier").iterdir()) == ["1", "3"]  # moved aside, not deleted
    rows = summary_rows(sweep_dir)
    assert [(r["model"], r["status"]) for r in rows] == [("mcp_single", "ok"), ("mcp_two_layer", "ok")]
    assert "sweep of 2 jobs (2 finished, 0 failed)" in (sweep_dir / "summary.md").read_text()




def files_of(folder) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_job_whose_config_changed_runs_again_beside_its_earlier_result(cli):
    assert cli("run", "-m", MCP, "seed=0,1").returncode == 0
    (sweep_dir,) = cli.sweep_dirs("mcp_seven_segment")
    config = sweep_dir / "0" / "config.yaml"  # as if a default in the code had changed since job 0 ran
    config.write_text(config.read_text().replace("seed: 0", "seed: 0\nthreshold: 0.5"))
    earlier = files_of(sweep_dir / "0")
    result = cli("run", f"resume_sweep={sweep_dir}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "job 0 -> earlier/0 (ok, its config changed: threshold; it runs again)" in result.stderr
    assert files_of(sweep_dir / "earlier" / "0") == earlier  # every file of the earlier result, as it was
    assert "threshold" not in (sweep_dir / "0" / "config.yaml").read_text()
    assert result.stdout.count("kept from the earlier sweep") == 1  # job 1
    assert [(r["seed"], r["status"]) for r in summary_rows(sweep_dir)] == [("0", "ok"), ("1", "ok")]


def test_a_stopped_job_continues_from_its_checkpoint_in_its_own_folder(cli):
    overfit = ["experiment=fashion_overfit", "data=digits", "smoke=true"]
    assert cli("run", "-m", *overfit, "seed=0,1").returncode == 0
    (sweep_dir,) = cli.sweep_dirs("fashion_overfit")
    job = sweep_dir / "1"
    whole = json.loads((job / "metrics.json").read_text())
    (job / "metrics.json").unlink()  # killed after its last checkpoint, before its metrics: it has no epoch left
    result = cli("run", f"resume_sweep={sweep_dir}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "job 1: killed: continues from its last checkpoint" in result.stdout and "resumed from" in result.stdout
    assert "nnx: resume: job 1: killed: continues from its last checkpoint" in result.stderr
    assert not (sweep_dir / "earlier").exists()
    resumed = json.loads((job / "metrics.json").read_text())
    timings = {key for key in whole if key.endswith("_s")}

    def untimed(metrics):
        return {k: v for k, v in metrics.items() if k not in timings}

    assert untimed(resumed) == untimed(whole)
    assert OmegaConf.load(job / "config.yaml").trainer.resume == str(job)
    again = cli("run", f"resume_sweep={sweep_dir}")  # the continued job is a finished job of the same config
    assert again.returncode == 0 and again.stdout.count("kept from the earlier sweep") == 2

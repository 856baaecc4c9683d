"""Sweeps at scale: Hydra's joblib / submitit launchers and Optuna sweeper, resuming a killed sweep."""

import csv
import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from omegaconf import OmegaConf

from conftest import CONF, ROOT
from nnx import sweeps
from nnx.errors import NnxError
from nnx.overrides import sweep_grid, task_overrides

MCP = "experiment=mcp_seven_segment"
MODELS = "model=mcp_single,mcp_two_layer"


# --- units ----------------------------------------------------------------------------------------------------------

def test_parallel_jobs_split_the_cpus_and_gpus():
    joblib = {"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 2}
    assert sweeps.parallel_jobs(joblib, n_cpus=8) == 2 and sweeps.job_threads(joblib, n_cpus=8) == 4
    assert sweeps.parallel_jobs(joblib | {"n_jobs": -1}, n_cpus=8) == 8  # joblib: -1 = every CPU
    assert sweeps.parallel_jobs(joblib | {"n_jobs": -2}, n_cpus=8) == 7
    assert sweeps.job_threads(joblib | {"n_jobs": 16}, n_cpus=8) == 1
    basic = {"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}
    assert sweeps.job_threads(basic, n_cpus=8) is None  # one job at a time keeps torch's default
    slurm = {"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher", "cpus_per_task": 6}
    assert sweeps.job_threads(slurm, n_cpus=64) == 6
    assert [sweeps.job_device("auto", k, n_gpus=3) for k in range(5)] == ["cuda:0", "cuda:1", "cuda:2", "cuda:0",
                                                                        "cuda:1"]
    assert sweeps.job_device("auto", 3, n_gpus=1) == "auto" and sweeps.job_device("cpu", 3, n_gpus=4) == "cpu"


def write_job(job_dir, status="ok", config=None, **metrics):
    job_dir.mkdir(parents=True)
    (job_dir / "metrics.json").write_text(json.dumps({"status": status, **metrics}))
    (job_dir / "config.yaml").write_text(OmegaConf.to_yaml(config or {}))
    return job_dir


def test_objective_reads_metrics_json_and_fails_bad_jobs_softly(tmp_path):
    ok = write_job(tmp_path / "0", acc_test=0.9, **{"net/n_weights": 22})
    assert sweeps.objective(ok, "acc_test") == 0.9
    assert sweeps.objective(ok, "n_weights") == 22.0  # `group/name` found by its name, as primary_metric is
    for status in ("failed", "diverged"):  # not castable to float: Optuna records a FAILED trial
        assert sweeps.objective(write_job(tmp_path / status, status=status, acc_test=0.1), "acc_test") == status
    assert sweeps.objective(write_job(tmp_path / "nan", acc_test="nan"), "acc_test") == "acc_test is nan"
    with pytest.raises(NnxError, match="optimize_metric='test_acc'.*\n.*acc_test, net/n_weights"):
        sweeps.objective(ok, "test_acc")
    # summary.md lists the trials that finished ok yet gave Optuna no number
    assert sweeps.objective_or_reason(ok, "test_acc") == "no test_acc" and sweeps.trial_ok(ok)
    assert not sweeps.trial_ok(tmp_path / "failed") and not sweeps.trial_ok(tmp_path / "never_ran")


def test_finished_earlier_keeps_only_ok_jobs_of_the_same_config(tmp_path):
    cfg = OmegaConf.create({"name": "x", "seed": 1, "smoke": False, "paths": {"output_dir": "here"}})
    moved = {"name": "x", "seed": 1, "smoke": False, "paths": {"output_dir": "elsewhere"}}
    assert sweeps.finished_earlier(cfg, write_job(tmp_path / "ok", config=moved))
    assert not sweeps.finished_earlier(cfg, write_job(tmp_path / "failed", status="failed", config=moved))
    assert not sweeps.finished_earlier(cfg, write_job(tmp_path / "other", config={**moved, "seed": 2}))
    assert not sweeps.finished_earlier(cfg, tmp_path / "never_ran")
    placed = OmegaConf.create({**moved, "device": "auto"})  # the earlier sweep put this job on cuda:3
    assert sweeps.finished_earlier(placed, write_job(tmp_path / "gpu", config={**moved, "device": "cuda:3"}))


def test_resume_args_rebuild_the_earlier_command(tmp_path):
    saved = {"hydra": {"sweeper": {"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"},
                       "overrides": {"hydra": ["hydra/launcher=joblib", "hydra.mode=MULTIRUN"],
                                     "task": [MCP, "seed=0,1,2"]}}}
    OmegaConf.save(saved, tmp_path / "multirun.yaml")
    args, sweep_dir = sweeps.resume_args([f"+resume_sweep={tmp_path}", "seed=0,1,2,3", "hydra/launcher=basic"])
    assert sweep_dir == tmp_path.resolve()
    assert args == ["-m", MCP, "seed=0,1,2,3", "hydra/launcher=basic", f"hydra.sweep.dir={tmp_path.resolve()}"]
    saved["hydra"]["overrides"]["hydra"] += ["hydra/launcher=slurm", "hydra.launcher.gpus_per_node=2"]
    OmegaConf.save(saved, tmp_path / "multirun.yaml")
    args, _ = sweeps.resume_args([f"resume_sweep={tmp_path}", "hydra/launcher=basic"])  # another launcher: SLURM's
    assert not any(arg.startswith("hydra.launcher.") for arg in args)                   # settings stay behind
    args, _ = sweeps.resume_args([f"resume_sweep={tmp_path}"])
    assert "hydra.launcher.gpus_per_node=2" in args
    assert sweeps.resume_args([MCP, "seed=1"]) == ([MCP, "seed=1"], None)
    with pytest.raises(NnxError, match="not a sweep folder"):
        sweeps.resume_args([f"resume_sweep={tmp_path / 'nope'}"])
    for damaged, message in (("hydra: [unclosed", "not readable YAML"), ("name: x\n", "has no hydra.overrides")):
        (tmp_path / "multirun.yaml").write_text(damaged)
        with pytest.raises(NnxError, match=message):
            sweeps.resume_args([f"resume_sweep={tmp_path}"])
    (tmp_path / sweeps.OPTUNA_RESULTS).write_text("name: optuna\n")
    with pytest.raises(NnxError, match="Optuna"):
        sweeps.resume_args([f"resume_sweep={tmp_path}"])


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
    sweeps.realign_jobs(tmp_path, grid)
    for num, job in enumerate(grid[:5]):
        assert (tmp_path / str(num) / "marker").read_text() == f"{MCP} model={job['model']} seed={job['seed']}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0", "1", "2", "3", "4"]  # (c, 0) never ran
    sweeps.realign_jobs(tmp_path, sweep_grid([MCP, "seed=1", "model=a"]))
    assert (tmp_path / "0" / "marker").read_text() == f"{MCP} model=a seed=1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0", "earlier"]  # nothing left half-way
    assert sorted(p.name for p in (tmp_path / "earlier").iterdir()) == ["0", "2", "3", "4"]
    fake_job(tmp_path, "3", [MCP, "model=d", "seed=0"])
    sweeps.realign_jobs(tmp_path, grid)  # set aside under a free name: earlier/3 is taken
    assert (tmp_path / "earlier" / "3_1" / "marker").read_text() == f"{MCP} model=d seed=0"


# --- configs --------------------------------------------------------------------------------------------------------

SEARCHES = sorted(p.stem for p in (CONF / "hparams_search").glob("*.yaml") if p.stem != "optuna")
# searches not named after the experiment they run
SEARCHED = {name: ["experiment=cifar_cnn_sweep", "variant=b_model"] for name in ("cifar_b_model", "cifar_b_model_fine")}


@pytest.mark.parametrize("search", SEARCHES)
def test_search_spaces_name_real_keys(compose, search):
    cfg = compose(*SEARCHED.get(search, [f"experiment={search}"]), f"hparams_search={search}", hydra=True)
    assert "OptunaSweeper" in cfg.hydra.sweeper._target_ and cfg.optimize_metric
    for key in cfg.hydra.sweeper.params:
        assert OmegaConf.select(cfg, key, default="absent") != "absent", key


def test_slurm_launcher_defaults(compose, monkeypatch):
    monkeypatch.setenv("NNX_SLURM_PARTITION", "gpu-long")
    launcher = compose(MCP, "hydra/launcher=slurm", hydra=True).hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher") and launcher.partition == "gpu-long"
    assert launcher.gpus_per_node == 1 and launcher.timeout_min > 0 and launcher.account is None


# --- end to end -----------------------------------------------------------------------------------------------------

def read_rows(sweep_dir) -> list[dict]:
    with open(sweep_dir / "summary.csv") as handle:
        return list(csv.DictReader(handle))


def summary_without_timing(sweep_dir) -> tuple[list[dict], str]:
    rows = [{k: v for k, v in row.items() if k != "duration_s"} for row in read_rows(sweep_dir)]
    table = [line.split("|") for line in (sweep_dir / "summary.md").read_text().splitlines()]
    text = "\n".join("|".join(cell for i, cell in enumerate(line) if i != 4) for line in table)  # 4: duration_s
    return rows, text


def test_joblib_and_submitit_write_the_same_summary_as_the_basic_launcher(cli):
    launchers = (["hydra/launcher=basic"], ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
                 ["hydra/launcher=submitit_local"])
    for launcher in launchers:
        result = cli("run", "-m", MCP, MODELS, *launcher)
        assert result.returncode == 0, (launcher, result.stderr[-2000:])
    basic, joblib, submitit = cli.sweep_dirs("mcp_seven_segment")
    assert [r["status"] for r in summary_without_timing(basic)[0]] == ["ok", "ok"]
    assert summary_without_timing(joblib) == summary_without_timing(basic)
    assert summary_without_timing(submitit) == summary_without_timing(basic)
    assert (submitit / ".submitit").is_dir() and (joblib / "comparison.png").is_file()


def test_optuna_search_writes_its_best_parameters(cli):
    search = ["model=choice(mcp_single,mcp_two_layer,mcp_two_layer_exact)", "seed=choice(0,-1)"]
    result = cli("run", "-m", MCP, "hparams_search=optuna", *search, "optimize_metric=n_nonzero_weights",
                 "hydra.sweeper.direction=minimize", "hydra.sweeper.n_trials=5")
    (sweep,) = cli.sweep_dirs("mcp_seven_segment")
    rows = read_rows(sweep)
    assert len(rows) == 5 and "Traceback" not in result.stderr
    failed = [r for r in rows if r["status"] == "failed"]  # seed=-1 is no numpy seed: the trial fails, the search not
    assert failed and all(r["seed"] == "-1" for r in failed) and result.returncode == 1
    ok = [r for r in rows if r["status"] == "ok"]
    best_row = min(ok, key=lambda r: float(r[f"{r['model']}/n_nonzero_weights"]))
    best = OmegaConf.load(sweep / sweeps.OPTUNA_RESULTS)
    assert best.best_params == {"model": best_row["model"], "seed": 0}
    assert best.best_value == float(best_row[f"{best_row['model']}/n_nonzero_weights"])
    summary = (sweep / "summary.md").read_text()
    assert "## Best parameters (Optuna: minimize n_nonzero_weights)" in summary
    assert f"`nnx run {MCP} hparams_search=optuna model={best_row['model']} seed=0`" in summary
    rerun = cli("run", MCP, "hparams_search=optuna", f"model={best_row['model']}", "seed=0")  # one run, as written
    assert rerun.returncode == 0 and len(cli.run_dirs("mcp_seven_segment")) == 1


def test_a_misspelt_optuna_metric_stops_the_search_at_its_first_trial(cli):
    result = cli("run", "-m", MCP, "hparams_search=optuna", "seed=choice(0,1)", "optimize_metric=n_weigths",
                 "hydra.sweeper.n_trials=4")
    assert result.returncode == 2 and "optimize_metric='n_weigths' is not in" in result.stderr
    assert "use one of:" in result.stderr and "Traceback" not in result.stderr
    (sweep,) = cli.sweep_dirs("mcp_seven_segment")
    assert [p.name for p in sweep.iterdir() if p.is_dir()] == ["0"]  # the first trial's folder, kept
    assert "| 0 |" in (sweep / "summary.md").read_text()  # and summarised


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

    result = cli("run", f"+resume_sweep={sweep_dir}")
    assert result.returncode == 0, result.stderr[-2000:]
    for job, text in finished.items():
        assert (sweep_dir / job / "metrics.json").read_text() == text  # kept, not run again
    rerun = sorted(p.parent.name for p in sweep_dir.glob("*/metrics.json") if p.parent.name not in finished)
    assert rerun == [str(k) for k in range(4) if str(k) not in finished]
    assert result.stdout.count("kept from the earlier sweep") == len(finished)
    rows = read_rows(sweep_dir)
    assert [r["seed"] for r in rows] == ["0", "1", "2", "3"] and {r["status"] for r in rows} == {"ok"}


def test_ctrl_c_stops_the_whole_sweep(cli):
    env = os.environ | {"NNX_OUTPUT_DIR": str(cli.out), "HYDRA_FULL_ERROR": "0"}
    args = ["run", "-m", "experiment=dac_mnist", "data=digits", "smoke=true", "seed=0,1,2,3"]
    sweep = subprocess.Popen([sys.executable, "-m", "nnx.cli", *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, start_new_session=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as a terminal's:
    # a suite started in the background (`nohup make test &`) ignores SIGINT, and its children would inherit that
    deadline = time.time() + 120
    while not glob.glob(f"{cli.out}/dac_mnist/multirun/*/1/") and time.time() < deadline:  # job 1 has started
        time.sleep(0.01)
    os.killpg(sweep.pid, signal.SIGINT)
    stderr = sweep.communicate(timeout=120)[1]
    (sweep_dir,) = cli.sweep_dirs("dac_mnist")
    statuses = {p.parent.name: json.loads(p.read_text())["status"] for p in sweep_dir.glob("*/metrics.json")}
    assert sweep.returncode == 130 and "interrupted" in stderr and "Traceback" not in stderr
    assert statuses["0"] == "ok" and len(statuses) < 4 and "3" not in statuses  # the later jobs never started


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
    assert [(r["model"], r["seed"]) for r in read_rows(sweep_dir)] == [
        (model, seed) for model in ("mcp_single", "mcp_two_layer") for seed in "012"]

    result = cli("run", f"resume_sweep={sweep_dir}", "model=mcp_two_layer,mcp_single")  # reordered: all kept
    assert result.returncode == 0 and result.stdout.count("kept from the earlier sweep") == 6
    assert metrics_by_job(sweep_dir) == after
    assert [(r["seed"], r["model"]) for r in read_rows(sweep_dir)][:2] == [("0", "mcp_two_layer"), ("0", "mcp_single")]

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
    assert [(r["model"], r["status"]) for r in read_rows(sweep_dir)] == [("mcp_single", "ok"), ("mcp_two_layer", "ok")]
    assert "sweep of 2 jobs (2 finished, 0 failed)" in (sweep_dir / "summary.md").read_text()


def test_the_cpu_slurm_preset_asks_for_no_gpu(compose):
    cfg = compose(MCP, "hydra/launcher=slurm_cpu", hydra=True)
    assert cfg.hydra.launcher.gpus_per_node == 0 and cfg.hydra.launcher.cpus_per_task == 8
    assert "SlurmLauncher" in cfg.hydra.launcher._target_

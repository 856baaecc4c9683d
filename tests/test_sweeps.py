"""Sweeps at scale: Hydra's joblib / submitit launchers and Optuna sweeper (resuming one: test_sweep_resume.py)."""

import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from omegaconf import OmegaConf

from conftest import CONF, ROOT, summary_rows
from nnx import sweeps
from nnx.errors import NnxError

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


def summary_without_timing(sweep_dir) -> tuple[list[dict], str]:
    rows = [{k: v for k, v in row.items() if k != "duration_s"} for row in summary_rows(sweep_dir)]
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
    rows = summary_rows(sweep)
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


def test_ctrl_c_stops_the_whole_sweep(cli):
    env = os.environ | {"NNX_OUTPUT_DIR": str(cli.out), "HYDRA_FULL_ERROR": "0"}
    args = ["run", "-m", "experiment=dac_mnist", "data=digits", "smoke=true", "seed=range(8)"]  # more jobs than a
    # slow machine could run before the signal lands
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
    assert statuses["0"] == "ok" and len(statuses) < 8 and "7" not in statuses  # the later jobs never started


def test_the_cpu_slurm_preset_asks_for_no_gpu(compose):
    cfg = compose(MCP, "hydra/launcher=slurm_cpu", hydra=True)
    assert cfg.hydra.launcher.gpus_per_node == 0 and cfg.hydra.launcher.cpus_per_task == 8
    assert "SlurmLauncher" in cfg.hydra.launcher._target_

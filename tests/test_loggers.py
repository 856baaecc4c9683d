"""logger=tensorboard / mlflow: the logs read back with the libraries' own readers hold what history.csv holds, for
a multi-model run and for a 2-job sweep; a missing backend is one clear message; the sweep's overall progress line."""

import csv
import io
import json
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import Cli, read_metrics
from nnx import loggers, sweep_progress
from nnx.errors import NnxError

KD_MODELS = ("teacher", "student", "kd")


def history(path: Path) -> list[dict]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def tensorboard_scalars(log_dir: Path) -> tuple[dict[str, list[tuple[int, float]]], EventAccumulator]:
    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}, events


def expected(rows: list[dict], key: str) -> list[tuple[int, float]]:
    return [(int(row["epoch"]), pytest.approx(float(row[key]), rel=1e-6)) for row in rows]


@pytest.fixture(scope="module")
def kd_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("kd")
    uri = f"sqlite:///{out / 'mlflow.db'}"
    cli = Cli(out / "outputs")
    result = cli("run", "experiment=kd_mnist", "data=digits", "smoke=true", "logger=[tensorboard,mlflow]",
                 f"logger.mlflow.tracking_uri={uri}")
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = cli.run_dirs("kd_mnist")
    return run_dir, uri


def test_tensorboard_holds_every_models_history_the_params_and_the_figures(kd_run):
    run_dir, _ = kd_run
    scalars, events = tensorboard_scalars(run_dir / "tensorboard")
    for model in KD_MODELS:
        rows = history(run_dir / f"{model}_history.csv")
        for key in ("train_loss", "train_acc", "test_acc"):
            assert scalars[f"{model}/{key}"] == expected(rows, key), (model, key)
    figures = sorted(p.stem for p in run_dir.glob("*.png"))
    assert sorted(tag.removeprefix("figures/") for tag in events.Tags()["images"]) == figures
    hparams, _ = tensorboard_scalars(run_dir / "tensorboard" / "hparams")
    metrics = read_metrics(run_dir)
    assert hparams["final/kd/test_acc"] == [(0, pytest.approx(metrics["kd/test_acc"]))]


def test_mlflow_holds_the_params_every_epoch_the_final_metrics_and_the_files(kd_run):
    run_dir, uri = kd_run
    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=["kd_mnist"])
    assert len(runs) == 1 and runs.status[0] == "FINISHED"
    config = OmegaConf.load(run_dir / "config.yaml")
    assert runs["params.optim.lr"][0] == str(config.optim.lr) and runs["params.seed"][0] == "0"
    metrics = read_metrics(run_dir)
    assert runs["metrics.final/kd/test_acc"][0] == pytest.approx(metrics["kd/test_acc"])
    client, run_id = MlflowClient(uri), runs.run_id[0]
    for model in KD_MODELS:
        rows = history(run_dir / f"{model}_history.csv")
        logged = [(m.step, m.value) for m in client.get_metric_history(run_id, f"{model}/train_loss")]
        assert sorted(logged) == expected(rows, "train_loss")
    files = {a.path for a in client.list_artifacts(run_id)}
    assert {"metrics.json", "report.md", "kd_history.csv", "kd_curves.png"} <= files
    assert not any(path.endswith(".pt") for path in files)  # checkpoints stay in the run folder


def test_a_sweep_is_one_mlflow_experiment_with_a_run_per_job(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cli = Cli(tmp_path / "outputs")
    result = cli("run", "-m", "experiment=adaline_iris", "smoke=true", "seed=0,1", "logger=[csv,mlflow,tensorboard]",
                 f"logger.mlflow.tracking_uri={uri}", "logger.mlflow.experiment_name=iris_seeds")
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = cli.sweep_dirs("adaline_iris")
    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=["iris_seeds"])
    assert sorted(runs["tags.mlflow.runName"]) == [f"{sweep.name}/0", f"{sweep.name}/1"]
    client = MlflowClient(uri)
    for job in ("0", "1"):
        run_id = runs.run_id[runs["tags.mlflow.runName"] == f"{sweep.name}/{job}"].iloc[0]
        rows = history(sweep / job / "history.csv")
        logged = [(m.step, m.value) for m in client.get_metric_history(run_id, "setosa/cost")]
        assert sorted(logged) == expected(rows, "setosa/cost")
        scalars, _ = tensorboard_scalars(sweep / job / "tensorboard")
        assert scalars["setosa/cost"] == expected(rows, "setosa/cost")


def test_the_default_store_is_sqlite_inside_mlruns(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri, artifacts = loggers.tracking_uri(None)
    assert uri == f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    assert artifacts == (tmp_path / "mlruns" / "artifacts").as_uri()
    assert loggers.tracking_uri("http://tracking:5000") == ("http://tracking:5000", None)


def test_a_missing_backend_is_one_message_naming_the_extra(monkeypatch):
    monkeypatch.setitem(loggers.PACKAGES, "mlflow", "nnx_no_such_package")
    cfg = OmegaConf.create({"name": "x", "logger": {"csv": {}, "mlflow": {"tracking_uri": None}}})
    with pytest.raises(NnxError, match=r"logger=mlflow needs .*not installed") as err:
        loggers.check_installed(cfg)
    assert "nnx[loggers]" in err.value.fix
    assert loggers.check_installed(OmegaConf.create({"logger": {"csv": {}}})).mlflow is None


def test_a_misspelt_logger_key_stops_the_run_before_it_starts(cli):
    result = cli("run", "experiment=adaline_iris", "logger=tensorboard", "+logger.tensorboard.logdir=x")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "logger.tensorboard.logdir" in result.stderr


def test_a_logger_that_fails_mid_run_is_dropped_with_a_warning(tmp_path, caplog):
    class Broken:
        def log_row(self, model, row):
            raise OSError("disk full")

    group = loggers.Loggers.__new__(loggers.Loggers)
    group.active = [Broken()]
    group.log_row("teacher_history", {"epoch": 1, "train_loss": 1.0})
    assert group.active == [] and "stopped logging: disk full" in caplog.text


def test_the_sweep_progress_line_counts_jobs_by_status(tmp_path):
    for job, status in enumerate(["ok", "failed", "diverged", "ok"]):
        (tmp_path / str(job)).mkdir()
        (tmp_path / str(job) / "metrics.json").write_text(json.dumps({"status": status}))
    stream = io.StringIO()
    progress = sweep_progress.SweepProgress(tmp_path, total=6, stream=stream)
    progress.start = 0.0  # every job ended during this sweep
    progress.poll()
    progress.poll()  # nothing changed: no second line
    (line,) = stream.getvalue().splitlines()
    assert line.startswith("sweep: 4 of 6 jobs done | 2 ok | 1 failed | 1 diverged | ")


def test_the_planned_job_count_comes_from_the_grid_or_the_trials(compose):
    cfg = compose("experiment=adaline_iris", hydra=True)
    cfg.hydra.overrides.task = ["experiment=adaline_iris", "seed=0,1,2", "optim.lr=0.1,0.01"]
    assert sweep_progress.planned_jobs(cfg) == 6
    optuna = compose("experiment=adaline_iris", "hparams_search=adaline_iris", hydra=True)
    assert sweep_progress.planned_jobs(optuna) == optuna.hydra.sweeper.n_trials


def test_progress_stays_quiet_off_a_terminal(cli, monkeypatch):
    monkeypatch.setenv("CI", "1")
    assert not sweep_progress.on_terminal()
    result = cli("run", "-m", "experiment=adaline_iris", "seed=0,1")
    assert result.returncode == 0 and "jobs done" not in result.stderr + result.stdout

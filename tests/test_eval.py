"""`nnx eval RUN`: a finished run's checkpoints scored again, on its own test split or on other data."""

import json

from conftest import read_metrics
from formats import write_idx_set

KD = ("experiment=kd_mnist", "smoke=true", "data=digits")


def test_the_last_checkpoints_give_the_runs_own_test_numbers(cli, tmp_path):
    run_dir = tmp_path / "kd"
    assert cli("run", *KD, f"hydra.run.dir={run_dir}").returncode == 0
    result = cli("eval", str(run_dir), "--last")
    assert result.returncode == 0, result.stderr
    (out,) = (run_dir / "eval").iterdir()
    metrics, trained = json.loads((out / "metrics.json").read_text()), read_metrics(run_dir)
    for model in ("teacher", "student", "kd"):
        assert metrics[f"{model}/test_acc"] == trained[f"{model}/test_acc"]
        assert (out / f"{model}_confusion_matrix.png").is_file()
        assert "precision" in (out / f"{model}_classification_report.md").read_text()
    assert metrics["data"] == trained["data"] and metrics["checkpoint"] == "last"


def test_other_data_of_another_shape_and_runs_without_checkpoints_are_clear_errors(cli, tmp_path):
    run_dir = tmp_path / "kd"
    assert cli("run", *KD, f"hydra.run.dir={run_dir}").returncode == 0
    write_idx_set(tmp_path / "mnist", n_train=20, n_test=10)
    result = cli("eval", str(run_dir), "data=mnist", f"data.root={tmp_path / 'mnist'}")
    assert result.returncode == 2 and "does not fit this model" in result.stderr and "Traceback" not in result.stderr
    classic = tmp_path / "madaline"
    assert cli("run", "experiment=madaline_moons", "smoke=true", f"hydra.run.dir={classic}").returncode == 0
    result = cli("eval", str(classic))
    assert result.returncode == 2 and "classic learners keep none" in result.stderr
    result = cli("eval", str(tmp_path / "nowhere"))
    assert result.returncode == 2 and "no such folder" in result.stderr

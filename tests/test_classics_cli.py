"""adaline_iris and madaline_moons end to end through the CLI: files, metrics, sweeps, errors, determinism."""

import csv

import pytest

from conftest import read_metrics, summary_rows

ADALINE, MADALINE = "experiment=adaline_iris", "experiment=madaline_moons"
TIMING = ("duration_s",)


def test_adaline_full_run_reaches_the_least_squares_optimum(cli):
    result = cli("run", ADALINE)
    assert result.returncode == 0, result.stderr
    (run_dir,) = cli.run_dirs("adaline_iris")
    metrics = read_metrics(run_dir)
    assert metrics["setosa/acc_test"] == 1.0 and metrics["setosa/acc_all"] == 1.0
    for task in ("setosa", "versicolor"):
        assert abs(metrics[f"{task}/acc_test"] - metrics[f"{task}/lstsq_acc_test"]) <= 0.02
        assert metrics[f"{task}/final_cost"] == pytest.approx(metrics[f"{task}/lstsq_cost"], rel=1e-3)
    assert {"pairwise_scatter.png", "cost.png", "decision_boundary.png", "weights_setosa.md"} <= {
        p.name for p in run_dir.iterdir()}
    rows = list(csv.DictReader((run_dir / "history.csv").open()))
    assert len(rows) == 900 and set(rows[0]) == {"epoch", "setosa/cost", "versicolor/cost"}
    assert "| setosa/acc_test | 1 | 0.73 |" in (run_dir / "report.md").read_text()


def test_adaline_smoke_one_task_on_two_features_online(cli):
    result = cli("run", ADALINE, "smoke=true", "task=versicolor", "data.features=[petal_length,petal_width]",
                 "model.update=online", "optim.lr=0.01")
    assert result.returncode == 0, result.stderr
    (run_dir,) = cli.run_dirs("adaline_iris")
    metrics = read_metrics(run_dir)
    assert "versicolor/acc_test" in metrics and not any(k.startswith("setosa/") for k in metrics)
    assert len(list(csv.DictReader((run_dir / "history.csv").open()))) == 5
    assert (run_dir / "decision_boundary.png").is_file()


def test_madaline_sweep_over_hidden_sizes_and_rules(cli):
    result = cli("run", "-m", MADALINE, "smoke=true", "model.hidden=3,8", "model.rule=mri")
    assert result.returncode == 0, result.stderr
    (sweep,) = cli.sweep_dirs("madaline_moons")
    rows = summary_rows(sweep)
    assert [r["model.hidden"] for r in rows] == ["3", "8"] and {r["status"] for r in rows} == {"ok"}
    assert all((sweep / r["job"] / "decision_boundary.png").is_file() for r in rows)
    assert "acc_test_3_hidden | 0.816" in (sweep / "summary.md").read_text()


def test_madaline_smoke_files_and_same_seed_same_metrics(cli):
    for _ in range(2):
        result = cli("run", MADALINE, "smoke=true", "seed=3")
        assert result.returncode == 0, result.stderr
    first_dir, second_dir = cli.run_dirs("madaline_moons")
    first, second = read_metrics(first_dir), read_metrics(second_dir)
    assert {"acc_train", "acc_test", "acc_all", "epochs", "converged"} <= set(first)
    assert 1 <= first["epochs"] <= 3 and isinstance(first["converged"], bool)
    assert {"decision_boundary.png", "training_error.png", "history.csv"} <= {p.name for p in first_dir.iterdir()}
    assert {k: v for k, v in first.items() if k not in TIMING} == {k: v for k, v in second.items() if k not in TIMING}


@pytest.mark.parametrize("args, message", [
    ((ADALINE, "task=petals"), "task='petals' is not a task"),
    ((ADALINE, "trainer.epochs=0"), "trainer.epochs=0: this experiment trains Adalines for at least one epoch"),
    ((MADALINE, "model=adaline"), "model=adaline, trainer.epochs=100: this experiment trains a Madaline"),
    ((MADALINE, "model.max_flips=0"), "model.max_flips=0 must be >= 1"),
    ((MADALINE, "model.init_scale=-1"), "model.init_scale=-1.0 > 0"),
    ((ADALINE, "optim=adam"), "these learners train by their own LMS rule, so an optim= choice"),
])
def test_bad_settings_give_one_clear_message(cli, args, message):
    result = cli("run", *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_setting_of_the_wrong_type_is_refused_while_composing(cli):
    result = cli("run", MADALINE, "trainer.epochs=many")  # Hydra's own message, before any run folder exists
    assert result.returncode == 2 and "could not be converted to Integer" in result.stderr
    assert "full_key: trainer.epochs" in result.stderr and "Traceback" not in result.stderr
    assert not (cli.out / "madaline_moons").exists()


@pytest.mark.slow
def test_madaline_sweep_beats_every_reference_number(cli):
    """The README's claim: mean test accuracy over seeds 0, 1, 2 beats the report for 3, 5 and 8 hidden units."""
    result = cli("run", "-m", MADALINE, "model.hidden=3,5,8", "seed=0,1,2")
    assert result.returncode == 0, result.stderr
    (sweep,) = cli.sweep_dirs("madaline_moons")
    rows = summary_rows(sweep)
    reference = {"3": 0.816, "5": 0.886, "8": 0.874}
    for hidden, theirs in reference.items():
        ours = [float(r["acc_test"]) for r in rows if r["model.hidden"] == hidden]
        assert len(ours) == 3 and sum(ours) / 3 > theirs, hidden

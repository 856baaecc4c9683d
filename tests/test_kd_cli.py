"""kd_mnist end to end through the CLI: every output of a smoke run on digits, teacher reuse, a sweep over the
temperature and alpha, and one clear line for bad settings or absent MNIST."""

import csv

import pytest

from conftest import Cli, read_metrics

EXP = "experiment=kd_mnist"
MODELS = ("teacher", "student", "kd")
FIGURES = ("accuracy_per_epoch", "exploration_samples", "exploration_classes",
           *(f"{name}_confusion_matrix" for name in MODELS), *(f"{name}_curves" for name in MODELS))
SMOKE_EPOCHS = 3  # conf/experiment/kd_mnist.yaml, smoke_overrides


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    cli = Cli(tmp_path_factory.mktemp("outputs"))
    result = cli("run", EXP, "data=digits", "smoke=true", "seed=1")
    assert result.returncode == 0, result.stderr
    return cli.run_dirs("kd_mnist")[0]


def test_smoke_run_writes_every_output(smoke_run):
    metrics = read_metrics(smoke_run)
    assert metrics["status"] == "ok"
    for name in MODELS:
        accuracy, errors = metrics[f"{name}/test_acc"], metrics[f"{name}/test_errors"]
        assert 0.2 < accuracy <= 1 and errors == round((1 - accuracy) * 150)  # 150 test images
        assert metrics[f"{name}/epochs"] == SMOKE_EPOCHS
        assert (smoke_run / f"{name}_history.csv").read_text().count("\n") == 1 + SMOKE_EPOCHS
        assert "Confusion matrix" in (smoke_run / f"{name}_confusion_matrix.md").read_text()
    assert metrics["kd/gain"] == pytest.approx(metrics["kd/test_acc"] - metrics["student/test_acc"])
    assert metrics["kd/n_params"] == metrics["student/n_params"] <= 0.1 * metrics["teacher/n_params"]
    for figure in FIGURES:
        assert (smoke_run / f"{figure}.png").stat().st_size > 4000, figure
    for name in MODELS:  # the per-epoch test pass, whose last epoch is the final model
        with (smoke_run / f"{name}_history.csv").open() as handle:
            rows = list(csv.DictReader(handle))
        assert float(rows[-1]["test_acc"]) == pytest.approx(metrics[f"{name}/test_acc"])
    exploration = (smoke_run / "exploration.md").read_text()
    assert all(part in exploration for part in ("exploration_samples.png", "scaled (/255)", "| train | 400 |"))
    report = (smoke_run / "report.md").read_text()
    assert "kd/gain" in report and "accuracy_per_epoch.png" in report and "0.9791" in report  # reference beside ours
    assert (smoke_run / "teacher.pt").is_file()


def test_sweep_reusing_the_teacher(smoke_run, cli):
    """kd.teacher_ckpt=<run folder>: no teacher training; α = 0 is the plain student, batch for batch. (A missing
    checkpoint is tested in test_kd.py.)"""
    result = cli("run", "-m", EXP, "data=digits", "smoke=true", "seed=1", f"kd.teacher_ckpt={smoke_run}",
                 "kd.temperature=8", "kd.alpha=0,0.9")
    assert result.returncode == 0, result.stderr
    sweep = cli.sweep_dirs("kd_mnist")[0]
    jobs = sorted(path for path in sweep.iterdir() if path.is_dir() and path.name.isdigit())
    assert len(jobs) == 2
    first, alpha_zero = read_metrics(smoke_run), 0
    for job in jobs:
        metrics = read_metrics(job)
        assert metrics["status"] == "ok"
        assert not (job / "teacher_history.csv").exists() and (job / "teacher.pt").is_file()
        assert metrics["teacher/test_acc"] == first["teacher/test_acc"]
        assert metrics["student/test_acc"] == first["student/test_acc"]  # same seed, same student
        alpha = (job / ".hydra" / "overrides.yaml").read_text()
        if "kd.alpha=0\n" in alpha:  # only the loss differs, so alpha 0 trains the plain student again
            assert metrics["kd/test_acc"] == metrics["student/test_acc"] and metrics["kd/gain"] == 0
            student, distilled = ((job / f"{name}_history.csv").read_text().splitlines() for name in ("student", "kd"))
            assert [row.rsplit(",", 1)[0] for row in student] == [row.rsplit(",", 1)[0] for row in distilled]
            alpha_zero += 1
    assert alpha_zero == 1
    summary = (sweep / "summary.md").read_text()
    assert "| kd.temperature | kd.alpha |" in summary and "kd/gain" in summary and summary.count("| ok |") == 2


@pytest.mark.parametrize("args, message", [
    (("data=digits", "kd.alpha=2"), "kd.alpha=2 must be in [0, 1]"),
    (("data=digits", "kd.temperature=0"), "kd.temperature=0 must be > 0"),
    (("data.root=/nonexistent/mnist",), "no data under data.root=/nonexistent/mnist"),  # the default: MNIST
    (("data=digits", "trainer.test_each_epoch=false"), "kd_mnist needs test_each_epoch=True"),  # never replaced
])
def test_bad_settings_give_one_clear_line(cli, args, message):
    result = cli("run", EXP, "smoke=true", *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_the_hinton_variant_runs_and_reports_the_papers_error_counts(cli):
    result = cli("run", EXP, "variant=hinton", "data=digits", "smoke=true")
    assert result.returncode == 0, result.stderr
    (run,) = cli.run_dirs("kd_mnist")
    assert read_metrics(run)["status"] == "ok"
    report = (run / "report.md").read_text()
    assert "| kd/test_errors |" in report and "| 74 |" in report

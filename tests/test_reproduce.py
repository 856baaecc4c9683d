"""`nnx reproduce`: the course plan, its verdicts, the smoke form end to end, resuming after a kill, clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT, summary_rows
from nnx import reproduce
from nnx.errors import NnxError


def test_the_plan_covers_every_experiment_with_string_overrides():
    from conftest import EXPERIMENTS

    plan = reproduce.load_plan()
    assert sorted(plan) == EXPERIMENTS
    for entry in plan.values():
        assert "metric" in entry["headline"] and all(isinstance(arg, str) for arg in entry["overrides"])


@pytest.mark.parametrize("ours, reference, lower, expected", [
    (0.99, 0.97, False, "beats"), (0.9752, 0.9752, False, "matches"), (0.974, 0.9752, False, "matches"),
    (0.95, 0.9752, False, "short"), (0.30, 0.32, True, "beats"), (0.40, 0.32, True, "short"),
    (True, True, False, "matches"), (False, True, False, "differs"), (None, 0.5, False, "—"), (0.5, None, False, "—"),
])
def test_verdicts(ours, reference, lower, expected):
    assert reproduce.verdict(ours, reference, lower) == expected


def test_a_new_sweep_or_the_resume_of_the_one_there(tmp_path):
    entry = {"overrides": ["seed=0,1,2"], "smoke": ["data=digits"]}
    new = reproduce.command("kd_mnist", entry, tmp_path / "kd", smoke=True)
    assert new == ["run", "-m", "experiment=kd_mnist", "seed=0,1,2", "smoke=true", "data=digits",
                   f"hydra.sweep.dir={tmp_path / 'kd'}"]
    (tmp_path / "kd").mkdir()
    (tmp_path / "kd" / "multirun.yaml").write_text("hydra: {}\n")
    assert reproduce.command("kd_mnist", entry, tmp_path / "kd", smoke=False) == [
        "run", f"resume_sweep={tmp_path / 'kd'}", "experiment=kd_mnist", "seed=0,1,2"]


def test_the_course_block_is_replaced_between_its_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{reproduce.START}\nold\n{reproduce.END}\n\nafter\n")
    reproduce.update_course_block("| a |\n", tmp_path / "out", readme)
    text = readme.read_text()
    assert "old" not in text and "| a |" in text and text.endswith("after\n") and text.count(reproduce.START) == 1
    readme.write_text("no block\n")
    with pytest.raises(NnxError, match="no <!-- nnx:course -->"):
        reproduce.update_course_block("| a |\n", tmp_path, readme)


def test_every_experiment_has_a_readme_with_a_results_block_and_a_missing_one_stops_before_running(tmp_path,
                                                                                                 monkeypatch):
    from nnx.report import readme

    for name in reproduce.load_plan():
        readme.readme_with_results_block(name)
    (tmp_path / "experiments" / "adaline_iris").mkdir(parents=True)
    (tmp_path / "experiments" / "adaline_iris" / "README.md").write_text("# adaline_iris\n")
    monkeypatch.setattr(readme, "checkout_dir", lambda: tmp_path)
    with pytest.raises(NnxError, match="has no results block"):
        reproduce.reproduce(["adaline_iris"], out=tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing ran


def nnx(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnx.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


def test_the_smoke_form_runs_reports_and_resumes_without_touching_the_readme(tmp_path):
    readme = (ROOT / "README.md").read_text()
    out = tmp_path / "course"
    names = ["mcp_seven_segment", "madaline_moons", "kd_mnist"]
    first = nnx("reproduce", "--smoke", *names, "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert "[1/3] mcp_seven_segment" in first.stdout and "[3/3] kd_mnist: ok" in first.stdout
    assert "so far" in first.stdout
    table = (out / "results.md").read_text()
    assert "| mcp_seven_segment |  | two-layer net: digits recognised (of 4) | 4 | 4 | matches | 3 of 3 |" in table
    assert "| kd_mnist | digits (8x8)" in table and "not comparable" in table  # a smoke run on other data
    assert "| cifar_cnn_sweep |" in table and "not run" in table

    # A reproduce killed during madaline's job 1: that job alone runs again, the others are kept.
    (out / "madaline_moons" / "1" / "metrics.json").unlink()
    again = nnx("reproduce", "--smoke", "madaline_moons", "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert f"resume_sweep={(out / 'madaline_moons').resolve()}" in again.stdout
    log = (out / "madaline_moons.log").read_text()
    assert log.count("kept from the earlier sweep") == 8  # 3 widths x 3 seeds, one killed
    assert [row["status"] for row in summary_rows(out / "madaline_moons")] == ["ok"] * 9
    assert (ROOT / "README.md").read_text() == readme


def test_bad_arguments_are_one_clear_line():
    unknown = nnx("reproduce", "--smoke", "kd_mnistt")
    assert unknown.returncode == 2 and "unknown experiment kd_mnistt" in unknown.stderr
    assert "choose from mcp_seven_segment" in unknown.stderr and "Traceback" not in unknown.stderr
    override = nnx("reproduce", "seed=3")
    assert override.returncode == 2 and "takes experiment names" in override.stderr


def test_a_tiny_headline_number_keeps_its_digits(tmp_path):
    from test_report import fake_job

    fake_job(tmp_path / "demo", 0, ["seed=0"], {"status": "ok", "ratio": 5.1234e-6}, reference={"ratio": 1e-5})
    fake_job(tmp_path / "demo", 1, ["seed=1"], {"status": "ok", "ratio": 5.1236e-6}, reference={"ratio": 1e-5})
    row = reproduce.headline_row("demo", {"headline": {"metric": "ratio"}}, tmp_path / "demo")
    assert row["ours"] == 5.124e-06 and row["verdict"] == "short" and row["jobs ok"] == "2 of 2"

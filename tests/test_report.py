"""Reports and summaries are rebuilt from files on disk alone."""

import json

import pytest
from omegaconf import OmegaConf

from nnx.errors import NnxError
from nnx.report.readme import END, START, drop_empty_sections, update_readme
from nnx.report.summary import collapse_groups, seed_means, write_summary


def fake_job(sweep, num, overrides, metrics, reference=None, **config):
    job = sweep / str(num)
    (job / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create(overrides), job / ".hydra" / "overrides.yaml")
    cfg = {"name": "demo", "primary_metric": "acc", "reference": reference or {"acc": 0.5}} | config
    OmegaConf.save(OmegaConf.create(cfg), job / ".hydra" / "config.yaml")
    if metrics is not None:
        (job / "metrics.json").write_text(json.dumps(metrics))
    return job


def test_summary_with_seed_means_and_a_killed_job(tmp_path):
    for i, (seed, acc) in enumerate([(0, 0.8), (1, 0.9), (2, 1.0)]):
        fake_job(tmp_path, i, [f"seed={seed}"], {"status": "ok", "duration_s": 1.0, "acc": acc})
    fake_job(tmp_path, 3, ["seed=3"], None)  # killed before metrics.json
    summary = write_summary(tmp_path).read_text()
    assert "sweep of 4 jobs (3 finished, 0 failed, 1 killed)" in summary
    assert "| 3 | 3 | killed |" in summary
    assert "## Mean over seeds" in summary and "| 3 | 0.9 | 0.1 |" in summary  # sample std
    assert (tmp_path / "comparison.png").is_file() and "| acc | 0.5 |" in summary


def test_summary_counts_the_jobs_a_killed_sweep_never_started(tmp_path):
    OmegaConf.save({"hydra": {"overrides": {"hydra": [], "task": ["experiment=demo", "seed=0,1,2"]}}},
                   tmp_path / "multirun.yaml")
    fake_job(tmp_path, 0, ["experiment=demo", "seed=0"], {"status": "ok", "acc": 0.8})
    fake_job(tmp_path, 1, ["experiment=demo", "seed=1"], None)  # killed while it ran; job 2 never started
    assert "sweep of 3 jobs (1 finished, 0 failed, 1 killed, 1 not run)" in write_summary(tmp_path).read_text()


def test_summary_shows_a_swept_device_and_no_stale_comparison(tmp_path):
    for num, device in enumerate(["cpu", "cuda"]):
        fake_job(tmp_path, num, [f"device={device}", "seed=0"], {"status": "ok", "acc": 0.5 + num / 10})
    summary = write_summary(tmp_path).read_text()
    assert "| job | device | seed | status |" in summary and "| 1 | cuda | 0 | ok |" in summary
    assert "![comparison](comparison.png)" in summary and (tmp_path / "comparison.png").is_file()
    fake_job(tmp_path, 2, ["device=cpu", "seed=1"], {"status": "ok", "acc": 0.7})  # two overrides vary now
    assert "comparison" not in write_summary(tmp_path).read_text() and not (tmp_path / "comparison.png").exists()


def test_seed_means_group_by_the_other_overrides():
    rows = [{"seed": s, "lr": lr, "status": "ok", "acc": acc}
            for s, lr, acc in [(0, 0.1, 0.5), (1, 0.1, 0.7), (0, 0.2, 0.9), (1, 0.2, 0.9)]]
    means = seed_means(rows, ["lr", "seed"], ["acc"])
    assert [(m["lr"], m["n_seeds"], m["acc mean"]) for m in means] == [("0.1", 2, 0.6), ("0.2", 2, 0.9)]
    rows = [{"seed": 0, "status": "ok", "acc": 0.8, "loss": 0.5}, {"seed": 1, "status": "ok", "acc": 0.6, "loss": 0.7},
            {"seed": 2, "status": "diverged", "acc": 0.1, "loss": float("nan")}, {"seed": 3, "status": "failed"}]
    (line,) = seed_means(rows, ["seed"], ["acc", "loss"])
    assert line["n_seeds"] == 3 and "acc n" not in line and line["acc mean"] == pytest.approx(0.5)
    assert line["loss n"] == 2 and line["loss mean"] == pytest.approx(0.6)
    assert line["loss std"] == pytest.approx(0.1414214)  # sample std of 0.5, 0.7; the NaN left out


def test_collapse_groups_only_when_each_job_has_one_group():
    rows = [{"job": "0", "a/x": 1}, {"job": "1", "b/x": 2}]
    collapsed, metrics = collapse_groups(rows, ["a/x", "b/x"])
    assert metrics == ["group", "x"] and collapsed[1] == {"job": "1", "group": "b", "x": 2}
    both = [{"a/x": 1, "b/x": 2}, {"a/x": 3, "b/x": 4}]
    assert collapse_groups(both, ["a/x", "b/x"]) == (both, ["a/x", "b/x"])
    trials = [{"init/s": 1, "m/lr_0.1/n": 5}, {"init/s": 1, "m/lr_0.01/n": 9}, {"status": "failed"}]  # a search
    collapsed, metrics = collapse_groups(trials, ["init/s", "m/lr_0.1/n", "m/lr_0.01/n"])
    assert metrics == ["init/s", "group", "n"] and collapsed[1] == {"init/s": 1, "group": "m/lr_0.01", "n": 9}
    assert collapsed[2]["group"] is None


def test_readme_results_block_is_replaced(tmp_path):
    run = fake_job(tmp_path / "runs", "r", [], {"status": "ok", "acc": 0.75})
    readme = tmp_path / "experiments" / "demo" / "README.md"
    readme.parent.mkdir(parents=True)
    readme.write_text(f"# demo\n\n{START}\nold\n{END}\ntail\n")
    update_readme(run, root=tmp_path)
    text = readme.read_text()
    assert "| acc | 0.75 | 0.5 |" in text and "old" not in text and text.endswith("tail\n")
    readme.write_text("no block")
    with pytest.raises(NnxError, match="no results block"):
        update_readme(run, root=tmp_path)


def test_a_sweep_of_one_job_goes_into_the_readme_as_that_run(tmp_path):
    sweep = tmp_path / "sweep"
    fake_job(sweep, 0, ["experiment=demo"], {"status": "ok", "acc": 0.75})
    write_summary(sweep)
    readme = tmp_path / "experiments" / "demo" / "README.md"
    readme.parent.mkdir(parents=True)
    readme.write_text(f"# demo\n\n{START}\n{END}\n")
    update_readme(sweep, root=tmp_path)
    text = readme.read_text()
    assert "| acc | 0.75 | 0.5 |" in text and "| job |" not in text  # one line per metric, not one wide row
    fake_job(sweep, 1, ["experiment=demo"], {"status": "ok", "acc": 0.8})
    write_summary(sweep)
    update_readme(sweep, root=tmp_path)
    assert "| job |" in readme.read_text()  # two jobs: the sweep's table


def test_a_readme_block_keeps_no_heading_whose_figure_stayed_behind():
    summary = ("| job |\n|---|\n| 0 |\n\n## Reference\n\n| m |\n|---|\n\n## Comparison\n\n\n"
               "## Test loss of every job\n\n")
    assert drop_empty_sections(summary) == "| job |\n|---|\n| 0 |\n\n## Reference\n\n| m |\n|---|\n"


def test_reference_numbers_of_other_data_come_with_a_warning(tmp_path):
    for i, data in enumerate(["digits", "digits"]):
        fake_job(tmp_path / "sweep", i, [f"seed={i}"], {"status": "ok", "acc": 0.9}, reference_data="mnist",
                 data={"name": data})
    summary = write_summary(tmp_path / "sweep").read_text()
    assert "measured on mnist, this run on digits: they are not comparable" in summary
    run = fake_job(tmp_path, "run", [], {"status": "ok", "acc": 0.9}, reference_data="mnist", data={"name": "mnist"})
    from nnx.report.run_report import build_run_report

    assert "not comparable" not in build_run_report(run).read_text()


def test_an_empty_overrides_file_is_no_overrides(tmp_path):
    job = fake_job(tmp_path, 0, [], {"status": "ok", "acc": 0.5})
    (job / ".hydra" / "overrides.yaml").write_text("")
    assert "sweep of 1 jobs (1 finished, 0 failed)" in write_summary(tmp_path).read_text()

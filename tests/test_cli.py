"""The CLI end to end, in a subprocess, as a user types it."""

import json
from pathlib import Path

import pytest

from conftest import read_metrics, summary_rows
from nnx.errors import NnxError

MCP = "experiment=mcp_seven_segment"
TIMING = ("duration_s",)


def test_run_writes_a_complete_run_folder(cli):
    result = cli("run", MCP)
    assert result.returncode == 0, result.stderr
    (run_dir,) = cli.run_dirs("mcp_seven_segment")
    names = {p.name for p in run_dir.iterdir()}
    assert {"metrics.json", "report.md", "run.log", "digits.png", "outputs_128.png", ".hydra"} <= names
    assert {"weights_mcp_single.png", "weights_mcp_two_layer_layer2.md"} <= names
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "ok" and metrics["seed"] == 0 and metrics["device"] == "cpu"
    assert metrics["mcp_two_layer/inputs_exact"] == 4 and metrics["mcp_two_layer_exact/inputs_exact"] == 128
    assert all(isinstance(v, (int, float, str, bool)) or v is None for v in metrics.values())
    report = (run_dir / "report.md").read_text()
    assert "| mcp_two_layer/n_weights | 22 | 22 |" in report and "![digits](digits.png)" in report


def test_same_seed_same_metrics(cli):
    for _ in range(2):
        assert cli("run", MCP, "seed=3").returncode == 0
    first, second = (read_metrics(d) for d in cli.run_dirs("mcp_seven_segment"))
    assert {k: v for k, v in first.items() if k not in TIMING} == {k: v for k, v in second.items() if k not in TIMING}


def test_multirun_writes_one_summary_row_per_job(cli):
    result = cli("run", "-m", MCP, "model=mcp_single,mcp_two_layer,mcp_two_layer_exact")
    assert result.returncode == 0, result.stderr
    (sweep,) = cli.sweep_dirs("mcp_seven_segment")
    rows = summary_rows(sweep)
    assert [r["model"] for r in rows] == ["mcp_single", "mcp_two_layer", "mcp_two_layer_exact"]
    assert [r["status"] for r in rows] == ["ok"] * 3
    assert rows[1]["mcp_two_layer/n_weights"] == "22"
    summary = (sweep / "summary.md").read_text()
    assert "| 1 | mcp_two_layer | ok |" in summary and (sweep / "comparison.png").is_file()


def test_a_failing_job_does_not_stop_the_sweep(cli):
    result = cli("run", "-m", MCP, "seed=0,not_a_number,2")
    assert result.returncode != 0
    assert "1 sweep job(s) did not finish" in result.stderr and "Traceback" not in result.stderr
    (sweep,) = cli.sweep_dirs("mcp_seven_segment")
    rows = summary_rows(sweep)
    assert [r["status"] for r in rows] == ["ok", "failed", "ok"]
    assert "seed" in rows[1]["error"] and "Integer" in rows[1]["error"]


def test_no_or_unknown_experiment_lists_names_and_exits_2(cli):
    for args in (("run",), ("run", "experiment=nope"), ("run", "-m", "experiment=mcp_seven_segment,nope")):
        result = cli(*args)
        assert result.returncode == 2
        assert "mcp_seven_segment" in result.stderr and "Traceback" not in result.stderr


def test_bad_inputs_give_one_clear_message(cli):
    cases = {
        ("foo.bar=1",): "Key 'foo' is not in struct",
        ("seed=abc",): "invalid config value seed",
        ("device=tpu",): "is not a device",
        ("seed=-1",): "seed=-1 must be in [0, 2**32)",
        ("nets=[nope]",): "unknown model 'nope'",
        ("model=nope",): "Could not find 'model/nope'",
    }
    for args, message in cases.items():
        result = cli("run", MCP, *args)
        assert result.returncode != 0, args
        assert message in result.stderr + result.stdout, (args, result.stderr)
        assert "Traceback" not in result.stderr, args


def test_an_output_folder_that_cannot_be_made_and_a_bare_nnx_exit_2(cli, tmp_path):
    (tmp_path / "a_file").write_text("")
    result = cli("run", MCP, env={"NNX_OUTPUT_DIR": str(tmp_path / "a_file" / "outputs")})
    assert result.returncode == 2 and "cannot be written (Not a directory" in result.stderr
    assert "Traceback" not in result.stderr
    elsewhere = tmp_path / "nothing_here"
    printed = cli("run", MCP, "--cfg", "job", env={"NNX_OUTPUT_DIR": str(elsewhere / "outputs")})
    assert printed.returncode == 0 and not elsewhere.exists()  # checked, and nothing left behind
    bare = cli()
    assert bare.returncode == 2 and "usage: nnx run" in bare.stderr and not bare.stdout


def test_a_failed_run_keeps_its_folder(cli):
    assert cli("run", MCP, "device=tpu").returncode == 2
    (run_dir,) = cli.run_dirs("mcp_seven_segment")
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "failed" and "tpu" in metrics["error"]
    assert (run_dir / "report.md").is_file()


def test_list_shows_experiments_without_importing_torch(cli):
    result = cli("list")
    assert result.returncode == 0 and "mcp_seven_segment" in result.stdout
    import subprocess
    import sys

    probe = "import sys, nnx.cli; nnx.cli.cmd_list([]); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.stdout.strip().endswith("False")


def test_report_rebuilds_run_and_sweep_files(cli):
    assert cli("run", MCP).returncode == 0
    assert cli("run", "-m", MCP, "model=mcp_single,mcp_two_layer").returncode == 0
    (run_dir,), (sweep,) = cli.run_dirs("mcp_seven_segment"), cli.sweep_dirs("mcp_seven_segment")
    (run_dir / "report.md").unlink()
    (sweep / "summary.csv").unlink()
    assert cli("report", str(run_dir)).returncode == 0 and (run_dir / "report.md").is_file()
    assert cli("report", str(sweep)).returncode == 0 and (sweep / "summary.csv").is_file()
    bad = cli("report", str(cli.out))
    assert bad.returncode == 2 and "neither a run folder" in bad.stderr


def test_report_refuses_what_does_not_belong_in_a_readme_and_damaged_files(cli):
    readme = Path(__file__).resolve().parents[1] / "experiments" / "adaline_iris" / "README.md"
    before = readme.read_text()
    adaline = "experiment=adaline_iris"
    assert cli("run", adaline, "smoke=true").returncode == 0
    assert cli("run", adaline, "device=tpu").returncode == 2
    assert cli("run", MCP, "smoke=true").returncode == 0  # mcp has no smoke_overrides: smoke changes nothing
    smoke_run, failed_run = cli.run_dirs("adaline_iris")
    for run_dir, message in ((smoke_run, "smoke=true in this run"), (failed_run, "no run there finished ok")):
        refused = cli("report", str(run_dir), "--readme")
        assert refused.returncode == 2 and message in refused.stderr and "--force" in refused.stderr
    assert readme.read_text() == before
    from nnx.report.readme import check_publishable

    check_publishable(cli.run_dirs("mcp_seven_segment")[0])  # raises nothing
    limited = cli.run_dirs("mcp_seven_segment")[0]  # as if run with a limit typed (the experiment's own is fine)
    (limited / ".hydra" / "overrides.yaml").write_text("- experiment=mcp_seven_segment\n- data.limit_train=50\n")
    with pytest.raises(NnxError, match="data.limit_train/limit_test typed in this run"):
        check_publishable(limited)
    unknown = cli("report", str(smoke_run), "--readmee")
    assert unknown.returncode == 2 and "unknown option --readmee" in unknown.stderr
    assert cli("report", "--help").returncode == 0 and cli("list", "extra").returncode == 2
    (smoke_run / "metrics.json").write_text("[1, 2]")
    (failed_run / ".hydra" / "config.yaml").write_text("a: [unclosed")
    for run_dir, message in ((smoke_run, "holds [1, 2], not the JSON object"), (failed_run, "not readable YAML")):
        damaged = cli("report", str(run_dir))
        assert damaged.returncode == 2 and message in damaged.stderr and "Traceback" not in damaged.stderr


def test_hydra_flags_pass_through(cli):
    result = cli("run", MCP, "--cfg", "job")
    assert result.returncode == 0 and "name: mcp_seven_segment" in result.stdout
    assert cli("run", "--help").returncode == 0
    assert json.loads(json.dumps({"ok": True}))  # --help needs no experiment


def test_experiment_groups_and_glob_over_them(cli, tmp_path):
    """conf/experiment_groups/<name>/variant/*.yaml: `variant=glob(*)` sweeps exactly that experiment's variants."""
    import shutil

    from conftest import CONF

    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    variants = conf / "experiment_groups" / "mcp_seven_segment" / "variant"
    variants.mkdir(parents=True, exist_ok=True)
    for name, net in (("one", "mcp_single"), ("two", "mcp_two_layer"), ("three", "mcp_two_layer_exact")):
        (variants / f"{name}.yaml").write_text(f"# @package _global_\nnets: [{net}]\n")
    result = cli("run", "-m", MCP, "+variant=glob(*,exclude=three)", env={"NNX_CONF_DIR": str(conf)})
    assert result.returncode == 0, result.stderr
    (sweep,) = cli.sweep_dirs("mcp_seven_segment")
    rows = summary_rows(sweep)
    assert [(r["variant"], r.get("mcp_single/n_weights")) for r in rows] == [("one", "28"), ("two", "")]


def test_hydra_flags_after_the_overrides_of_an_experiment_with_groups(cli):
    """`--cfg job` after `variant=...` (the group's search path is added beside experiment=, not after the flag)."""
    result = cli("run", "experiment=cifar_cnn_sweep", "variant=tanh", "--cfg", "job")
    assert result.returncode == 0, result.stderr
    assert "activation: tanh" in result.stdout  # the variant's setting; its name is Hydra's choice, not a key
    assert "variant:" not in result.stdout


def test_version_is_the_installed_one(cli):
    from importlib.metadata import version

    result = cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"nnx {version('nnx')}"

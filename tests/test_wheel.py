"""A non-editable install works: the wheel holds the configs, and `nnx list` and a run work from another folder."""

import os
import subprocess
import sys

from conftest import ROOT, read_metrics

EXPERIMENTS_SHIPPED = 9


def test_the_wheel_carries_its_configs_and_runs_outside_the_checkout(tmp_path):
    wheels, target, elsewhere = tmp_path / "wheels", tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)], check=True,
                   capture_output=True, cwd=tmp_path)
    (wheel,) = wheels.glob("nnx-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True, capture_output=True)
    env = os.environ | {"PYTHONPATH": str(target), "NNX_OUTPUT_DIR": str(elsewhere / "outputs"), "COLUMNS": "200"}

    def nnx(*args):
        return subprocess.run([sys.executable, "-m", "nnx.cli", *args], capture_output=True, text=True, env=env,
                              cwd=elsewhere, timeout=300)

    where = subprocess.run([sys.executable, "-c", "import nnx; print(nnx.__file__)"], capture_output=True, text=True,
                           env=env, cwd=elsewhere).stdout
    assert where.startswith(str(target)), where  # the wheel's copy, not the checkout's
    listed = nnx("list")
    assert listed.returncode == 0, listed.stderr
    assert sum(line.startswith("│ ") and "│" in line[2:] for line in listed.stdout.splitlines()) >= EXPERIMENTS_SHIPPED
    assert "kd_mnist" in listed.stdout and "transfer_catsdogs" in listed.stdout
    ran = nnx("run", "experiment=madaline_moons", "smoke=true")
    assert ran.returncode == 0, ran.stderr
    (run_dir,) = (elsewhere / "outputs" / "madaline_moons").glob("20*")
    assert read_metrics(run_dir)["status"] == "ok"


def test_list_without_configs_is_an_error(tmp_path):
    env = os.environ | {"NNX_CONF_DIR": str(tmp_path / "empty")}
    (tmp_path / "empty").mkdir()
    result = subprocess.run([sys.executable, "-m", "nnx.cli", "list"], capture_output=True, text=True, env=env)
    assert result.returncode == 2 and "no experiment configs" in result.stderr

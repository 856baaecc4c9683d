"""A non-editable install works: the wheel holds the configs, and `nnx list` and a run work from another folder."""

import os
import shutil
import subprocess
import sys
import zipfile

from conftest import ROOT, read_metrics

EXPERIMENTS_SHIPPED = 9


def test_the_wheel_carries_its_configs_and_runs_outside_the_checkout(tmp_path):
    source, wheels, target, elsewhere = (tmp_path / name for name in ("source", "wheels", "site", "elsewhere"))
    elsewhere.mkdir()
    # Built from a clean copy: an in-tree build reuses build/lib, where a moved module's old copy would stay.
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)], check=True,
                   capture_output=True, cwd=tmp_path)
    (wheel,) = wheels.glob("nnx-*.whl")
    shipped = {name for name in zipfile.ZipFile(wheel).namelist() if name.endswith(".py")}
    checkout = {str(path.relative_to(ROOT / "src")) for path in (ROOT / "src").rglob("*.py")}
    assert shipped == checkout  # every module, and nothing the checkout no longer has
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

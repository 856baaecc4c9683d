"""Shared fixtures: the `nnx` CLI in a child process (`cli_child`), Hydra's compose API, small run folders."""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest

from cli_child import run_cli

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "src" / "nnx" / "conf"
EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))


class Cli:
    def __init__(self, out: Path):
        self.out = out

    def __call__(self, *args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
        full_env = os.environ | {"NNX_OUTPUT_DIR": str(self.out), "HYDRA_FULL_ERROR": "0"} | (env or {})
        return run_cli(list(args), full_env, ROOT, timeout)

    def run_dirs(self, experiment: str) -> list[Path]:
        return sorted(p for p in (self.out / experiment).glob("20*") if p.is_dir())

    def sweep_dirs(self, experiment: str) -> list[Path]:
        return sorted((self.out / experiment / "multirun").glob("20*"))


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path / "outputs")


def read_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def summary_rows(sweep_dir: Path) -> list[dict]:
    """A sweep's summary.csv, one dict per job."""
    with (sweep_dir / "summary.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def compose():
    from nnx.cli import experiment_groups
    from nnx.schemas import composing

    def _compose(*overrides: str, hydra: bool = False):
        overrides = experiment_groups(list(overrides))  # as `nnx run` does
        with composing() as compose_config:
            return compose_config(*overrides, hydra=hydra)

    return _compose


@pytest.fixture(scope="session", autouse=True)
def readmes_untouched():
    """No test may write the checkout's experiment READMEs (`nnx report --readme` does, outside NNX_CONF_DIR)."""
    readmes = {path: path.read_text() for path in (ROOT / "experiments").glob("*/README.md")}
    yield
    changed = [path for path, text in readmes.items() if path.read_text() != text]
    for path in changed:
        path.write_text(readmes[path])
    assert not changed, f"a test rewrote {', '.join(map(str, changed))} (restored)"

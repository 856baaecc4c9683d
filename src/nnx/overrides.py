"""Command-line overrides (`key=value`, `+key=value`, `~key`) as Hydra reads them: their keys, a job's overrides as
a key -> value dict, and the jobs of a grid sweep in Hydra's order. Light: the CLI, runner and reports share it."""

from __future__ import annotations

import re


def override_key(override: str) -> str:
    """`+model.hidden=[3]` -> `model.hidden`."""
    return override.partition("=")[0].lstrip("+~")


def parse_override(override: str) -> tuple[str, str]:
    """`+model.hidden=[3]` -> (`model.hidden`, `[3]`)."""
    return override_key(override), override.partition("=")[2]


def is_hydra_override(override: str) -> bool:
    return re.split(r"[./@]", override_key(override))[0] == "hydra"


def task_overrides(overrides: list[str]) -> dict[str, str]:
    """key -> value of a job's overrides, hydra.* left out: two jobs match when these are equal, in any order."""
    return dict(parse_override(o) for o in overrides if not is_hydra_override(o))


def grid_jobs(overrides: list[str]) -> list[list[str]]:
    """The jobs of a grid sweep over these command-line overrides, each as its list of overrides, in the order
    Hydra's basic sweeper numbers them. Flags and hydra.* are left out; a non-grid sweep raises HydraException."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    task = [o for o in overrides if not o.startswith("-") and not is_hydra_override(o)]
    (jobs,) = BasicSweeper.split_arguments(OverridesParser.create().parse_overrides(task), max_batch_size=None)
    return jobs


def sweep_grid(overrides: list[str]) -> list[dict[str, str]]:
    """`grid_jobs`, each job as its `task_overrides` (key -> value)."""
    return [task_overrides(job) for job in grid_jobs(overrides)]

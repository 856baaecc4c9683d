"""Refresh the results block of experiments/<name>/README.md from a run or sweep folder on disk."""

from __future__ import annotations

import re
from pathlib import Path

from nnx.errors import NnxError
from nnx.fileio import write_text_atomic
from nnx.overrides import override_key
from nnx.paths import checkout_dir
from nnx.report.markdown import markdown_table
from nnx.report.run_report import (
    metrics_beside_reference,
    read_config,
    read_metrics,
    read_overrides,
    read_sweep_overrides,
)
from nnx.report.summary import job_dirs

START, END = "<!-- nnx:results -->", "<!-- /nnx:results -->"


def results_block(folder: Path) -> tuple[str, str]:
    """(experiment name, markdown) for a run folder or a sweep folder; a sweep of one finished job (as `nnx
    reproduce` runs a single configuration) reads like that run: metric | ours | reference, one line each."""
    jobs = [] if (folder / "metrics.json").is_file() else job_dirs(folder)
    if len(jobs) == 1 and (jobs[0] / "metrics.json").is_file():
        folder = jobs[0]
    if (folder / "metrics.json").is_file():
        cfg = read_config(folder)
        rows = metrics_beside_reference(read_metrics(folder), cfg.get("reference") or {})
        return cfg["name"], markdown_table(rows)
    summary = folder / "summary.md"
    if not summary.is_file():
        raise NnxError(f"{folder} has no summary.md", fix=f"run `nnx report {folder}` first")
    body = summary.read_text().split("\n", 1)[1].strip()
    body = re.sub(r"!\[[^\]]*\]\([^)]*\.png\)", "", body)  # the sweep's figures stay in its folder
    return read_config(job_dirs(folder)[0])["name"], drop_empty_sections(body)


def drop_empty_sections(markdown: str) -> str:
    """Remove `## headings` left with nothing under them (a section that held only a figure)."""
    return re.sub(r"^#{2,} [^\n]*\n\s*(?=^#{2,} |\Z)", "", markdown, flags=re.M).rstrip() + "\n"


def command_of(folder: Path) -> str:
    """The command that made a run folder, or a sweep folder (its multirun.yaml), as typed."""
    if (folder / "metrics.json").is_file():
        return " ".join(["nnx run", *read_overrides(folder)])
    return " ".join(["nnx run -m", *read_sweep_overrides(folder)])


def check_publishable(folder: Path) -> None:
    """A README shows finished full-size results: no smoke run, no data limit typed on the command line, no run or
    sweep without a job that finished ok."""
    runs = [folder] if (folder / "metrics.json").is_file() else job_dirs(folder)
    statuses = [read_metrics(run).get("status") if (run / "metrics.json").is_file() else None for run in runs]
    configs = {run.name: read_config(run) for run in runs}
    smoke = [name for name, cfg in configs.items() if cfg.get("smoke") and cfg.get("smoke_overrides")]
    shrunk = [run.name for run in runs  # on the command line: some experiments' own defaults limit their data
              if {override_key(o) for o in read_overrides(run)} & {"data.limit_train", "data.limit_test"}]
    for names, what in ((smoke, "smoke=true"), (shrunk, "data.limit_train/limit_test typed")):
        if names:
            where = "this run" if runs == [folder] else f"jobs {', '.join(names)}"
            raise NnxError(f"{folder}: {what} in {where}: a shrunken result does not belong in the README",
                           fix="report a full-size run, or add --force")
    if "ok" not in statuses:
        raise NnxError(f"{folder}: no run there finished ok ({', '.join(map(str, sorted(set(statuses), key=str)))})",
                       fix="report a finished run, or add --force")


def update_readme(folder: Path, root: Path | None = None, force: bool = False) -> Path:
    """Write `folder`'s results into its experiment's README (refused for smoke or failed runs unless `force`)."""
    folder = Path(folder)
    if not force:
        check_publishable(folder)
    name, block = results_block(folder)
    readme = readme_with_results_block(name, root)
    head, rest = readme.read_text().split(START, 1)
    tail = rest.split(END, 1)[1]
    stamp = f"_Measured by `nnx report {folder.name} --readme` from `{folder}` (`{command_of(folder)}`)._"
    write_text_atomic(readme, f"{head}{START}\n{stamp}\n\n{block.rstrip()}\n\n{END}{tail}")
    return readme


def readme_with_results_block(experiment: str, root: Path | None = None) -> Path:
    """`experiments/<experiment>/README.md`, or an NnxError when it is missing or has no results block."""
    readme = (root or checkout_dir()) / "experiments" / experiment / "README.md"
    if not readme.is_file():
        raise NnxError(f"{readme} does not exist")
    text = readme.read_text()
    if START not in text or END not in text:
        raise NnxError(f"{readme} has no results block", fix=f"add the lines {START} and {END}")
    return readme

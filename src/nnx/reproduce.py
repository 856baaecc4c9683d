"""`nnx reproduce`: the whole course, one sweep per experiment at the configuration its README reports.

    nnx reproduce                       # all nine into outputs/reproduce/<experiment>/ (hours on a CPU)
    nnx reproduce kd_mnist dac_mnist    # some of them
    nnx reproduce --smoke               # the smoke form, minutes: outputs/reproduce-smoke/, no README is touched

Each experiment runs as `nnx run -m experiment=NAME <overrides> hydra.sweep.dir=<out>/NAME` in a child process
(its log: <out>/NAME.log), the overrides from conf/reproduce.yaml. A folder already there is resumed
(`resume_sweep`): jobs that finished ok are kept, so a reproduce that was killed goes on where it stopped. After each
experiment its README's results block is refreshed (not in the smoke form); the course table (<out>/results.md and,
for a full reproduce, README.md's course block) sets each headline number beside the reference report's.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

from omegaconf import OmegaConf

from nnx.errors import NnxError
from nnx.fileio import write_text_atomic
from nnx.paths import checkout_dir, conf_dir
from nnx.report.markdown import markdown_table

START, END = "<!-- nnx:course -->", "<!-- /nnx:course -->"
TOLERANCE = 0.005  # relative: within 0.5 % of the reference's number "matches"


def load_plan() -> dict:
    path = conf_dir() / "reproduce.yaml"
    if not path.is_file():
        raise NnxError(f"{path} is missing: nnx reproduce does not know what to run")
    plan = OmegaConf.to_container(OmegaConf.load(path))
    for name, entry in plan.items():
        if not all(isinstance(arg, str) for arg in [*entry.get("overrides", []), *entry.get("smoke", [])]):
            raise NnxError(f"{path}: {name}'s overrides are not all strings", fix="quote each override in the list")
    return plan


def command(name: str, entry: dict, sweep: Path, smoke: bool) -> list[str]:
    """The `nnx run` arguments for one experiment: a new sweep, or the resume of the one already in `sweep`."""
    overrides = [*entry.get("overrides", []), *(["smoke=true", *entry.get("smoke", [])] if smoke else [])]
    if (sweep / "multirun.yaml").is_file():
        return ["run", f"resume_sweep={sweep}", f"experiment={name}", *overrides]
    return ["run", "-m", f"experiment={name}", *overrides, f"hydra.sweep.dir={sweep}"]


def clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


def matches(row: dict, where: dict) -> bool:
    def same(a, b) -> bool:
        try:
            return math.isclose(float(a), float(b))
        except (TypeError, ValueError):
            return str(a) == str(b)

    return all(same(row.get(key), value) for key, value in where.items())


def verdict(ours, reference, lower_is_better: bool = False) -> str:
    if ours is None or reference is None:
        return "—"
    if isinstance(reference, bool) or isinstance(ours, bool) or isinstance(ours, str):
        return "matches" if str(ours).lower() == str(reference).lower() else "differs"
    tolerance = TOLERANCE * abs(reference)
    better = reference - ours if lower_is_better else ours - reference
    return "beats" if better > tolerance else "matches" if better >= -tolerance else "short"


def headline_row(name: str, entry: dict, sweep: Path) -> dict:
    """One line of the course table, from the sweep's jobs on disk."""
    from nnx.report.run_report import incomparable, read_config
    from nnx.report.summary import collect, job_dirs
    from nnx.sweeps import pick_metric

    spec = entry["headline"]
    row = {"experiment": name, "data": "", "headline": spec.get("label", spec["metric"]), "report": None,
           "ours": None, "verdict": "not run", "jobs ok": "", "compute": ""}
    if not sweep.is_dir() or not job_dirs(sweep):
        return row
    jobs, _, _ = collect(sweep)
    ok = [job for job in jobs if job.get("status") == "ok"]
    chosen = [job for job in ok if matches(job, spec.get("where", {}))]
    values = [job[key] for job in chosen if (key := pick_metric(job, spec["metric"])) is not None]
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        ours = float(f"{sum(values) / len(values):.4g}")  # 4 significant digits: a gradient ratio is 5e-06
    else:
        ours = values[0] if values and all(v == values[0] for v in values) else None
    config = read_config(sweep / chosen[0]["job"]) if chosen else {}
    reference = (config.get("reference") or {}).get(spec.get("reference_key", spec["metric"]))
    judged = "not comparable" if chosen and incomparable(config) else verdict(ours, reference,
                                                                              spec.get("lower_is_better", False))
    row.update(data=next((job["data"] for job in chosen if job.get("data")), config.get("reference_data") or ""),
               report=reference, ours=ours, verdict=judged,
               **{"jobs ok": f"{len(ok)} of {len(jobs)}",
                  "compute": clock(sum(float(job.get("duration_s") or 0) for job in jobs))})
    return row


def course_table(plan: dict, out: Path) -> str:
    rows = [headline_row(name, entry, out / name) for name, entry in plan.items()]
    return (f"{markdown_table(rows)}\n\nbeats / matches / short: above / within {TOLERANCE:.1%} of / below the "
            "reference report's number (lower is better for a loss); not comparable: a smoke run, or other data than "
            "the report's. compute: the sum of the jobs' run times.\n")


def update_course_block(table: str, source: Path, readme: Path) -> None:
    text = readme.read_text()
    if START not in text or END not in text:
        raise NnxError(f"{readme} has no {START} ... {END} block for the course table")
    head, rest = text.split(START, 1)
    body = f"{START}\n_Measured by `nnx reproduce` into `{source}`._\n\n{table}{END}"
    write_text_atomic(readme, head + body + rest.split(END, 1)[1])


def reproduce(names: list[str], smoke: bool = False, out: Path | None = None) -> Path:
    from nnx.report.readme import readme_with_results_block, update_readme

    plan = load_plan()
    unknown = [name for name in names if name not in plan]
    if unknown:
        raise NnxError(f"nnx reproduce: unknown experiment {', '.join(unknown)}", fix=f"choose from {', '.join(plan)}")
    chosen = names or list(plan)
    if not smoke:  # each README's results block is refreshed after its experiment: say what is missing before hours
        for name in chosen:
            readme_with_results_block(name)
    out = Path(out or Path(os.environ.get("NNX_OUTPUT_DIR", "outputs")) / f"reproduce{'-smoke' if smoke else ''}")
    out.mkdir(parents=True, exist_ok=True)
    start, problems = time.time(), []
    for k, name in enumerate(chosen, 1):
        sweep, began = (out / name).resolve(), time.time()
        args = command(name, plan[name], sweep, smoke)
        print(f"[{k}/{len(chosen)}] {name}: nnx {' '.join(args)}  (log: {out / name}.log)", flush=True)
        with open(out / f"{name}.log", "a") as log:
            done = subprocess.run([sys.executable, "-m", "nnx.cli", *args], stdout=log, stderr=subprocess.STDOUT)
        if done.returncode == 130:
            raise KeyboardInterrupt
        outcome = {0: "ok", 1: "some jobs did not finish"}.get(done.returncode, f"error (exit {done.returncode})")
        print(f"[{k}/{len(chosen)}] {name}: {outcome} in {clock(time.time() - began)}, "
              f"{clock(time.time() - start)} so far", flush=True)
        if done.returncode:
            problems.append(name)
            print("  " + "\n  ".join((out / f"{name}.log").read_text().strip().splitlines()[-4:]), file=sys.stderr)
        elif not smoke:
            update_readme(sweep)
    table = course_table({name: plan[name] for name in plan}, out)
    write_text_atomic(out / "results.md", f"# The course, reproduced\n\n{table}")
    if not smoke:
        update_course_block(table, out, checkout_dir() / "README.md")
    if problems:
        raise NnxError(f"nnx reproduce: {', '.join(problems)} did not finish (logs in {out})",
                       fix="fix the cause and run the same command again: finished jobs are kept")
    return out / "results.md"


def reproduce_command(args: list[str], usage: str) -> int:
    """`nnx reproduce [NAME...] [--smoke] [--out DIR]`."""
    smoke, out, names, rest = False, None, [], list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--smoke":
            smoke = True
        elif arg == "--out" and rest:
            out = Path(rest.pop(0)).expanduser()
        elif arg.startswith("-") or "=" in arg:
            raise NnxError(f"nnx reproduce takes experiment names, --smoke and --out DIR (got {arg})\n{usage}")
        else:
            names.append(arg)
    print(f"wrote {reproduce(names, smoke, out)}")
    return 0

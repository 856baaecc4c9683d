"""What a sweep job needs beyond one run: its share of the machine, resuming a killed sweep, Optuna's objective.

Hydra's launchers and sweepers do the scheduling; these helpers only make each job behave well inside them.
"""

from __future__ import annotations

import logging
import math
import os
import re
import sys
import tempfile
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from nnx.errors import NnxError
from nnx.fileio import write_text_atomic
from nnx.overrides import grid_jobs, override_key, task_overrides
from nnx.report.markdown import markdown_table

log = logging.getLogger("nnx")

RESUME_ENV = "NNX_RESUME_SWEEP"  # set by `nnx run resume_sweep=PATH` for every job of the resumed sweep
RESUME_ARG = re.compile(r"\+{0,2}resume_sweep=(.*)")
OPTUNA_RESULTS = "optimization_results.yaml"  # written at the sweep root by hydra-optuna-sweeper
SET_ASIDE = "earlier"  # where a resumed sweep moves the earlier jobs that its new grid no longer holds


# --- a parallel job's share of the machine ------------------------------------------------------------------------

def parallel_jobs(launcher: DictConfig | dict, n_cpus: int) -> int:
    """How many jobs of this sweep run at once on this machine (joblib's n_jobs; 1 for the other launchers)."""
    if "joblib" not in str(launcher.get("_target_", "")).lower():
        return 1
    n_jobs = int(launcher.get("n_jobs") or 1)
    return max(1, n_jobs if n_jobs > 0 else n_cpus + 1 + n_jobs)  # joblib: -1 all CPUs, -2 all but one, ...


def job_device(spec: str, job_num: int, n_gpus: int) -> str:
    """`device=auto` with several GPUs visible: job k goes to cuda:(k mod n). Any explicit device is kept."""
    return f"cuda:{job_num % n_gpus}" if spec == "auto" and n_gpus > 1 else spec


def job_threads(launcher: DictConfig | dict, n_cpus: int) -> int | None:
    """CPU threads for one job: the CPUs split between parallel jobs, or the CPUs a submitit task was given."""
    if launcher.get("cpus_per_task"):
        return int(launcher["cpus_per_task"])
    jobs = parallel_jobs(launcher, n_cpus)
    return max(1, n_cpus // jobs) if jobs > 1 else None


def share_machine(cfg: DictConfig, hydra_cfg: DictConfig) -> None:
    """Pin this sweep job to its GPU (in `cfg.device`, so the run folder records it) and its CPU threads."""
    import torch

    device = job_device(cfg.device, int(hydra_cfg.job.num), torch.cuda.device_count())
    threads = job_threads(hydra_cfg.launcher, os.cpu_count() or 1)
    if threads:
        torch.set_num_threads(threads)
    if device != cfg.device or threads:
        cfg.device = device
        log.info("sweep job %s: device %s, %d CPU threads", hydra_cfg.job.num, device, torch.get_num_threads())


# --- resume ---------------------------------------------------------------------------------------------------------

def free_path(path: Path) -> Path:
    """`path`, or `path_1`, `path_2`, ... when it is taken."""
    found, k = path, 0
    while found.exists():
        k += 1
        found = path.with_name(f"{path.name}_{k}")
    return found


def realign_jobs(sweep_dir: Path, grid: list[dict[str, str]]) -> None:
    """Move each earlier job folder to the number its overrides have in `grid` (Hydra numbers jobs by their place
    in the grid, which a longer, shorter or reordered grid shifts), so that job k finds its own earlier result.
    Earlier jobs outside the grid go to `earlier/<num>` (and come back when a later grid holds them again)."""
    from nnx.report.run_report import read_overrides

    places: dict[frozenset, int] = {}
    for num, job in enumerate(grid):
        places.setdefault(frozenset(job.items()), num)
    aside = sweep_dir / SET_ASIDE
    folders = sorted((p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))
    folders += sorted(p for p in aside.iterdir() if p.is_dir()) if aside.is_dir() else []
    moves, taken = {}, set()
    for folder in folders:
        num = places.get(frozenset(task_overrides(read_overrides(folder)).items()))
        if num is not None and num not in taken:
            taken.add(num)
            moves[folder] = sweep_dir / str(num)
        elif folder.parent != aside:
            moves[folder] = free_path(aside / folder.name)
    moves = {folder: target for folder, target in moves.items() if folder != target}
    if not moves:
        return
    staging = Path(tempfile.mkdtemp(prefix=".resume-", dir=sweep_dir))  # two steps: nothing is overwritten
    for k, folder in enumerate(moves):
        folder.rename(staging / str(k))
    for k, (folder, target) in enumerate(moves.items()):
        target.parent.mkdir(exist_ok=True)
        (staging / str(k)).rename(target)
        why = "not in the new grid" if target.parent == aside else "its place in the new grid"
        print(f"nnx: resume: job {folder.relative_to(sweep_dir)} -> {target.relative_to(sweep_dir)} ({why})",
              file=sys.stderr)
    staging.rmdir()
    if aside.is_dir() and not any(aside.iterdir()):  # every job set aside came back
        aside.rmdir()


def is_optuna_sweep(sweep_dir: Path) -> bool:
    """Optuna's sweeper saves no multirun.yaml; its results file, or a job's recorded sweeper, gives it away."""
    first_job = sweep_dir / "0" / ".hydra" / "hydra.yaml"
    return (sweep_dir / OPTUNA_RESULTS).is_file() or (first_job.is_file() and "OptunaSweeper" in first_job.read_text())


def resume_args(args: list[str]) -> tuple[list[str], Path | None]:
    """`nnx run resume_sweep=PATH [overrides]` -> the earlier sweep's own command, writing into PATH again.

    The overrides typed now replace the earlier ones with the same key (e.g. `hydra/launcher=joblib`, or a longer
    `seed=0,1,2,3,4,5` to extend the sweep); `prepare_resume` then renumbers the earlier job folders to the new
    grid. Each job keeps its earlier result when its config is unchanged and its status is ok (see
    `finished_earlier`), so only the new, missing, failed and diverged jobs run.
    """
    chosen = [m.group(1) for arg in args if (m := RESUME_ARG.fullmatch(arg))]
    if not chosen:
        return args, None
    sweep_dir = Path(chosen[-1]).expanduser().resolve()
    if is_optuna_sweep(sweep_dir):
        raise NnxError("resume_sweep re-runs a grid sweep; an Optuna search samples new trials each time",
                       fix="continue a study: hydra.sweeper.storage=sqlite:///study.db hydra.sweeper.study_name=NAME")
    if not (sweep_dir / "multirun.yaml").is_file():
        raise NnxError(f"resume_sweep={chosen[-1]}: no multirun.yaml there, so it is not a sweep folder",
                       fix="pass outputs/<experiment>/multirun/<stamp> of the sweep to finish")
    from nnx.report.run_report import read_yaml

    saved = read_yaml(sweep_dir / "multirun.yaml", dict).get("hydra") or {}
    if not isinstance(saved.get("overrides"), dict):
        raise NnxError(f"{sweep_dir / 'multirun.yaml'} has no hydra.overrides: not the file Hydra writes")
    earlier = OmegaConf.create(saved)
    typed = [arg for arg in args if not RESUME_ARG.fullmatch(arg) and arg not in ("-m", "--multirun")]
    replaced = {override_key(arg) for arg in typed}
    derived = ("hydra.mode", "hydra.sweep.dir", "hydra.searchpath")  # the CLI adds the search path again
    switched = "hydra/launcher" in replaced  # the earlier launcher's own settings do not fit another launcher
    kept = [o for o in (*earlier.overrides.hydra, *earlier.overrides.task)
            if override_key(o) not in replaced and override_key(o) not in derived
            and not (switched and override_key(o).startswith("hydra.launcher."))]
    return ["-m", *kept, *typed, f"hydra.sweep.dir={sweep_dir}"], sweep_dir


def prepare_resume(sweep_dir: Path, args: list[str]) -> None:
    """Before a resumed sweep launches: check that every job composes (a typo must not move anything), then
    renumber the earlier job folders to the new grid (`realign_jobs`). `args`: the command, groups expanded."""
    from hydra.errors import HydraException

    from nnx.schemas import composing

    try:
        jobs = grid_jobs(args)
    except HydraException as err:  # e.g. a sweep function Hydra's basic sweeper cannot expand alone
        print(f"nnx: resume: job folders left as they are, the new grid is not known here: {err}", file=sys.stderr)
        return
    search = [arg for arg in args if override_key(arg) == "hydra.searchpath"]
    with composing() as compose:
        for num, job in enumerate(jobs):
            try:
                compose(*job, *search)
            except Exception as err:  # Hydra's composition errors: an unknown key, group option or value
                raise NnxError(f"resume_sweep: job {num} ({' '.join(job)}) does not compose "
                               f"({str(err).splitlines()[0]})",
                               fix="check the overrides you added; no job folder was moved") from None
    realign_jobs(sweep_dir, [task_overrides(job) for job in jobs])


def comparable(cfg: DictConfig | dict) -> dict:
    """A job's config minus what may differ between two invocations of the same job: where outputs go, and the
    device (`auto` is placed on cuda:k by the GPUs visible, which a resumed sweep may see differently)."""
    plain = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    plain.pop("paths", None)
    plain.pop("device", None)
    return plain


def finished_earlier(cfg: DictConfig, run_dir: Path) -> bool:
    """True when `run_dir` already holds an `ok` run of exactly this config (written by the runner)."""
    from nnx.report.run_report import read_metrics, read_yaml
    from nnx.runner import apply_smoke

    metrics_path, config_path = run_dir / "metrics.json", run_dir / "config.yaml"
    if not (metrics_path.is_file() and config_path.is_file()):
        return False
    try:
        status, earlier = read_metrics(run_dir).get("status"), read_yaml(config_path, dict)
    except NnxError:  # damaged: run it again
        return False
    same = comparable(earlier) == comparable(apply_smoke(cfg))
    if status == "ok":
        log.info("job %s: %s", run_dir.name, "kept from the earlier sweep" if same else "config changed, running again")
    return status == "ok" and same


# --- Optuna: the objective and the best parameters --------------------------------------------------------------

def pick_metric(metrics: dict, key: str) -> str | None:
    """`key` itself, or the one metric named `<group>/key` (as `primary_metric` matches in summaries)."""
    if key in metrics:
        return key
    grouped = [name for name in metrics if name.endswith("/" + key)]
    return grouped[0] if len(grouped) == 1 else None


def objective(run_dir: Path, key: str) -> float | str:
    """The value an Optuna sweeper optimises: metrics.json[key] as a float. A failed or diverged job (or a
    non-finite value) returns its status instead: the sweeper cannot cast it, so Optuna records a FAILED trial
    that neither crashes the search nor wins it. (NaN would crash hydra-optuna-sweeper 1.3.0.)"""
    import json

    metrics = json.loads((run_dir / "metrics.json").read_text())
    if metrics.get("status") != "ok":
        return metrics.get("status", "missing")
    name = pick_metric(metrics, key)
    if name is None:
        known = ", ".join(k for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool))
        raise NnxError(f"optimize_metric={key!r} is not in {run_dir / 'metrics.json'}", fix=f"use one of: {known}")
    value = metrics[name]
    finite = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if finite else f"{name} is {value}"


def best_parameters_lines(sweep_dir: Path) -> list[str]:
    """summary.md lines for an Optuna sweep: the best parameters, their value, and the command that reruns them."""
    from nnx.report.summary import job_dirs

    sweep_dir = Path(sweep_dir)
    jobs = job_dirs(sweep_dir)
    if not (sweep_dir / OPTUNA_RESULTS).is_file() or not jobs:
        return []
    results = OmegaConf.to_container(OmegaConf.load(sweep_dir / OPTUNA_RESULTS))
    if "best_params" not in results:  # a multi-objective study: the Pareto front is in the file
        return ["## Optuna", "", f"Pareto-optimal trials: see `{OPTUNA_RESULTS}`.", ""]
    job = OmegaConf.load(jobs[0] / ".hydra" / "hydra.yaml").hydra  # the sweeper saves no multirun.yaml
    metric = OmegaConf.load(jobs[0] / ".hydra" / "config.yaml").get("optimize_metric")
    best = results["best_params"]
    # hparams_search stays: its file may fix more than the search space (optim.name, a validation split)
    fixed = [o for o in job.overrides.task if override_key(o) not in (*best, "optimize_metric")]
    command = " ".join(["nnx run", *fixed, *(f"{key}={value}" for key, value in best.items())])
    rows = [{"parameter": key, "value": value} for key, value in best.items()]
    unscored = [f"{trial.name} ({reason})" for trial in jobs if trial_ok(trial)  # ok in summary.md, failed in Optuna
                and isinstance(reason := objective_or_reason(trial, metric), str)]
    return [f"## Best parameters (Optuna: {job.sweeper.direction} {metric})", "", markdown_table(rows), "",
            f"best {metric}: {results['best_value']}", "", f"Run them again: `{command}`", "",
            *([f"Trials Optuna counted as failed (no number to optimise): {', '.join(unscored)}", ""]
              if unscored else [])]


def trial_ok(run_dir: Path) -> bool:
    from nnx.report.run_report import read_metrics

    try:
        return read_metrics(run_dir).get("status") == "ok"
    except NnxError:
        return False


def objective_or_reason(run_dir: Path, key: str) -> float | str:
    """`objective`, with a metric the run lacks as its reason too."""
    try:
        return objective(run_dir, key)
    except NnxError:
        return f"no {key}"


def write_sweep_summary(sweep_dir: Path) -> Path:
    """summary.csv / summary.md (report.summary) plus, after an Optuna search, its best parameters."""
    from nnx.report.summary import write_summary

    out = write_summary(sweep_dir)
    extra = best_parameters_lines(sweep_dir)
    if extra:
        write_text_atomic(out, out.read_text().rstrip() + "\n\n" + "\n".join(extra).rstrip() + "\n")
    return out

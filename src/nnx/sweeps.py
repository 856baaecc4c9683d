"""What a sweep job needs beyond one run: its share of the machine and Optuna's objective (resuming a killed
sweep: `nnx.sweep_resume`).

Hydra's launchers and sweepers do the scheduling; these helpers only make each job behave well inside them.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from nnx.errors import NnxError
from nnx.fileio import write_text_atomic
from nnx.overrides import override_key
from nnx.report.markdown import markdown_table

log = logging.getLogger("nnx")

OPTUNA_RESULTS = "optimization_results.yaml"  # written at the sweep root by hydra-optuna-sweeper


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

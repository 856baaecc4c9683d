"""Resuming a killed sweep, `nnx run resume_sweep=PATH`: the earlier sweep's command again, into the same folder.

Before anything runs, each earlier job folder moves to its place in the new grid and is judged (`plan`): an ok run of
the same config is kept; a run stopped from outside (Ctrl-C, a kill, a time limit) with a checkpoint continues from
it; any other earlier attempt (failed, diverged, or another config: the code's defaults changed) is moved to
`earlier/` and the job runs afresh. No file of an earlier job is ever written over.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
import tempfile
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from nnx.errors import NnxError
from nnx.overrides import grid_jobs, override_key, task_overrides
from nnx.sweeps import OPTUNA_RESULTS

log = logging.getLogger("nnx")

RESUME_ENV = "NNX_RESUME_SWEEP"  # set by `nnx run resume_sweep=PATH` for every job of the resumed sweep
RESUME_ARG = re.compile(r"\+{0,2}resume_sweep=(.*)")
SET_ASIDE = "earlier"  # where a resumed sweep moves the earlier attempts it does not keep or continue
RUNNING = ".nnx-running"  # in a sweep folder while the process that launched it runs: "<host> <pid>"


def mark_running(sweep_dir: Path) -> None:
    sweep_dir.mkdir(parents=True, exist_ok=True)
    (sweep_dir / RUNNING).write_text(f"{socket.gethostname()} {os.getpid()}")


def clear_running(sweep_dir: Path) -> None:
    (sweep_dir / RUNNING).unlink(missing_ok=True)


def check_not_running(sweep_dir: Path) -> None:
    """NnxError when the sweep's launching process still runs: resuming it would run its jobs twice, into the same
    folders. A marker left by a process that is gone (killed) on this host is stale and ignored."""
    marker = sweep_dir / RUNNING
    if not marker.is_file():
        return
    host, _, pid = marker.read_text().strip().partition(" ")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return  # that process is gone
        except PermissionError:
            pass  # another user's process: it runs
    raise NnxError(f"resume_sweep={sweep_dir}: the sweep is still running (process {pid} on {host})",
                   fix=f"wait for it, or stop it first; if it is not running any more, delete {marker}")


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
    grid. Each earlier job is kept, continued or set aside as `plan` decides (`job_to_run` applies it in each job),
    so only the new, missing, stopped, failed, diverged and changed jobs run.
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
    check_not_running(sweep_dir)
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
    """Before a resumed sweep launches: check that every job composes (a typo must not move anything), renumber
    the earlier job folders to the new grid (`realign_jobs`), then set aside each earlier attempt that will not be
    kept or continued (`plan`). `args`: the command, groups expanded."""
    from hydra.errors import HydraException

    from nnx.runner import apply_smoke
    from nnx.schemas import composing

    try:
        jobs = grid_jobs(args)
    except HydraException as err:  # e.g. a sweep function Hydra's basic sweeper cannot expand alone
        print(f"nnx: resume: job folders left as they are, the new grid is not known here: {err}", file=sys.stderr)
        return
    search = [arg for arg in args if override_key(arg) == "hydra.searchpath"]
    configs = []
    with composing() as compose:
        for num, job in enumerate(jobs):
            try:
                configs.append(comparable(apply_smoke(compose(*job, *search), job)))
            except Exception as err:  # Hydra's composition errors: an unknown key, group option or value
                raise NnxError(f"resume_sweep: job {num} ({' '.join(job)}) does not compose "
                               f"({str(err).splitlines()[0]})",
                               fix="check the overrides you added; no job folder was moved") from None
    realign_jobs(sweep_dir, [task_overrides(job) for job in jobs])
    for num, config in enumerate(configs):
        action, why = plan(sweep_dir / str(num), config)
        if action == "set aside":
            target = free_path(sweep_dir / SET_ASIDE / str(num))
            target.parent.mkdir(exist_ok=True)
            (sweep_dir / str(num)).rename(target)
            print(f"nnx: resume: job {num} -> {target.relative_to(sweep_dir)} ({why}; it runs again)", file=sys.stderr)
        elif action == "continue":
            print(f"nnx: resume: job {num}: {why}", file=sys.stderr)


def comparable(cfg: DictConfig | dict) -> dict:
    """A job's config minus what may differ between two invocations of the same job: where outputs go, the device
    (`auto` is placed on cuda:k by the GPUs visible, which a resumed sweep may see differently), and the checkpoint
    a continued job resumed from."""
    plain = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    plain.pop("paths", None)
    plain.pop("device", None)
    if isinstance(plain.get("trainer"), dict):
        plain["trainer"] = {key: value for key, value in plain["trainer"].items() if key != "resume"}
    return plain


def config_changes(earlier: dict, now: dict, prefix: str = "") -> list[str]:
    """The dotted keys whose values differ between two configs (added and removed keys too)."""
    absent = object()
    changed = []
    for key in sorted({*earlier, *now}, key=str):
        before, after = earlier.get(key, absent), now.get(key, absent)
        if isinstance(before, dict) and isinstance(after, dict):
            changed += config_changes(before, after, f"{prefix}{key}.")
        elif before != after:
            changed.append(f"{prefix}{key}")
    return changed


def plan(job_dir: Path, now: dict) -> tuple[str, str]:
    """What a resumed sweep does with the earlier attempt in `job_dir` of the job whose comparable config is `now`,
    and why: "run" (nothing there but Hydra's own files), "keep" (an ok run of this config), "continue" (a run of
    this config stopped from outside, with a last.pt: it trains on in place), or "set aside" (anything else)."""
    from nnx.report.run_report import STOPPED, read_metrics, read_yaml

    if not (job_dir / "config.yaml").is_file() and not (job_dir / "metrics.json").is_file():
        return "run", "nothing ran"  # no folder, or only Hydra's own files
    try:
        status = read_metrics(job_dir).get("status", "unknown")
    except NnxError:
        status = "unreadable"
    try:
        changed = config_changes(comparable(read_yaml(job_dir / "config.yaml", dict)), now)
    except NnxError:  # damaged
        return "set aside", f"{status}, its config.yaml unreadable"
    if changed:
        shown = ", ".join(changed[:4]) + (f" and {len(changed) - 4} more" if len(changed) > 4 else "")
        return "set aside", f"{status}, its config changed: {shown}"
    if status == "ok":
        return "keep", "kept from the earlier sweep"
    if status in STOPPED and "trainer" in now and any(job_dir.glob("*last.pt")):
        return "continue", f"{status}: continues from its last checkpoint"
    return "set aside", status


def job_to_run(cfg: DictConfig, run_dir: Path) -> DictConfig | None:
    """A resumed sweep's job as it starts (after `prepare_resume`): None when its earlier ok run is kept, else the
    config to run, with `trainer.resume` at its own folder when it continues a stopped run."""
    from nnx.runner import apply_smoke

    action, why = plan(run_dir, comparable(apply_smoke(cfg)))
    if action in ("keep", "continue"):
        log.info("job %s: %s", run_dir.name, why)
    if action == "keep":
        return None
    if action == "continue":
        OmegaConf.update(cfg, "trainer.resume", str(run_dir), merge=False)
    return cfg

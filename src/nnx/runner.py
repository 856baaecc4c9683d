"""Runs one experiment inside its Hydra job: validate, seed, pick the device, call it, write metrics and report.

Whatever happens, the run folder ends with metrics.json (status ok | failed | diverged | interrupted) and report.md.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import re
import subprocess
import time
import traceback
from pathlib import Path
from typing import Callable

from omegaconf import DictConfig, OmegaConf

from nnx import console
from nnx.engine.cpu import check_threads, torch_threads
from nnx.engine.optim import OptimizerRecipe
from nnx.errors import NnxError
from nnx.fileio import write_json_atomic
from nnx.overrides import is_hydra_override, override_key
from nnx.registry import DATASETS, MODELS, OPTIMIZERS, settings_from, validate_against
from nnx.run import Run

log = logging.getLogger("nnx")

# Keys every config has (conf/config.yaml); an experiment's schema covers the rest of its top-level keys.
COMMON_KEYS = (
    "name", "description", "source", "seed", "device", "smoke", "smoke_overrides",
    "primary_metric", "reference", "reference_data", "paths", "optimize_metric", "logger", "cpu_threads",
)
GROUP_REGISTRIES = {"data": DATASETS, "model": MODELS}  # checked by `validate`; `optim` by OptimizerRecipe
GROUPS = (*GROUP_REGISTRIES, "optim")


@dataclasses.dataclass
class CommonConfig:
    seed: int = 0
    device: str = "auto"
    smoke: bool = False
    cpu_threads: int | None = None


@dataclasses.dataclass(frozen=True)
class Experiment:
    run: Callable[[DictConfig, Run], None]
    schema: type


def load_experiment(name: str) -> Experiment:
    """An experiment is its package, `nnx.experiments.<name>`: `config.SCHEMA`, its settings' dataclass, and
    `experiment.run(cfg, run)`, its run (importing `experiment.py` registers the models only it uses)."""
    package = f"nnx.experiments.{name}"
    try:
        config = importlib.import_module(f"{package}.config")
        module = importlib.import_module(f"{package}.experiment")
    except ModuleNotFoundError as err:
        if err.name not in (package, f"{package}.config", f"{package}.experiment"):
            raise
        raise NnxError(f"experiment {name!r} has no package {package} with config.py and experiment.py",
                       fix="README: Adding an experiment") from None
    return Experiment(module.run, config.SCHEMA)


def apply_smoke(cfg: DictConfig, overrides: list[str] | None = None) -> DictConfig:
    """`smoke=true`: merge the experiment's `smoke_overrides` (tiny data, few epochs) over its config; a key set on
    the command line (`overrides`, by default the running Hydra job's, e.g. `trainer.epochs=3`) keeps its value."""
    if not cfg.get("smoke") or not cfg.get("smoke_overrides"):
        return cfg
    merged = OmegaConf.merge(cfg, cfg.smoke_overrides)
    absent = object()
    for key in command_line_keys(overrides):
        value = OmegaConf.select(cfg, key, default=absent)
        if value is not absent and not isinstance(value, DictConfig):  # a group choice (data=digits) is no value
            OmegaConf.update(merged, key, value, merge=False)  # a typed null too: data.limit_train=null
    OmegaConf.set_struct(merged, True)
    return merged


def command_line_keys(overrides: list[str] | None) -> list[str]:
    """The config keys a command line sets (`a.b=1`, `+a.b=1`, `seed=1`), Hydra's own excepted."""
    if overrides is None:
        from hydra.core.hydra_config import HydraConfig

        overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    return [override_key(override) for override in overrides if "=" in override and not is_hydra_override(override)]


def validate(cfg: DictConfig, schema: type | None):
    """Check types and keys of every part of the config before anything runs; return the experiment's typed
    settings (its schema's dataclass, filled from the config), which the experiment reads as `run.settings`.

    The data and model groups are checked by their registries (and `optim` by `OptimizerRecipe`), unless the
    experiment's schema declares the group: then the experiment owns its keys (optimizer_compare's `optim` adds
    `impl` and `lrs` to the optimizer names)."""
    validate_against(CommonConfig, {k: cfg.get(k) for k in ("seed", "device", "smoke", "cpu_threads")}, "")
    check_threads(cfg.get("cpu_threads"))
    if not 0 <= cfg.seed < 2**32:
        raise NnxError(f"seed={cfg.seed} must be in [0, 2**32)", fix="e.g. seed=0")
    for group, registry in GROUP_REGISTRIES.items():
        if (part := runners_part(cfg, schema, group, registry)) is not None:
            registry.validate(part, where=group)
    if schema is not None:
        skip = (*COMMON_KEYS, *(group for group in GROUPS if group not in owned_groups(schema)))
        rest = {k: v for k, v in OmegaConf.to_container(cfg, resolve=True).items() if k not in skip}
        return settings_from(schema, rest, "")
    return None


def owned_groups(schema: type | None) -> set[str]:
    """The groups an experiment's schema declares, whose keys it checks itself (optimizer_compare's `optim`)."""
    return {field.name for field in dataclasses.fields(schema)} if schema is not None else set()


def runners_part(cfg: DictConfig, schema: type | None, group: str, registry) -> DictConfig | None:
    """`cfg.<group>` when the runner checks it: a registered name (not Adaline's LMS rule, which its experiment
    checks) in a group the experiment's schema does not own; None otherwise."""
    part = cfg.get(group)
    if group in owned_groups(schema) or not isinstance(part, DictConfig) or part.get("name") not in registry:
        return None
    return part


def group_choices() -> dict[str, str]:
    """The option each config group got in this Hydra job (`variant=l2` -> {"variant": "l2", ...})."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return {}
    return {group: str(option) for group, option in HydraConfig.get().runtime.choices.items() if option is not None}


def open_loggers(cfg: DictConfig, run_dir: Path):
    """The TensorBoard / MLflow loggers `logger=` chooses (None for the CSV alone); a missing package is an
    NnxError naming the extra, raised before any data is read."""
    from nnx import loggers

    chosen = loggers.check_installed(cfg)
    if chosen.tensorboard is None and chosen.mlflow is None:
        return None
    return loggers.Loggers(cfg, run_dir)


def resolve_device(spec: str) -> str:
    import torch

    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
        log.info("device: auto -> %s", spec)
    if spec == "cpu":
        return spec
    if not re.fullmatch(r"cuda(:\d+)?", spec):
        raise NnxError(f"device={spec!r} is not a device", fix="use auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise NnxError(f"device={spec} asked for, but CUDA is not available here", fix="use device=auto or cpu")
    index = int(spec.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise NnxError(f"device={spec}: only {torch.cuda.device_count()} CUDA device(s) here")
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS reproducible across streams
    torch.cuda.set_device(index)  # so work that names no device (pinned memory, streams) lands on this one too
    return spec


def seed_everything(seed: int) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def git_commit() -> str | None:
    """The nnx checkout's commit (wherever the command was started from), or None outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def execute(cfg: DictConfig, run_dir: Path, multirun: bool) -> tuple[str, int]:
    """Run the experiment named by `cfg.name` into `run_dir`; return its status and the exit code it calls for
    (0; 1 failed, 2 a user-fixable error, 130 Ctrl-C), which the CLI turns into the process's exit status."""
    from nnx.report.run_report import build_run_report

    console.use_rich_logging()
    start = time.time()
    run = Run(run_dir, device="?", seed=cfg.get("seed", 0), log=log)
    error, user_error, interrupted = None, False, False
    try:
        experiment = load_experiment(cfg.name)
        cfg = apply_smoke(cfg)
        console.print_config(cfg)
        (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))  # what actually ran
        run.settings = validate(cfg, experiment.schema)
        if (optim := runners_part(cfg, experiment.schema, "optim", OPTIMIZERS)) is not None:
            run.optimizer = OptimizerRecipe.from_config(optim)  # checked once, bound to its class; fit builds it
        run.choices = group_choices()
        run.loggers = open_loggers(cfg, run_dir)
        run.device = resolve_device(cfg.device)
        seed_everything(cfg.seed)
        with torch_threads(run.device, cfg.get("cpu_threads")):
            experiment.run(cfg, run)
    except NnxError as err:
        error, user_error = str(err), True
    except KeyboardInterrupt:
        error, interrupted = "interrupted (Ctrl-C)", True
    except Exception as err:
        error = f"{type(err).__name__}: {err}"
        (run_dir / "traceback.txt").write_text(traceback.format_exc())
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
    finally:
        run.close()
        status = "interrupted" if interrupted else "failed" if error else run.status
        bookkeeping = {
            "experiment": cfg.get("name"),
            "status": status,
            "duration_s": round(time.time() - start, 3),
            "device": run.device,
            "seed": cfg.get("seed"),
            "git_commit": git_commit(),
        }
        if error:
            bookkeeping["error"] = error.splitlines()[0][:500]
        write_json_atomic(run_dir / "metrics.json", bookkeeping | run.metrics)
        build_run_report(run_dir)
        if run.loggers is not None:
            run.loggers.finish(run_dir, bookkeeping | run.metrics)
    if error:
        console.error(error, run_dir)
        if interrupted and multirun:  # Ctrl-C stops the whole sweep (the CLI writes its summary)
            raise KeyboardInterrupt
        return status, 130 if interrupted else 2 if user_error else 1
    log.info("%s: %s in %.1f s -> %s", cfg.name, status, time.time() - start, run_dir)
    return status, 0

"""Resuming a killed run (`trainer.resume`): everything that trains is loaded back from its last.pt, and a resume
whose settings differ from the run's (model, optimizer, lr schedule) is refused rather than silently mixed."""

from __future__ import annotations

from nnx.engine.checkpoint import Checkpoints, set_rng_state
from nnx.errors import NnxError
from nnx.models import load_weights


def restore(where: str, checkpoints: Checkpoints, model, optimizer, scheduler, stopper, bundle) -> dict:
    """Load a killed run's last.pt into everything that trains (weights, optimizer, schedule, early stopping, the
    torch and data RNGs); the saved state, whose history and epoch the loop continues from."""
    state = checkpoints.resume_from(where)
    load_weights(model, state["model"], f"trainer.resume={where}",
                 fix="resume with the model settings of the run that wrote it")
    check_same_optimizer(optimizer, state["optimizer"], where)
    optimizer.load_state_dict(state["optimizer"])
    if (scheduler is None) != (state.get("scheduler") is None):
        then, now = ("an", "none") if scheduler is None else ("no", "one")
        raise NnxError(f"trainer.resume={where}: that run had {then} lr schedule, this one has {now}",
                       fix="resume with the run's own optim.scheduler, or start a new run")
    if scheduler is not None:
        check_same_schedule(scheduler, state["scheduler"], where)
        scheduler.load_state_dict(state["scheduler"])
    stopper.load_state_dict(state["early_stopping"])
    set_rng_state(state["rng"], bundle.device)
    bundle.set_rng_state(state["data_rng"])
    return state


OPTIMIZER_MECHANICS = {"params", "lr", "initial_lr", "capturable", "foreach", "fused", "differentiable"}


def optimizer_settings(group: dict) -> dict:
    """A parameter group's hyper-parameters as configured (its lr before any schedule moved it)."""
    settings = {k: list(v) if isinstance(v, tuple) else v for k, v in group.items() if k not in OPTIMIZER_MECHANICS}
    return settings | {"lr": group.get("initial_lr", group["lr"])}


def check_same_optimizer(optimizer, saved: dict, where: str) -> None:
    """load_state_dict would silently bring back the saved optimizer's settings (or fail on another optimizer's
    state): refuse a resume whose optim settings differ from the run's."""
    sizes = ([len(g["params"]) for g in optimizer.param_groups], [len(g["params"]) for g in saved["param_groups"]])
    if sizes[0] != sizes[1]:
        raise NnxError(f"trainer.resume={where}: its optimizer trained {sizes[1]} parameter tensors per group, this "
                       f"run's {sizes[0]} (another trainable part of the model?)",
                       fix="resume with the run's own model settings (e.g. model.trainable_fraction)")
    for now, then in zip(optimizer.param_groups, saved["param_groups"]):
        now, then = optimizer_settings(now), optimizer_settings(then)
        changed = [f"{key}={then.get(key)} -> {now.get(key)}" for key in sorted(now.keys() | then.keys())
                   if now.get(key) != then.get(key)]
        if changed:
            raise NnxError(f"trainer.resume={where}: its optimizer was built with other settings "
                           f"({', '.join(changed)})", fix="resume with the run's own optim settings, or a new run")


SCHEDULE_PROGRESS = {"last_epoch", "_step_count", "_last_lr", "base_lrs", "_get_lr_called_within_step", "_is_initial"}


def check_same_schedule(scheduler, saved: dict, where: str) -> None:
    """A resumed lr schedule keeps its saved settings (load_state_dict restores them): refuse a silent change, e.g.
    a cosine planned over 10 epochs resumed with trainer.epochs=20 (its lr would reach min_lr, then climb)."""
    for key, value in scheduler.state_dict().items():
        if key not in SCHEDULE_PROGRESS and key in saved and saved[key] != value:
            raise NnxError(f"trainer.resume={where}: its lr schedule has {key}={saved[key]}, this run's {value}",
                           fix="resume with the run's own trainer.epochs and optim.scheduler, or start a new run")

"""`fit`: the one supervised training loop every deep experiment shares.

    result = fit(model, bundle, cfg.trainer, cfg.optim, run)                 # cross-entropy on bundle.train
    result = fit(student, bundle, cfg.trainer, cfg.optim, run, step=distill_step, name="student")

Per epoch: train on shuffled, augmented batches; validate (when the bundle has a val split); log one history row
(epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds; flushed at once; with `trainer.test_each_epoch`
also test_loss and test_acc, cross-entropy and accuracy on the test split, which nothing is chosen on); save
last.pt and, on improvement of the monitored column, best.pt; step the lr schedule; stop early as Keras does. A
non-finite training loss stops the run: status "diverged", history kept. `step(model, x, y) -> (loss, logits or
None)` replaces the default cross-entropy step (distillation, autoencoders); the loop still does backward,
clipping, AMP and the optimizer. The training batches go through `nnx.engine.steps`: eagerly, or with
`trainer.cuda_graph` on CUDA, the default step replayed from a captured CUDA graph.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from typing import Callable

import torch

from nnx import console
from nnx.engine.checkpoint import Checkpoints, prefixed, rng_state
from nnx.engine.config import EarlyStoppingConfig, trainer_config
from nnx.engine.optim import build_optimizer, build_scheduler
from nnx.engine.resume import restore
from nnx.engine.steps import train_epoch, train_step
from nnx.errors import NnxError
from nnx.registry import LOSSES

Step = Callable[[torch.nn.Module, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]]
DIVERGENCE_CHECK_EVERY = 50  # batches between checks of the loss (each check waits for the device)


@dataclasses.dataclass
class FitResult:
    history: list[dict]
    best_epoch: int | None
    last_epoch: int
    stopped_early: bool
    diverged: bool
    seconds: float
    restored_best: bool = False  # the model holds best.pt's weights (best_epoch), not the last epoch's

    def metrics(self) -> dict:
        """The deterministic summary an experiment records: run.metrics_update(result.metrics(), prefix=...).
        Its train/val figures are those of the weights `fit` returned: the best epoch's when best.pt was restored."""
        summary = {"epochs": self.last_epoch, "best_epoch": self.best_epoch, "stopped_early": self.stopped_early,
                   "diverged": self.diverged}
        if self.history:
            row = self.history[-1]
            if self.restored_best:
                row = next(row for row in self.history if row["epoch"] == self.best_epoch)
            summary |= {key: row[key] for key in ("train_loss", "train_acc", "val_loss", "val_acc")
                        if row.get(key) is not None}
        return summary


class EarlyStopping:
    """Keras' rule: stop after `patience` epochs whose monitored value did not beat the best by `min_delta`."""

    def __init__(self, cfg: EarlyStoppingConfig, columns: set[str]):
        if cfg.monitor.startswith("test_"):
            raise NnxError(f"trainer.early_stopping.monitor={cfg.monitor!r}: the test split never chooses a model",
                           fix="monitor val_* (with data.val_fraction > 0) or train_*")
        if cfg.monitor not in columns:
            raise NnxError(f"trainer.early_stopping.monitor={cfg.monitor!r} is not logged here",
                           fix=f"choose one of {', '.join(sorted(columns))} (val_* needs data.val_fraction > 0)")
        self.cfg = cfg
        self.maximize = cfg.mode == "max" or (cfg.mode == "auto" and "acc" in cfg.monitor)
        self.best, self.best_epoch, self.wait = None, None, 0

    def update(self, row: dict) -> bool:
        """Record one epoch's row; True when it improved on the best so far."""
        value = row[self.cfg.monitor]
        sign = 1 if self.maximize else -1
        if self.best is None or sign * (value - self.best) > self.cfg.min_delta:
            self.best, self.best_epoch, self.wait = value, row["epoch"], 0
            return True
        self.wait += 1
        return False

    @property
    def should_stop(self) -> bool:
        """After an epoch that did not improve, once `patience` such epochs ran in a row (patience 0: at the first)."""
        return self.cfg.patience is not None and self.wait > 0 and self.wait >= self.cfg.patience

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]


def supervised_step(loss_fn: torch.nn.Module) -> Step:
    def step(model, x, y):
        logits = model(x)
        return loss_fn(logits, y), logits

    return step


def scoring_step(cfg) -> Step:
    """The default step: `trainer.loss` (with its label smoothing) of the model's logits."""
    cfg = trainer_config(cfg)
    return supervised_step(LOSSES.build({"name": cfg.loss, "label_smoothing": cfg.label_smoothing}))


def is_optimizer(optim) -> bool:
    return hasattr(optim, "step") and hasattr(optim, "zero_grad") and hasattr(optim, "state_dict")


@contextlib.contextmanager
def progress_bar(enabled: bool, label: str):
    """`advance(total, done)`: a rich bar over an epoch's batches on a terminal; nothing otherwise."""
    if not (enabled and console.is_tty()):
        yield lambda *args, **kwargs: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda total, done, description: bar.update(task, total=total, completed=done, description=description)


def run_epoch(model, bundle, split: str, step: Step, cfg) -> tuple[float, float | None]:
    """(mean loss, accuracy or None) of `step` over one pass of `split`, without training."""
    model.eval()
    total_loss = torch.zeros((), device=bundle.device)
    correct = torch.zeros((), device=bundle.device, dtype=torch.long)
    seen, scored = 0, 0
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=cfg.amp and bundle.device.startswith("cuda"))
    with torch.no_grad():
        for x, y in bundle.batches(split, train=False):
            with autocast:
                loss, logits = step(model, x, y)
            total_loss.add_(loss.float(), alpha=len(y))
            seen += len(y)
            if logits is not None:
                correct += (logits.argmax(1) == y).sum()
                scored += len(y)
    return total_loss.item() / max(seen, 1), (correct.item() / scored if scored else None)


def fit(model: torch.nn.Module, bundle, trainer_cfg, optim_cfg, run, *, step: Step | None = None,
        val_step: Step | None = None, name: str = "", scheduler=None,
        on_epoch: Callable[[int], None] | None = None) -> FitResult:
    """Train `model` on `bundle` (see the module docstring). `optim_cfg`: an `optim:` config, or a built optimizer
    (e.g. with parameter groups), then with its built per-epoch `scheduler` if any. `val_step` scores the validation
    split (default: `step`), e.g. `scoring_step(trainer_cfg)` for a model trained on another loss. `on_epoch(epoch)`
    is called after each epoch's training, before validation (e.g. to read statistics gathered by hooks)."""
    cfg = trainer_config(trainer_cfg)
    model.to(bundle.device)
    if is_optimizer(optim_cfg):
        optimizer = optim_cfg
    elif scheduler is not None:  # it would step some other optimizer: never silently dropped
        raise TypeError("fit: a built scheduler needs the built optimizer it steps, not an optim config")
    else:
        optimizer = build_optimizer(optim_cfg, [p for p in model.parameters() if p.requires_grad])
        scheduler = build_scheduler(optim_cfg, optimizer, cfg.epochs)
    scoring = scoring_step(cfg)
    train = train_step(model, step or scoring, optimizer, cfg, bundle, custom_step=step is not None, log=run.log)
    val_step = val_step or step or scoring
    has_val = bundle.val is not None
    if cfg.test_each_epoch and bundle.test is None:
        raise NnxError(f"trainer.test_each_epoch: {bundle.name or 'this data set'} has no test split",
                       fix="use trainer.test_each_epoch=false")
    columns = {"train_loss", "train_acc"} | ({"val_loss", "val_acc"} if has_val else set())
    monitor_cfg = cfg.early_stopping
    if not has_val and cfg.early_stopping.patience is None and monitor_cfg.monitor.startswith("val_"):
        monitor_cfg = dataclasses.replace(monitor_cfg, monitor="train_loss")  # best.pt still needs a yardstick
    stopper = EarlyStopping(monitor_cfg, columns)
    checkpoints = Checkpoints(run.dir, name, enabled=cfg.checkpoint)
    history = run.history(prefixed(name, "history"))
    rows: list[dict] = []
    first_epoch, stopped_early, diverged = 1, False, False
    start = time.perf_counter()

    if cfg.resume and checkpoints.never_started_in(cfg.resume):
        run.log.warning("%s: no %s in %s (the run stopped before it): trained from the start", name,
                        checkpoints.last.name, cfg.resume)
    elif cfg.resume:
        state = restore(cfg.resume, checkpoints, model, optimizer, scheduler, stopper, bundle)
        rows = list(state["history"])
        for row in rows:
            history.log(**row)
        first_epoch, stopped_early = state["epoch"] + 1, state["stopped_early"]
        run.log.info("%sresumed from %s after epoch %d", f"{name}: " if name else "", cfg.resume, state["epoch"])

    label = f"{name} " if name else ""
    with progress_bar(cfg.progress, label) as advance:
        for epoch in range(first_epoch, cfg.epochs + 1):
            if stopped_early:
                break
            tic = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            train_loss, train_acc = train_epoch(train, bundle, DIVERGENCE_CHECK_EVERY, advance,
                                                f"{label}epoch {epoch}/{cfg.epochs}")
            if on_epoch is not None:
                on_epoch(epoch)
            row = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc, "val_loss": None, "val_acc": None,
                   **({"test_loss": None, "test_acc": None} if cfg.test_each_epoch else {}), "lr": lr}
            if not math.isfinite(train_loss):
                diverged = True
                history.log(**row, seconds=time.perf_counter() - tic)
                rows.append(history.rows[-1])
                run.log.warning("%sepoch %d: the training loss is not finite: diverged (lr=%g)", label, epoch, lr)
                break
            if has_val:
                row["val_loss"], row["val_acc"] = run_epoch(model, bundle, "val", val_step, cfg)
            if cfg.test_each_epoch:  # after val: the early-stopping columns never include these
                row["test_loss"], row["test_acc"] = run_epoch(model, bundle, "test", scoring, cfg)
            if scheduler is not None:
                scheduler.step()
            row["seconds"] = time.perf_counter() - tic
            history.log(**row)
            rows.append(history.rows[-1])
            if stopper.update(row):
                checkpoints.save_best(model)
            stopped_early = stopper.should_stop
            checkpoints.save_last({
                "model": model.state_dict(), "optimizer": train.optimizer_state(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None, "epoch": epoch,
                "history": rows, "early_stopping": stopper.state_dict(), "stopped_early": stopped_early,
                "rng": rng_state(bundle.device), "data_rng": bundle.rng_state(),
            })
            run.log.info("%sepoch %d/%d  %s  %.1f s", label, epoch, cfg.epochs, format_row(row), row["seconds"])
            if stopped_early:
                run.log.info("%searly stop: %s has not improved for %d epochs (best %.4g at epoch %d)", label,
                             stopper.cfg.monitor, stopper.wait, stopper.best, stopper.best_epoch)

    restored = False
    if diverged:
        run.status = "diverged"
    elif cfg.restore_best and has_val and checkpoints.enabled and checkpoints.best.is_file():
        model.load_state_dict(torch.load(checkpoints.best, map_location=bundle.device, weights_only=True))
        restored = True
    if cfg.plots and rows:
        from nnx.engine.evaluate import plot_curves

        plot_curves(run, rows, prefixed(name, "curves"))
    last_epoch = rows[-1]["epoch"] if rows else 0
    return FitResult(rows, stopper.best_epoch, last_epoch, stopped_early, diverged, time.perf_counter() - start,
                     restored_best=restored)


def format_row(row: dict) -> str:
    shown = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc")
    return "  ".join(f"{key} {row[key]:.4f}" for key in shown if row.get(key) is not None)

"""`fit`: the one supervised training loop every deep experiment shares.

    result = fit(model, bundle, run.settings.trainer, run.optimizer, run)      # cross-entropy on bundle.train
    result = fit(student, bundle, trainer, run.optimizer, run, step=distill_step, name="student")

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
from nnx.engine.config import trainer_config
from nnx.engine.early_stopping import EarlyStopping
from nnx.engine.optim import OptimizerRecipe
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


def fit(model: torch.nn.Module, bundle, trainer_cfg, optimizer, run, *, step: Step | None = None,
        val_step: Step | None = None, name: str = "", scheduler=None,
        on_epoch: Callable[[int], None] | None = None) -> FitResult:
    """Train `model` on `bundle` (see the module docstring). `optimizer`: an OptimizerRecipe (the runner's
    `run.optimizer`), an `optim:` config, or a built optimizer (e.g. with parameter groups), then with its built
    per-epoch `scheduler` if any. `val_step` scores the validation split (default: `step`), e.g.
    `scoring_step(trainer_cfg)` for a model trained on another loss. `on_epoch(epoch)` is called after each epoch's
    training, before validation (e.g. to read statistics gathered by hooks)."""
    training = Training(model, bundle, trainer_cfg, optimizer, run, step=step, val_step=val_step, name=name,
                        scheduler=scheduler, on_epoch=on_epoch)
    with progress_bar(training.cfg.progress, training.label) as advance:
        for epoch in range(training.first_epoch, training.cfg.epochs + 1):
            if training.stopped_early or training.diverged:
                break
            training.epoch(epoch, advance)
    return training.result()


class Training:
    """One `fit`'s state between epochs: set up (optimizer, schedule, steps, early stopping, checkpoints, history)
    and resumed from `trainer.resume` by the constructor, advanced by `epoch(n)`, summed up by `result()`."""

    def __init__(self, model, bundle, trainer_cfg, optimizer, run, *, step, val_step, name, scheduler, on_epoch):
        cfg = self.cfg = trainer_config(trainer_cfg)
        self.model, self.bundle, self.run, self.name, self.on_epoch = model, bundle, run, name, on_epoch
        model.to(bundle.device)
        if not is_optimizer(optimizer):
            if scheduler is not None:  # it would step some other optimizer: never silently dropped
                raise TypeError("fit: a built scheduler needs the built optimizer it steps, not an optim config")
            recipe = optimizer if isinstance(optimizer, OptimizerRecipe) else OptimizerRecipe.from_config(optimizer)
            optimizer, scheduler = recipe([p for p in model.parameters() if p.requires_grad], cfg.epochs)
        self.optimizer, self.scheduler = optimizer, scheduler
        self.scoring = scoring_step(cfg)
        self.train = train_step(model, step or self.scoring, optimizer, cfg, bundle, custom_step=step is not None,
                                log=run.log)
        self.val_step = val_step or step or self.scoring
        self.has_val = bundle.val is not None
        if cfg.test_each_epoch and bundle.test is None:
            raise NnxError(f"trainer.test_each_epoch: {bundle.name or 'this data set'} has no test split",
                           fix="use trainer.test_each_epoch=false")
        columns = {"train_loss", "train_acc"} | ({"val_loss", "val_acc"} if self.has_val else set())
        monitor_cfg = cfg.early_stopping
        if not self.has_val and cfg.early_stopping.patience is None and monitor_cfg.monitor.startswith("val_"):
            monitor_cfg = dataclasses.replace(monitor_cfg, monitor="train_loss")  # best.pt still needs a yardstick
        self.stopper = EarlyStopping(monitor_cfg, columns)
        self.checkpoints = Checkpoints(run.dir, name, enabled=cfg.checkpoint)
        self.history = run.history(prefixed(name, "history"))
        self.rows: list[dict] = []
        self.first_epoch, self.stopped_early, self.diverged = 1, False, False
        self.label = f"{name} " if name else ""
        self.start = time.perf_counter()
        if cfg.resume:
            self.resume(cfg.resume)

    def resume(self, folder) -> None:
        """Continue from the last epoch `folder`'s checkpoint holds (weights, optimizer, schedule, rng, history)."""
        if self.checkpoints.never_started_in(folder):
            self.run.log.warning("%s: no %s in %s (the run stopped before it): trained from the start", self.name,
                                 self.checkpoints.last.name, folder)
            return
        state = restore(folder, self.checkpoints, self.model, self.optimizer, self.scheduler, self.stopper,
                        self.bundle)
        self.rows = list(state["history"])
        for row in self.rows:
            self.history.log(**row)
        self.first_epoch, self.stopped_early = state["epoch"] + 1, state["stopped_early"]
        self.run.log.info("%sresumed from %s after epoch %d", f"{self.name}: " if self.name else "", folder,
                          state["epoch"])

    def epoch(self, epoch: int, advance) -> None:
        """Train one epoch, then validate, schedule, log, checkpoint and decide on early stopping."""
        cfg, bundle, run, label = self.cfg, self.bundle, self.run, self.label
        tic = time.perf_counter()
        lr = self.optimizer.param_groups[0]["lr"]
        train_loss, train_acc = train_epoch(self.train, bundle, DIVERGENCE_CHECK_EVERY, advance,
                                            f"{label}epoch {epoch}/{cfg.epochs}")
        if self.on_epoch is not None:
            self.on_epoch(epoch)
        row = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc, "val_loss": None, "val_acc": None,
               **({"test_loss": None, "test_acc": None} if cfg.test_each_epoch else {}), "lr": lr}
        if not math.isfinite(train_loss):
            self.diverged = True
            self.history.log(**row, seconds=time.perf_counter() - tic)
            self.rows.append(self.history.rows[-1])
            run.log.warning("%sepoch %d: the training loss is not finite: diverged (lr=%g)", label, epoch, lr)
            return
        if self.has_val:
            row["val_loss"], row["val_acc"] = run_epoch(self.model, bundle, "val", self.val_step, cfg)
        if cfg.test_each_epoch:  # after val: the early-stopping columns never include these
            row["test_loss"], row["test_acc"] = run_epoch(self.model, bundle, "test", self.scoring, cfg)
        if self.scheduler is not None:
            self.scheduler.step()
        row["seconds"] = time.perf_counter() - tic
        self.history.log(**row)
        self.rows.append(self.history.rows[-1])
        if self.stopper.update(row):
            self.checkpoints.save_best(self.model)
        self.stopped_early = self.stopper.should_stop
        self.checkpoints.save_last({
            "model": self.model.state_dict(), "optimizer": self.train.optimizer_state(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None, "epoch": epoch,
            "history": self.rows, "early_stopping": self.stopper.state_dict(), "stopped_early": self.stopped_early,
            "rng": rng_state(bundle.device), "data_rng": bundle.rng_state(),
        })
        run.log.info("%sepoch %d/%d  %s  %.1f s", label, epoch, cfg.epochs, format_row(row), row["seconds"])
        if self.stopped_early:
            stopper = self.stopper
            run.log.info("%searly stop: %s has not improved for %d epochs (best %.4g at epoch %d)", label,
                         stopper.cfg.monitor, stopper.wait, stopper.best, stopper.best_epoch)

    def result(self) -> FitResult:
        """The run's status, the best epoch's weights when `trainer.restore_best` asks, the curves, the summary."""
        restored = False
        if self.diverged:
            self.run.status = "diverged"
        elif (self.cfg.restore_best and self.has_val and self.checkpoints.enabled
              and self.checkpoints.best.is_file()):
            self.model.load_state_dict(torch.load(self.checkpoints.best, map_location=self.bundle.device,
                                                  weights_only=True))
            restored = True
        if self.cfg.plots and self.rows:
            from nnx.engine.evaluate import plot_curves

            plot_curves(self.run, self.rows, prefixed(self.name, "curves"))
        last_epoch = self.rows[-1]["epoch"] if self.rows else 0
        return FitResult(self.rows, self.stopper.best_epoch, last_epoch, self.stopped_early, self.diverged,
                         time.perf_counter() - self.start, restored_best=restored)


def format_row(row: dict) -> str:
    shown = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc")
    return "  ".join(f"{key} {row[key]:.4f}" for key in shown if row.get(key) is not None)

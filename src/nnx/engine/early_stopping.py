"""Early stopping as Keras does it, with the state a checkpoint keeps."""

from __future__ import annotations

from nnx.errors import NnxError
from nnx.schemas import EarlyStoppingConfig


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

"""The `trainer:` config group's schema (`conf/trainer/default.yaml`); put `trainer: TrainerConfig` in an
experiment's schema dataclass so its trainer keys are validated with the rest."""

from __future__ import annotations

import dataclasses

from nnx.errors import NnxError
from nnx.registry import settings_from


@dataclasses.dataclass
class EarlyStoppingConfig:
    monitor: str = "val_loss"     # a history column: val_loss, val_acc, train_loss, train_acc
    patience: int | None = None   # epochs in a row without improvement that stop training (0: the first such
                                  # epoch, as in Keras); None: never stop early
    mode: str = "auto"            # min | max | auto (max for *acc*, min otherwise), as in Keras
    min_delta: float = 0.0        # a change not larger than this is no improvement (>= 0)

    def __post_init__(self) -> None:
        if self.mode not in ("min", "max", "auto"):
            raise NnxError(f"trainer.early_stopping.mode={self.mode!r}: use min, max or auto")
        if (self.patience is not None and self.patience < 0) or self.min_delta < 0:
            raise NnxError(f"trainer.early_stopping: patience={self.patience}, min_delta={self.min_delta}: "
                           "both must be >= 0", fix="mode sets the direction; patience=null never stops early")


@dataclasses.dataclass
class TrainerConfig:
    epochs: int = 10
    loss: str = "cross_entropy"
    label_smoothing: float = 0.0
    clip_grad_norm: float | None = None  # clip the global gradient norm to this value before each step
    amp: bool = False                    # bfloat16 autocast on CUDA (ignored on CPU)
    cuda_graph: bool = False             # on CUDA, replay the default training step from a captured CUDA graph
    early_stopping: EarlyStoppingConfig = dataclasses.field(default_factory=EarlyStoppingConfig)
    checkpoint: bool = True              # last.pt every epoch, best.pt on each improvement of the monitor
    restore_best: bool = True            # after training, load best.pt's weights (when there is a validation split)
    resume: str | None = None            # a run folder or a last.pt to continue from
    plots: bool = True                   # the loss/accuracy curves PNG
    test_each_epoch: bool = False        # also score the test split after each epoch (history test_loss, test_acc;
                                         # cross-entropy whatever the step): a curve only, never a yardstick
    progress: bool = True                # a progress bar (only on a terminal)

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise NnxError(f"trainer.epochs={self.epochs} must be >= 1")


def required(trainer: TrainerConfig, experiment: str, why: str, **settings) -> TrainerConfig:
    """An experiment that needs fixed trainer settings states them in its YAML; a contradicting override is refused
    here, never silently replaced."""
    for key, value in settings.items():
        if getattr(trainer, key) != value:
            raise NnxError(f"trainer.{key}={getattr(trainer, key)}: {experiment} needs {key}={value} ({why})",
                           fix=f"drop the override (trainer.{key}={value})")
    return trainer


def trainer_config(cfg) -> TrainerConfig:
    """A TrainerConfig from a TrainerConfig, dict or DictConfig (unknown key, wrong type or range -> NnxError)."""
    if isinstance(cfg, TrainerConfig):
        return cfg
    from omegaconf import DictConfig, OmegaConf

    params = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg or {})
    return settings_from(TrainerConfig, params, "trainer")

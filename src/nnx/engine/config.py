"""The `trainer:` group in an experiment: its schema `nnx.schemas.TrainerConfig` (put `trainer: TrainerConfig` in the
experiment's schema dataclass so its trainer keys are validated with the rest) and the settings it may require."""

from __future__ import annotations

from nnx.errors import NnxError
from nnx.registry import settings_from
from nnx.schemas import TrainerConfig


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

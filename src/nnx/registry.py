"""One small generic registry: `@REG.register("name", schema=Dataclass)` and `REG.build(cfg, **extra)`.

A schema is a dataclass of the component's config keys, their defaults (stated once: the factory takes them all as
keyword arguments, without defaults of its own) and, in `__post_init__`, their range checks; `build` validates `cfg`
against it (unknown key, wrong type or out of range -> NnxError naming the key) and calls the factory.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from nnx.errors import NnxError


@dataclasses.dataclass
class Entry:
    factory: Callable[..., Any]
    schema: type | None


class Registry:
    def __init__(self, kind: str, home: str | None = None):
        self.kind = kind
        self.home = home  # the package whose import registers the shared entries; imported on the first lookup
        self._entries: dict[str, Entry] = {}

    def _load_home(self) -> None:
        if self.home:
            importlib.import_module(self.home)

    def register(self, name: str, schema: type | None = None):
        def wrap(factory):
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = Entry(factory, schema)
            return factory

        return wrap

    def names(self) -> list[str]:
        self._load_home()
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        self._load_home()
        return name in self._entries

    def get(self, name: str) -> Entry:
        self._load_home()
        if name not in self._entries:
            raise NnxError(f"unknown {self.kind} {name!r}", fix=f"choose one of: {', '.join(self.names())}")
        return self._entries[name]

    def settings(self, cfg: DictConfig | dict, where: str | None = None) -> Any:
        """`cfg` (with its `name`) checked against the entry's schema: that dataclass, filled (or, for an entry
        without a schema, the keys as a dict)."""
        cfg = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)
        entry = self.get(cfg.name)
        params = OmegaConf.to_container(cfg, resolve=True)
        params.pop("name")
        return params if entry.schema is None else settings_from(entry.schema, params, where or self.kind)

    def validate(self, cfg: DictConfig | dict, where: str | None = None) -> dict:
        """Check `cfg` (with its `name`) against the entry's schema; return the keyword arguments."""
        settings = self.settings(cfg, where)
        return settings if isinstance(settings, dict) else dataclasses.asdict(settings)

    def build(self, cfg: DictConfig | dict, **extra) -> Any:
        cfg = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)
        params = self.validate(cfg)
        return self.get(cfg.name).factory(**params, **extra)


def validate_against(schema: type, params: dict, where: str) -> dict:
    """`settings_from` as a dict of keyword arguments."""
    return dataclasses.asdict(settings_from(schema, params, where))


def settings_from(schema: type, params: dict, where: str) -> Any:
    """`params` merged into a structured config of `schema` and made the dataclass itself (its `__post_init__`
    checks the ranges): one clear line for a bad key, type or value."""
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), params)
        checked = OmegaConf.to_object(merged)
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", "") or ""
        message = str(err).splitlines()[0]
        where = ".".join(part for part in (where, str(key)) if part)
        fix = None
        if isinstance(err, ConfigKeyError) and dataclasses.is_dataclass(schema):  # a misspelt key: the valid ones
            fix = f"valid keys: {', '.join(field.name for field in dataclasses.fields(schema))}"
        raise NnxError(f"invalid config value {where}: {message}", fix=fix) from None
    return checked


# The registries every part of nnx registers into. Shared entries are filled by importing their home package (done
# on the first lookup); an experiment's own models by importing that experiment (`nnx.runner.load_experiment`).
DATASETS = Registry("dataset", home="nnx.data")
MODELS = Registry("model", home="nnx.models")
OPTIMIZERS = Registry("optimizer", home="nnx.engine")
LOSSES = Registry("loss", home="nnx.engine")

"""Where users already look: TensorBoard and MLflow beside history.csv, which stays the source of truth.

    nnx run experiment=kd_mnist logger=tensorboard          # event files in <run>/tensorboard/
    nnx run experiment=kd_mnist logger=mlflow               # ./mlruns (or logger.mlflow.tracking_uri=...)
    nnx run experiment=kd_mnist 'logger=[tensorboard,mlflow]'

Every row a run writes to a history CSV reaches each logger as it is written (`Run.history`), under the model's
name when a run trains several (`teacher/train_loss`); at the end each gets the params, the final metrics and the
run's figures (MLflow: the run folder's files, checkpoints aside). A logger that fails mid-run is dropped with one
warning: the CSV history, metrics.json and the report never depend on it.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from nnx.errors import NnxError

log = logging.getLogger("nnx")
EXTRA = "pip install 'nnx[loggers]'  (or: pip install tensorboard mlflow)"


@dataclasses.dataclass
class CsvConfig:
    pass  # history.csv is always written; `logger=csv` adds nothing to it


@dataclasses.dataclass
class TensorBoardConfig:
    log_dir: str = "tensorboard"    # inside the run folder
    figures: bool = True            # the run's PNG figures as images


@dataclasses.dataclass
class MlflowConfig:
    tracking_uri: str | None = None     # null: SQLite in ./mlruns (mlruns/mlflow.db, artifacts in mlruns/artifacts)
    experiment_name: str | None = None  # null: the nnx experiment's name (a sweep's jobs are runs of it)
    artifacts: bool = True              # the run folder's files (checkpoints aside) as the run's artifacts


@dataclasses.dataclass
class LoggerConfig:
    csv: CsvConfig | None = None
    tensorboard: TensorBoardConfig | None = None
    mlflow: MlflowConfig | None = None


def scalar_params(cfg: DictConfig) -> dict[str, Any]:
    """The composed config as flat `a.b.c: value` params (lists as text), without what is not a setting."""
    container = OmegaConf.to_container(cfg, resolve=True)
    for key in ("hydra", "smoke_overrides", "reference", "description", "source", "paths", "logger"):
        container.pop(key, None)
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        else:
            flat[prefix] = value if isinstance(value, (int, float, str, bool)) else str(value)

    walk("", container)
    return flat


def numeric(metrics: dict) -> dict[str, float]:
    """The metrics loggers can plot: numbers (booleans as 0/1), not text."""
    return {key: float(value) for key, value in metrics.items()
            if isinstance(value, (int, float)) and key not in ("seed",)}


def tag(model: str, key: str) -> str:
    return f"{model}/{key}" if model else key


class TensorBoardLogger:
    def __init__(self, cfg: TensorBoardConfig, run_dir: Path, params: dict):
        from torch.utils.tensorboard import SummaryWriter

        self.cfg, self.params = cfg, params
        self.writer = SummaryWriter(log_dir=str(run_dir / cfg.log_dir))

    def log_row(self, model: str, row: dict) -> None:
        step = int(row.get("epoch", 0))
        for key, value in numeric(row).items():
            if key != "epoch":
                self.writer.add_scalar(tag(model, key), value, global_step=step)

    def finish(self, run_dir: Path, metrics: dict) -> None:
        hparams = {key: value for key, value in self.params.items() if value is not None}
        finals = {f"final/{key}": value for key, value in numeric(metrics).items()}
        if finals:
            self.writer.add_hparams(hparams, finals, run_name="hparams")
        if self.cfg.figures:
            import matplotlib.image

            for path in sorted(run_dir.glob("*.png")):
                image = matplotlib.image.imread(path)[..., :3]  # RGBA -> RGB, floats in [0, 1]
                self.writer.add_image(f"figures/{path.stem}", image, dataformats="HWC")
        self.writer.close()


class MlflowLogger:
    def __init__(self, cfg: MlflowConfig, run_dir: Path, params: dict, experiment: str):
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        self.cfg = cfg
        uri, artifacts = tracking_uri(cfg.tracking_uri)
        self.client = MlflowClient(tracking_uri=uri)
        name = cfg.experiment_name or experiment
        found = self.client.get_experiment_by_name(name)
        experiment_id = found.experiment_id if found else self.client.create_experiment(
            name, artifact_location=artifacts)
        tags = {"nnx.run_dir": str(run_dir), "nnx.experiment": experiment}
        self.run_id = self.client.create_run(experiment_id, run_name=run_name(run_dir), tags=tags).info.run_id
        items = [Param(key[:250], str(value)[:6000]) for key, value in params.items()]
        for start in range(0, len(items), 100):  # MLflow takes at most 100 params a batch
            self.client.log_batch(self.run_id, params=items[start:start + 100])

    def log_row(self, model: str, row: dict) -> None:
        import time

        from mlflow.entities import Metric

        step, now = int(row.get("epoch", 0)), int(time.time() * 1000)
        values = [Metric(tag(model, key), value, now, step) for key, value in numeric(row).items() if key != "epoch"]
        self.client.log_batch(self.run_id, metrics=values)

    def finish(self, run_dir: Path, metrics: dict) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        finals = [Metric(f"final/{key}", value, now, 0) for key, value in numeric(metrics).items()]
        self.client.log_batch(self.run_id, metrics=finals, tags=[])
        self.client.set_tag(self.run_id, "nnx.status", str(metrics.get("status")))
        if self.cfg.artifacts:
            for path in sorted(run_dir.rglob("*")):
                if path.is_file() and path.suffix != ".pt":
                    folder = path.parent.relative_to(run_dir).as_posix()
                    self.client.log_artifact(self.run_id, str(path), None if folder == "." else folder)
        ended = "FINISHED" if metrics.get("status") in ("ok", "diverged") else "FAILED"
        self.client.set_terminated(self.run_id, ended)


def tracking_uri(uri: str | None) -> tuple[str, str | None]:
    """The tracking URI and, for the default local store, where artifacts go. MLflow 3 refuses its old file store
    unless told otherwise, so the local default is SQLite inside ./mlruns (`mlflow ui --backend-store-uri
    sqlite:///mlruns/mlflow.db`)."""
    if uri:
        return uri, None
    root = Path("mlruns").resolve()
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'mlflow.db'}", (root / "artifacts").as_uri()


def run_name(run_dir: Path) -> str:
    """A sweep job as `<sweep stamp>/<job>`, a single run as its stamp."""
    parent = run_dir.parent
    return f"{parent.name}/{run_dir.name}" if (parent / "multirun.yaml").is_file() else run_dir.name


def parse(cfg: DictConfig) -> LoggerConfig:
    from nnx.registry import validate_against

    part = cfg.get("logger")
    values = OmegaConf.to_container(part, resolve=True) if isinstance(part, DictConfig) else {}
    return LoggerConfig(**{key: TYPES[key](**(value or {})) if value is not None else None
                           for key, value in validate_against(LoggerConfig, values, "logger").items()})


TYPES = {"csv": CsvConfig, "tensorboard": TensorBoardConfig, "mlflow": MlflowConfig}
PACKAGES = {"tensorboard": "tensorboard", "mlflow": "mlflow"}


def check_installed(cfg: DictConfig) -> LoggerConfig:
    """The logger config, or one clear error naming the extra when a chosen backend is not installed."""
    chosen = parse(cfg)
    for key, package in PACKAGES.items():
        if getattr(chosen, key) is not None and importlib.util.find_spec(package) is None:
            raise NnxError(f"logger={key} needs the {package} package, which is not installed", fix=EXTRA)
    return chosen


class Loggers:
    """Every chosen logger; one that fails is dropped with a warning, never taking the run with it."""

    def __init__(self, cfg: DictConfig, run_dir: Path):
        chosen = check_installed(cfg)
        params = scalar_params(cfg)
        self.active: list = []
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        if chosen.tensorboard is not None:
            self.active.append(TensorBoardLogger(chosen.tensorboard, run_dir, params))
        if chosen.mlflow is not None:
            self.active.append(MlflowLogger(chosen.mlflow, run_dir, params, str(cfg.get("name"))))

    def _each(self, method: str, *args) -> None:
        for logger in list(self.active):
            try:
                getattr(logger, method)(*args)
            except Exception as err:  # a logging backend must never cost the run its results
                log.warning("%s stopped logging: %s", type(logger).__name__, err)
                self.active.remove(logger)

    def log_row(self, history_name: str, row: dict) -> None:
        self._each("log_row", history_name.removesuffix("history").rstrip("_"), row)

    def finish(self, run_dir: Path, metrics: dict) -> None:
        self._each("finish", run_dir, metrics)
        self.active.clear()

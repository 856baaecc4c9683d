"""The shared config groups' schemas; `register_schemas()` puts them in Hydra's ConfigStore before it composes.

    data:    DataConfig (every image data set), IrisConfig, MoonsConfig
    model:   MlpConfig, AdalineConfig (the shared models; an experiment's own models: its config.py)
    optim:   OptimConfig (every optimizer) with its SchedulerConfig
    trainer: TrainerConfig with its EarlyStoppingConfig

Each YAML of these groups names its schema in its defaults list (`- /schema/data/image@_here_`) and states only what
differs from it, so Hydra checks keys and types while composing, before any run folder exists; the ranges are
checked by `__post_init__` when the registry or an experiment's schema turns the group into its dataclass.
This module imports no torch: the CLI composes (and completes on TAB) without it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import typing
from typing import Any

from nnx.errors import NnxError

NORMALIZE_CHOICES = ("dataset", "imagenet", "none")
LOADER_CHOICES = ("auto", "tensor", "torch")
IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
SCHEDULERS = ("none", "step", "cosine", "exponential")


@dataclasses.dataclass
class DataConfig:
    root: str | None = None          # where the files are (or go, with download=true); None: the data set's default
    download: bool = False           # fetch with torchvision when absent (needs a network)
    batch_size: int = 64
    val_fraction: float = 0.0        # stratified, seeded split of the training set; 0: no validation split
    limit_train: int | None = None   # keep this many training samples (stratified): smoke configs
    limit_test: int | None = None
    normalize: str = "dataset"       # dataset (train mean/std per channel) | imagenet | none (just /255)
    augment: list[Any] = dataclasses.field(default_factory=list)  # e.g. [flip, {name: crop, padding: 4}]
    loader: str = "auto"             # tensor (all in device memory) | torch (DataLoader) | auto (by size)
    num_workers: int = 2             # DataLoader workers (loader=torch only)
    cache_dir: str | None = None     # decoded tensors are cached here; None: $NNX_CACHE_DIR or ~/.cache/nnx
    image_size: int | None = None    # folder data sets: resize to image_size x image_size (None: the files' size)
    test_fraction: float = 0.25      # data sets without an official test split (digits)
    max_memory_mb: int = 1536        # loader=auto: above this decoded size, use the torch DataLoader


@dataclasses.dataclass
class IrisConfig:
    features: list[str] = dataclasses.field(default_factory=lambda: list(IRIS_FEATURES))  # any non-empty subset
    test_fraction: float = 0.2


@dataclasses.dataclass
class MoonsConfig:
    n_samples: int = 500
    noise: float = 0.2
    test_fraction: float = 0.2


ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu", "leaky_relu", "elu")  # nnx.models.mlp builds each


def check_activation(name: str) -> None:
    if name not in ACTIVATIONS:
        raise NnxError(f"model.activation={name!r} is unknown", fix=f"choose one of: {', '.join(ACTIVATIONS)}")


@dataclasses.dataclass
class MlpConfig:
    hidden: list[int] = dataclasses.field(default_factory=lambda: [128, 128])  # widths of the hidden layers
    activation: str = "relu"    # relu | tanh | sigmoid | gelu | leaky_relu | elu
    dropout: float = 0.0        # after every hidden activation
    input_dropout: float = 0.0  # on the inputs (Hinton et al.'s regularised nets: 0.2)

    def __post_init__(self):
        for key in ("dropout", "input_dropout"):
            if not 0 <= getattr(self, key) < 1:
                raise NnxError(f"model.{key}={getattr(self, key)} must be in [0, 1)")


@dataclasses.dataclass
class AdalineConfig:
    update: str = "batch"  # batch: one averaged step per epoch | online: one step per sample, shuffled each epoch


@dataclasses.dataclass
class SchedulerConfig:
    name: str = "none"       # none | step | cosine | exponential; stepped once per epoch
    step_size: int = 10      # step: multiply the lr by gamma every step_size epochs
    gamma: float = 0.1       # step, exponential: the factor
    min_lr: float = 0.0      # cosine: the lr it anneals to, reached after the last epoch

    def __post_init__(self) -> None:
        if self.name not in SCHEDULERS:
            raise NnxError(f"optim.scheduler.name={self.name!r} is unknown",
                           fix=f"choose one of: {', '.join(SCHEDULERS)}")


@dataclasses.dataclass
class OptimConfig:
    lr: float = 0.001
    weight_decay: float = 0.0    # L2 penalty (sgd, momentum, nesterov, rmsprop, adam); decoupled for adamw
    momentum: float = 0.0        # sgd, momentum, nesterov, rmsprop
    betas: list[float] = dataclasses.field(default_factory=lambda: [0.9, 0.999])  # adam, adamw
    eps: float = 1e-8            # rmsprop, adam, adamw
    alpha: float = 0.99          # rmsprop: smoothing of the squared-gradient average
    scheduler: SchedulerConfig = dataclasses.field(default_factory=SchedulerConfig)

    def __post_init__(self) -> None:
        for key in ("lr", "weight_decay", "momentum", "eps", "alpha"):
            value = getattr(self, key)
            if not value >= 0:  # NaN too
                raise NnxError(f"optim.{key}={value} must be >= 0", fix=f"e.g. optim.{key}={OPTIM_EXAMPLES[key]}")
        check_betas(self.betas)


OPTIM_EXAMPLES = {"lr": 0.001, "weight_decay": 0.0005, "momentum": 0.9, "eps": 1e-8, "alpha": 0.99}


def check_betas(betas) -> tuple[float, float]:
    """Adam's (beta1, beta2), each in [0, 1), or a clear error."""
    betas = tuple(betas)
    if len(betas) != 2 or not all(0 <= beta < 1 for beta in betas):
        raise NnxError(f"optim.betas={list(betas)}: Adam takes two decay rates, each in [0, 1)",
                       fix="e.g. optim.betas=[0.9,0.999]")
    return betas


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


def _named(schema: type) -> type:
    """The schema as a group's YAML sees it: its fields plus `name`, the registry entry the YAML chooses."""
    return dataclasses.make_dataclass(schema.__name__, [("name", str, "???")], bases=(schema,))


def experiment_configs() -> dict:
    """Each experiment's `nnx.experiments.<name>.config` module (torch-free, like this one): `SCHEMA`, its settings'
    schema, and `MODEL_SCHEMAS`, its own models' (where it has any)."""
    import importlib.util
    import pkgutil

    from nnx import experiments

    return {package.name: importlib.import_module(f"nnx.experiments.{package.name}.config")
            for package in pkgutil.iter_modules(experiments.__path__)
            if importlib.util.find_spec(f"nnx.experiments.{package.name}.config") is not None}


def model_schemas(configs: dict) -> dict[str, type]:
    """`model=<name>` -> its schema: the shared models' (here) and each experiment's own (`experiment_configs()`)."""
    own = {name: schema for config in configs.values() for name, schema in getattr(config, "MODEL_SCHEMAS", {}).items()}
    return {"mlp": MlpConfig, "adaline": AdalineConfig, **own}


def own_settings(schema: type):
    """An experiment's schema as its YAML extends it, at the config's root: its nested settings typed (e.g. `kd`),
    its scalar root keys as typed value nodes (`forest_trees=many` is refused while composing), and without
    `trainer`, which the trainer group's own schema types. The root itself stays untyped: other groups merge in."""
    from omegaconf import OmegaConf

    typed = OmegaConf.structured(schema)
    hints = typing.get_type_hints(schema)
    return OmegaConf.create({key: typed_value(typed[key], hints[key]) for key in typed
                             if hints[key] is not TrainerConfig})


def typed_value(value, hint):
    """A scalar `value` as OmegaConf's value node of its type `hint` (int, float, bool, str, or Optional of one);
    anything else (a nested config, a list) as it is: OmegaConf.structured typed it already."""
    import omegaconf

    args = typing.get_args(hint)
    optional = type(None) in args
    base = next(arg for arg in args if arg is not type(None)) if optional and len(args) == 2 else hint
    nodes = {int: omegaconf.IntegerNode, float: omegaconf.FloatNode, bool: omegaconf.BooleanNode,
             str: omegaconf.StringNode}
    return nodes[base](value, is_optional=optional) if base in nodes else value


def register_schemas() -> None:
    """Store the schemas as `schema/<group>/<name>` (what the group YAMLs name in their defaults); idempotent."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    configs = experiment_configs()
    for name, config in configs.items():
        store.store(group="schema/experiment", name=name, node=own_settings(config.SCHEMA))
    for group, name, schema in (("data", "image", DataConfig), ("data", "iris", IrisConfig),
                                ("data", "moons", MoonsConfig), ("optim", "optimizer", OptimConfig),
                                *(("model", name, schema) for name, schema in model_schemas(configs).items())):
        store.store(group=f"schema/{group}", name=name, node=_named(schema))
    store.store(group="schema/trainer", name="trainer", node=TrainerConfig)


@contextlib.contextmanager
def composing():
    """Hydra's compose API over nnx's configs, schemas registered: `with composing() as compose: compose(...)`,
    where `compose(*overrides, hydra=False)` composes `config` as `nnx run` would (without expanding experiment
    groups: `nnx.cli.experiment_groups` does that)."""
    from hydra import compose, initialize_config_dir

    from nnx.paths import conf_dir

    register_schemas()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        yield lambda *overrides, hydra=False: compose("config", overrides=list(overrides), return_hydra_config=hydra)

"""`nnx eval RUN_DIR [--last] [overrides]`: score a finished run's saved model again, without training.

    nnx eval outputs/cifar_cnn_sweep/<stamp>                      # its best.pt on its own test split
    nnx eval outputs/fashion_overfit/<stamp> --last data.limit_test=1000
    nnx eval outputs/kd_mnist/<stamp> data=fashion_mnist          # another data set of the same shape

Every classifier the run saved (`best.pt`, or `<model>_best.pt` for kd's teacher, student and distilled student;
`last.pt` with --last) is rebuilt from the run's config.yaml and scored on the test split of the run's data, or of
the data the overrides name. The results go to a new folder inside the run, `eval/<stamp>/`: metrics.json, each
model's confusion matrix and scikit-learn's per-class precision / recall / F1 report.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from nnx.errors import NnxError
from nnx.fileio import write_json_atomic

# The config key that describes each saved model, by checkpoint name ("" is a run's single model).
MODEL_KEYS = {"": "model", "teacher": "teacher", "student": "student", "kd": "student"}
NO_CLASSIFIER = {"dac_mnist": "its autoencoders cluster; they predict no class",
                 "optimizer_compare": "it compares optimizer trajectories and saves no model"}


def saved_models(run_dir: Path, which: str) -> dict[str, Path]:
    """checkpoint name -> file, for every classifier the run saved."""
    found = {}
    for path in sorted(run_dir.glob(f"*{which}.pt")):
        name = path.stem.removesuffix(which).removesuffix("_")
        if name in MODEL_KEYS:
            found[name] = path
    return found


def weights_of(path: Path, name: str) -> dict:
    from nnx.engine.checkpoint import load_state

    state = load_state(path)
    state = state.get("model", state) if "optimizer" in state else state  # last.pt holds more than the weights
    if name == "kd":  # the distilled student was trained inside a Distiller (student + hint projection)
        state = {key.removeprefix("student."): value for key, value in state.items() if key.startswith("student.")}
    return state


def eval_data_config(cfg, overrides: list[str]):
    """The run's data config, with `data=<name>` swapping in that data set's YAML and `data.key=value` set on top."""
    from omegaconf import OmegaConf

    from nnx.paths import conf_dir

    data = cfg.data
    for override in overrides:
        key, _, value = override.partition("=")
        if key == "data":
            path = conf_dir() / "data" / f"{value}.yaml"
            if not path.is_file():
                names = ", ".join(sorted(p.stem for p in (conf_dir() / "data").glob("*.yaml")))
                raise NnxError(f"data={value}: no such data set", fix=f"one of {names}")
            keep = {k: data[k] for k in ("normalize", "image_size") if k in data}  # the model's input, as trained
            data = OmegaConf.merge(data_group_config(value), keep)
        elif key.startswith("data."):
            OmegaConf.update(data, key.removeprefix("data."), OmegaConf.create({"v": value}).v, merge=True)
        else:
            raise NnxError(f"nnx eval takes data overrides only, not {override!r}",
                           fix="e.g. data=fashion_mnist or data.limit_test=1000")
    return data


def data_group_config(name: str):
    """`conf/data/<name>.yaml` composed over its schema, as `nnx run ... data=<name>` would give it."""
    from nnx.schemas import composing

    with composing() as compose:
        return compose(f"data={name}").data


def evaluate_run(run_dir: Path, overrides: list[str], which: str = "best") -> Path:
    import torch
    from omegaconf import OmegaConf
    from sklearn.metrics import classification_report

    from nnx.data import load
    from nnx.engine import evaluate
    from nnx.engine.evaluate import predict
    from nnx.models import load_weights
    from nnx.registry import MODELS
    from nnx.run import Run
    from nnx.runner import load_experiment

    config_path = run_dir / "config.yaml"
    if not config_path.is_file():
        raise NnxError(f"{run_dir}: no config.yaml, so not an nnx run folder", fix="pass outputs/<name>/<stamp>")
    cfg = OmegaConf.load(config_path)
    if cfg.name in NO_CLASSIFIER:
        raise NnxError(f"{cfg.name} cannot be evaluated again: {NO_CLASSIFIER[cfg.name]}")
    models = saved_models(run_dir, which)
    if not models:
        saved = any(run_dir.glob("*.pt"))
        kind = f"no {which}.pt there" if saved else "it saved no checkpoint (classic learners keep none)"
        raise NnxError(f"{run_dir}: nothing to evaluate ({cfg.name}: {kind})",
                       fix="evaluate a run of a deep experiment" + ("" if which == "last" else ", or add --last"))
    load_experiment(cfg.name)  # registers its models
    data_cfg = eval_data_config(cfg, overrides)
    out = run_dir / "eval" / datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S_%f")
    run = Run(out)
    bundle = load(data_cfg, device="cpu", seed=int(cfg.get("seed", 0)), run=run)
    for name, path in models.items():
        model = MODELS.build(cfg[MODEL_KEYS[name]], input_shape=bundle.input_shape, num_classes=bundle.num_classes)
        load_weights(model, weights_of(path, name), f"{path} (built for {bundle.title})",
                     fix="evaluate on data of the shape and classes the run trained on")
        with torch.no_grad():
            metrics = evaluate(model, bundle, "test", run, name=name)
        run.metrics_update({k: v for k, v in metrics.items() if not k.startswith("test_acc_")},
                           prefix=f"{name}/" if name else "")
        truth, predicted, _ = predict(model, bundle, "test")
        report = classification_report(truth, predicted, labels=list(range(bundle.num_classes)),
                                       target_names=bundle.classes, output_dict=True, zero_division=0)
        run.table(f"{name + '_' if name else ''}classification_report",
                  [{"class": c, **row} for c, row in report.items() if isinstance(row, dict)],
                  title=f"{name or cfg.name}: precision, recall, F1 per class (scikit-learn)")
    run.metric("checkpoint", which)
    write_json_atomic(out / "metrics.json", {"experiment": cfg.name, "run": str(run_dir), **run.metrics})
    return out

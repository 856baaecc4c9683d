"""cifar_cnn_sweep's run (its settings: config.py; what it does: the package's docstring)."""

from __future__ import annotations

import math

from nnx.engine import evaluate, fit
from nnx.engine.cpu import flush_subnormals
from nnx.errors import NnxError
from nnx.experiments.cifar_cnn_sweep import cnn, figures, mobilenet
from nnx.models import count_parameters
from nnx.registry import MODELS

__all__ = ["cnn", "mobilenet", "run"]   # importing this package registers model=cnn, model=mobilenet_v2 and the run


def finite(values) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def table_metrics(result) -> dict:
    """The report's table for one run: minima and maxima over the epochs, epochs run, training time."""
    history = result.history
    train_loss = finite(row["train_loss"] for row in history)
    val_loss, val_acc = finite(row["val_loss"] for row in history), finite(row["val_acc"] for row in history)
    return {
        "min_train_loss": min(train_loss, default=None),
        "min_val_loss": min(val_loss, default=None),
        "epochs": result.last_epoch,
        "train_s": round(result.seconds, 2),
        "max_val_acc": max(val_acc, default=None),
    }


def draw_filters_and_maps(run, model, bundle, image_index: int, variant: str) -> None:
    weight = figures.first_conv(model).weight.detach().float().cpu().numpy()
    columns = min(8, len(weight))
    with run.figure("kernels", figsize=(1.3 * columns, 1.5 * math.ceil(len(weight) / columns) + 0.4)) as fig:
        figures.kernels_figure(fig, weight, columns)
    raw = bundle.test.x[image_index:image_index + 1]
    blocks = getattr(model, "feature_blocks", None) or [figures.first_conv(model)]
    maps = figures.feature_maps(model, blocks, bundle.prepare(raw))
    label = bundle.classes[int(bundle.test.y[image_index])]
    columns = max(min(16, len(m)) for m in maps)
    with run.figure("feature_maps", figsize=(max(4.0, 0.9 * columns), 1.3 * (len(maps) + 1) + 0.4)) as fig:
        figures.feature_maps_figure(fig, raw[0].cpu().numpy(), maps,
                                        f"{variant}: test image {image_index} ({label}) after each conv block")


def run(cfg, run) -> None:
    from nnx.data import load

    with flush_subnormals(run.device):
        bundle = load(cfg.data, device=run.device, seed=run.seed, run=run)
        if not 0 <= cfg.feature_image < len(bundle.test):
            raise NnxError(f"feature_image={cfg.feature_image} is not one of the {len(bundle.test)} test images")
        model = MODELS.build(cfg.model, input_shape=bundle.input_shape, num_classes=bundle.num_classes)
        n_params = count_parameters(model.parameters())
        variant = run.choices["variant"]  # the report's run this config reproduces
        run.log.info("%s: %s, %d parameters", variant, cfg.model.name, n_params)
        if cfg.max_params is not None and n_params > cfg.max_params:
            raise NnxError(f"{variant}: the model has {n_params:,} parameters, more than max_params="
                           f"{cfg.max_params:,}", fix="choose fewer or narrower conv layers, or raise max_params")

        result = fit(model, bundle, run.settings.trainer, run.optimizer, run)

        run.metrics_update(table_metrics(result))
        if not result.diverged:
            test = evaluate(model, bundle, "test", run)
            run.metrics_update({key: test[key] for key in ("test_acc", "test_loss")})
        run.metrics_update({"best_epoch": result.best_epoch, "stopped_early": result.stopped_early,
                            "diverged": result.diverged, "n_params": n_params})
        if getattr(model, "pretrained", None) is not None:
            run.metric("pretrained", model.pretrained)
        if not result.diverged:
            draw_filters_and_maps(run, model, bundle, cfg.feature_image, variant)

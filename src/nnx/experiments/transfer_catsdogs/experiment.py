"""transfer_catsdogs' run (its settings: config.py; what it does: the package's docstring)."""

from __future__ import annotations

import statistics
import time

import torch

from nnx.engine import OptimizerRecipe, TrainerConfig, evaluate, fit, required
from nnx.errors import NnxError
from nnx.experiments.transfer_catsdogs import backbones  # importing it registers model=transfer
from nnx.experiments.transfer_catsdogs.config import LITE
from nnx.experiments.transfer_catsdogs.features import feature_bundle
from nnx.experiments.transfer_catsdogs.figures import misclassified_grid, pca_scatter
from nnx.experiments.transfer_catsdogs.lite import check_available
from nnx.registry import MODELS


def check(cfg, trainer: TrainerConfig) -> None:
    """val/ is the held-out set: nothing may be chosen on it, and it is not carved from train/."""
    if trainer.early_stopping.patience is not None and not trainer.early_stopping.monitor.startswith("train_"):
        raise NnxError(f"trainer.early_stopping.monitor={trainer.early_stopping.monitor}: val/ is the held-out set "
                       "here, and early stopping on it would choose the epoch on it",
                       fix="monitor train_loss or train_acc, or leave trainer.early_stopping.patience=null")
    if cfg.data.get("val_fraction", 0):
        raise NnxError("data.val_fraction: this experiment evaluates on the folder's own val/ split",
                       fix="use data.val_fraction=0")


def run(cfg, run) -> None:
    from nnx.data import load

    trainer = required(run.settings.trainer, "transfer_catsdogs", "val/ is its test set: no epoch is chosen on "
                       "it", restore_best=False)
    check(cfg, trainer)
    if cfg.model.backbone in LITE:  # a missing package is said before any image is decoded
        check_available(cfg.model.backbone, cfg.model.weights, cfg.model.weights_path)
    if cfg.data.image_size is None:  # the size the backbone was trained at
        cfg.data.image_size = backbones.input_size(cfg.model.backbone)
    run.metric("image_size", cfg.data.image_size)
    bundle = load(cfg.data, device=run.device, seed=run.seed, run=run)
    bundle.val = bundle.test  # val/ is logged each epoch as Keras did (see the module docstring)
    model = MODELS.build(cfg.model, input_shape=bundle.input_shape, num_classes=bundle.num_classes).to(run.device)
    if run.device.startswith("cuda"):
        model.to(memory_format=torch.channels_last)
    run.metrics_update(model.parameter_counts(), prefix="model/")
    optimizer, scheduler = transfer_optimizer(run.optimizer, model, trainer.epochs)

    if model.frozen and cfg.feature_cache:
        tic = time.perf_counter()
        features = feature_bundle(model.backbone, bundle, amp=trainer.amp)
        run.metric("feature_seconds", time.perf_counter() - tic)
        run.log.info("features of the frozen %s: %s in %.1f s", cfg.model.backbone, tuple(features.train.x.shape),
                     run.metrics["feature_seconds"])
        result = fit(model.classifier, features, trainer, optimizer, run, scheduler=scheduler)
    else:
        result = fit(model, bundle, trainer, optimizer, run, scheduler=scheduler)
        features = None if result.diverged else feature_bundle(model.backbone, bundle, amp=trainer.amp)
    run.metrics_update(result.metrics())
    if result.history:
        run.metric("seconds_per_epoch", statistics.fmean(row["seconds"] for row in result.history))
    if result.diverged:
        return

    run.metrics_update(evaluate(model.classifier, features, "val", run))  # val_acc, confusion_matrix.*
    record_mistakes(run, model, features, bundle, cfg.misclassified_shown)
    run.metrics_update(feature_classifiers(features, run.seed, cfg.forest_trees))
    train_x, val_x = features.train.x.cpu().numpy(), features.val.x.cpu().numpy()
    ratio = pca_scatter(run, train_x, val_x, features.val.y.cpu().numpy(), bundle.classes)
    run.metrics_update({"pc1_variance": ratio[0], "pc2_variance": ratio[1]}, prefix="pca/")
    beside_report(run, cfg.report_tables, cfg.model.trainable_fraction)


def transfer_optimizer(recipe: OptimizerRecipe, model, epochs: int = 1):
    """(optimizer, scheduler or None): the head at optim.lr, the fine-tuned backbone layers at optim.lr x
    model.backbone_lr_scale; `optim.scheduler` scales both groups alike, once per epoch."""
    groups = [{"params": list(model.classifier.parameters())}]
    backbone = [p for p in model.backbone.parameters() if p.requires_grad]
    if backbone:
        groups.append({"params": backbone, "lr": recipe.settings.lr * model.backbone_lr_scale})
    return recipe(groups, epochs)


@torch.no_grad()
def record_mistakes(run, model, features, bundle, limit: int) -> None:
    """misclassified.png: the validation images the head gets wrong, most confident first."""
    model.classifier.eval()
    probabilities = torch.cat([model.classifier(x).float().softmax(1)
                               for x, _ in features.batches("val", shuffle=False, train=False)]).cpu().numpy()
    predicted = probabilities.argmax(1)
    misclassified_grid(run, lambda index: bundle.val.raw(index).cpu().numpy(), features.val.y.cpu().numpy(),
                       predicted, probabilities.max(1), bundle.classes, limit)


def feature_classifiers(features, seed: int, trees: int) -> dict:
    """Part 2: scikit-learn classifiers on the penultimate features (train split) scored on val/."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = features.train.x.cpu().numpy(), features.train.y.cpu().numpy()
    x_val, y_val = features.val.x.cpu().numpy(), features.val.y.cpu().numpy()
    forest = RandomForestClassifier(n_estimators=trees, random_state=seed, n_jobs=torch.get_num_threads()).fit(x, y)
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x, y)
    return {"rf/train_acc": forest.score(x, y), "rf/val_acc": forest.score(x_val, y_val),
            "logreg/train_acc": logistic.score(x, y), "logreg/val_acc": logistic.score(x_val, y_val)}


def beside_report(run, report_tables: dict, fraction: float) -> None:
    """vs_report.md: our numbers beside the report's three backbones at the same trainable fraction."""
    columns = {}
    for backbone, by_fraction in report_tables.items():
        match = [numbers for key, numbers in by_fraction.items() if float(key) == fraction]
        if match:
            columns[f"report {backbone}"] = match[0]
    if not columns:
        return
    keys = ("train_acc", "val_acc", "rf/val_acc")
    rows = [{"metric": key, "ours": run.metrics.get(key), **{name: numbers.get(key) for name, numbers in
                                                             columns.items()}} for key in keys]
    title = f"Ours beside the report's Tables 1-3 at trainable fraction {float(fraction)}"
    run.table("vs_report", rows, title=title)

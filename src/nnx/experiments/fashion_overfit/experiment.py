"""fashion_overfit's run (its settings: config.py; what it does: the package's docstring)."""

from __future__ import annotations

import math

import torch

from nnx.engine import evaluate, fit, predict, required, scoring_step
from nnx.errors import NnxError
from nnx.experiments.fashion_overfit import figures
from nnx.models import count_parameters
from nnx.registry import MODELS


def weight_l1(model: torch.nn.Module) -> torch.Tensor:
    """sum |w| over every weight matrix (parameters with 2+ dimensions); biases are not penalised."""
    return sum(w.abs().sum() for w in weight_matrices(model))


def weight_matrices(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p for p in model.parameters() if p.dim() > 1]


def sparsity(model: torch.nn.Module, threshold: float) -> dict:
    """The fraction of weights with |w| < threshold, over all weight matrices and per layer (biases aside)."""
    weights = weight_matrices(model)
    small = [int((w.abs() < threshold).sum()) for w in weights]
    return {"sparsity": sum(small) / sum(w.numel() for w in weights),
            **{f"sparsity_layer{i}": n / w.numel() for i, (n, w) in enumerate(zip(small, weights), start=1)}}


def max_norm_after_each_step(optimizer: torch.optim.Optimizer, model: torch.nn.Module, limit: float) -> None:
    """Srivastava et al. (2014)'s max-norm constraint: each unit's incoming weight vector (a row of its layer's
    weight matrix) is projected back onto the ball of radius `limit` after every optimizer step."""
    def project(*_):
        with torch.no_grad():
            for w in weight_matrices(model):
                w.copy_(torch.renorm(w, p=2, dim=0, maxnorm=limit))

    optimizer.register_step_post_hook(project)


def l1_penalized(step, l1: float):
    """The training step with l1 * sum |w| added to its loss; evaluation passes (model.eval()) stay plain CE."""
    def penalized(model, x, y):
        loss, logits = step(model, x, y)
        if model.training:
            loss = loss + l1 * weight_l1(model)
        return loss, logits

    return penalized


def check(cfg) -> None:
    """The one rule across groups (each group's own ranges are checked by its schema)."""
    if cfg.trainer.restore_best and cfg.data.get("val_fraction", 0):
        raise NnxError("trainer.restore_best: fashion_overfit compares the last epoch's model (its gap is the last "
                       "epoch's test - train loss)", fix="use trainer.restore_best=false (early stopping on val_* "
                       "still works: the last epoch is then the stopping one)")


def summary_metrics(result, test: dict, train_loss_clean: float, train_acc_clean: float) -> dict:
    """The comparison row: final train loss (as trained, and with dropout/augmentation/penalty off), final and
    minimum test loss, the gap, test accuracy, epochs, seconds."""
    history = result.history
    test_losses = [row["test_loss"] for row in history if row.get("test_loss") is not None]
    finite = [(value, row["epoch"]) for value, row in zip(test_losses, history) if math.isfinite(value)]
    min_test, min_epoch = min(finite) if finite else (None, None)
    train_loss = history[-1]["train_loss"]
    return {
        "train_loss": train_loss,
        "train_loss_clean": train_loss_clean,
        "test_loss": test["test_loss"],
        "min_test_loss": min_test,
        "min_test_epoch": min_epoch,
        "gap": test["test_loss"] - train_loss,
        "gap_clean": test["test_loss"] - train_loss_clean,
        "train_acc_clean": train_acc_clean,
        "test_acc": test["test_acc"],
        "epochs": result.last_epoch,
        "train_s": round(result.seconds, 2),
    }


def draw_predictions(run, model, bundle, count: int, variant: str) -> None:
    count = min(count, len(bundle.test))
    raw = bundle.test.x[:count]
    model.eval()
    with torch.no_grad():
        predicted = model(bundle.prepare(raw)).argmax(1).cpu().numpy()
    columns = min(8, count)
    with run.figure("predictions", figsize=(1.35 * columns, 1.6 * math.ceil(count / columns) + 0.5)) as fig:
        figures.prediction_grid(fig, raw.float().div(255).cpu().numpy(), bundle.test.y[:count].cpu().numpy(),
                                        predicted, bundle.classes, columns, title=f"{variant}: ")


def run(cfg, run) -> None:
    from nnx.data import load

    trainer = required(run.settings.trainer, "fashion_overfit", "its figure is the test loss per epoch",
                       test_each_epoch=True)
    check(cfg)
    bundle = load(cfg.data, device=run.device, seed=run.seed, run=run)
    model = MODELS.build(cfg.model, input_shape=bundle.input_shape, num_classes=bundle.num_classes)
    n_params, variant = count_parameters(model.parameters()), run.choices["variant"]  # which remedy this is
    run.log.info("%s: %s; mlp %s, dropout %g, %d parameters", variant, bundle.describe(),
                 list(cfg.model.hidden), cfg.model.dropout, n_params)

    step = None
    if cfg.regularization.l1 > 0:
        step = l1_penalized(scoring_step(trainer), cfg.regularization.l1)
    optim, scheduler = run.optimizer, None
    if cfg.regularization.max_norm > 0:
        optim, scheduler = run.optimizer([p for p in model.parameters() if p.requires_grad], trainer.epochs)
        max_norm_after_each_step(optim, model.to(bundle.device), cfg.regularization.max_norm)
    result = fit(model, bundle, trainer, optim, run, step=step, scheduler=scheduler)
    run.metrics_update({"n_params": n_params, "n_train": len(bundle.train), "diverged": result.diverged})
    if result.diverged:
        return

    test = evaluate(model, bundle, "test", run)  # confusion_matrix.{png,csv,md}
    truth, predicted, train_loss_clean = predict(model, bundle, "train")
    run.metrics_update(summary_metrics(result, test, train_loss_clean, float((truth == predicted).mean())))
    if cfg.regularization.l1 > 0:
        run.metric("l1_penalty", cfg.regularization.l1 * weight_l1(model).item())
    run.metrics_update(sparsity(model, cfg.sparsity_threshold))
    with run.figure("weights", figsize=(11, 3.4)) as fig:
        figures.weight_histograms(fig, [w.detach().cpu().numpy() for w in weight_matrices(model)],
                                          cfg.sparsity_threshold, f"{variant}: ")
    with run.figure("loss_gap", figsize=(11, 4.2)) as fig:
        figures.loss_gap_figure(fig, result.history, f"{variant}: ", train_loss_clean)
    draw_predictions(run, model, bundle, cfg.grid_images, variant)

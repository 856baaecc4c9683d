"""Test evaluation (accuracy, errors, loss, per-class accuracy, confusion matrix) and the training-curve figure.

    metrics = evaluate(model, bundle, "test", run)            # {"test_acc": ..., "test_errors": ..., ...}
    run.metrics_update(metrics)                                # or prefix="student/"
Writes `<name>_confusion_matrix.csv/.md/.png` (just `confusion_matrix.*` without a name).
"""

from __future__ import annotations

import re

import numpy as np
import torch

from nnx.engine.checkpoint import prefixed


@torch.no_grad()
def predict(model: torch.nn.Module, bundle, split: str = "test") -> tuple[np.ndarray, np.ndarray, float]:
    """(true labels, predicted labels, mean cross-entropy) over one ordered pass of `split`."""
    model.eval()
    truths, predictions = [], []
    total_loss, seen = torch.zeros((), device=bundle.device), 0
    for x, y in bundle.batches(split, shuffle=False, train=False):
        logits = model(x).float()
        total_loss += torch.nn.functional.cross_entropy(logits, y, reduction="sum")
        truths.append(y)
        predictions.append(logits.argmax(1))
        seen += len(y)
    return torch.cat(truths).cpu().numpy(), torch.cat(predictions).cpu().numpy(), total_loss.item() / max(seen, 1)


def metric_name(class_name: str) -> str:
    """A class name as a metric-key part ("T-shirt/top" -> "T-shirt-top")."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", class_name).strip("-")


def evaluate(model: torch.nn.Module, bundle, split: str = "test", run=None, name: str = "") -> dict:
    """`<split>_acc`, `<split>_errors`, `<split>_loss`, `<split>_n` and `<split>_acc_<class>` (for each class the split
    holds: a class with no sample has no accuracy); with a run, the
    confusion matrix as CSV/markdown (rows: true class, columns: predicted) and PNG."""
    from sklearn.metrics import confusion_matrix

    truth, predicted, loss = predict(model, bundle, split)
    labels = list(range(bundle.num_classes))
    matrix = confusion_matrix(truth, predicted, labels=labels)
    support = matrix.sum(1)
    metrics = {f"{split}_acc": float((truth == predicted).mean()), f"{split}_errors": int((truth != predicted).sum()),
               f"{split}_loss": loss, f"{split}_n": len(truth)}
    metrics |= {f"{split}_acc_{metric_name(c)}": float(right / n)
                for c, right, n in zip(bundle.classes, matrix.diagonal(), support) if n}
    if run is not None:
        write_confusion(run, matrix, bundle.classes, prefixed(name, "confusion_matrix"), split, name)
    return metrics


def write_confusion(run, matrix: np.ndarray, classes: list[str], stem: str, split: str, name: str = "") -> None:
    from sklearn.metrics import ConfusionMatrixDisplay

    rows = [{"true": c, **{p: int(n) for p, n in zip(classes, counts)}} for c, counts in zip(classes, matrix)]
    owner = f"{name}: " if name else ""
    run.table(stem, rows, title=f"{owner}Confusion matrix ({split}; rows: true class, columns: predicted)")
    size = 2.5 + 0.45 * len(classes)
    with run.figure(stem, figsize=(size, size)) as fig:
        display = ConfusionMatrixDisplay(matrix, display_labels=classes)
        display.plot(ax=fig.add_subplot(), colorbar=False, xticks_rotation=45 if len(classes) > 4 else 0)
        display.ax_.set_title(f"{owner}Confusion matrix ({split}, {int(matrix.trace())}/{int(matrix.sum())} right)")


def plot_curves(run, rows: list[dict], stem: str = "curves") -> None:
    """Loss and accuracy per epoch, train beside validation (accuracy only when the step gave logits)."""
    from matplotlib.ticker import MaxNLocator

    def column(key):
        return [float(row[key]) if row.get(key) not in (None, "") else np.nan for row in rows]

    epochs = [row["epoch"] for row in rows]
    has_acc = any(row.get("train_acc") not in (None, "") for row in rows)
    with run.figure(stem, figsize=(10 if has_acc else 5.5, 3.8)) as fig:
        axes = fig.subplots(1, 2 if has_acc else 1, squeeze=False)[0]
        for ax, quantity in zip(axes, ("loss", "acc")):
            for part, style in (("train", "-o"), ("val", "-s")):
                values = column(f"{part}_{quantity}")
                if not np.isnan(values).all():
                    ax.plot(epochs, values, style, markersize=3, label=part)
            ax.set(xlabel="epoch", ylabel="accuracy" if quantity == "acc" else "loss")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
            if ax.lines:  # a run that diverged in its first epoch has nothing finite to draw
                ax.legend()
        fig.tight_layout()

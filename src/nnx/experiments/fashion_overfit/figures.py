"""Figures of fashion_overfit: test images with predicted vs true labels, and the train/test loss with the gap marked.

    prediction_grid(fig, images, truth, predicted, classes)      # images: N x H x W (or N x 1 x H x W) in [0, 1]
    loss_gap_figure(fig, rows, title, train_loss_clean=0.31)      # rows: the engine's history rows (val = test)
"""

from __future__ import annotations

import math

import numpy as np

WRONG, RIGHT = "tab:red", "tab:green"


def prediction_grid(fig, images: np.ndarray, truth: np.ndarray, predicted: np.ndarray, classes: list[str],
                    columns: int = 8, title: str = "") -> None:
    """One panel per image: predicted over true class name; a wrong prediction gets a red frame and title."""
    images = np.asarray(images)
    if images.ndim == 4:  # N x C x H x W: grey images have one channel, colour ones go channel-last
        images = images[:, 0] if images.shape[1] == 1 else images.transpose(0, 2, 3, 1)
    columns = max(1, min(columns, len(images)))
    rows = math.ceil(len(images) / columns)
    axes = fig.subplots(rows, columns, squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if index >= len(images):
            ax.axis("off")
            continue
        ax.imshow(images[index], cmap="gray", vmin=0, vmax=1)
        wrong = int(predicted[index]) != int(truth[index])
        colour = WRONG if wrong else RIGHT
        mark = "✗ " if wrong else ""
        ax.set_title(f"{mark}{classes[int(predicted[index])]}\ntrue: {classes[int(truth[index])]}",
                     fontsize=7, color=colour)
        for spine in ax.spines.values():
            spine.set_edgecolor(colour)
            spine.set_linewidth(2.5 if wrong else 0.8)
    n_wrong = int((np.asarray(predicted) != np.asarray(truth)).sum())
    fig.suptitle(f"{title}predicted (top) vs true class: {n_wrong} of {len(images)} wrong (red)", fontsize=10)
    fig.tight_layout()


def column(rows: list[dict], key: str) -> np.ndarray:
    return np.array([float(row[key]) if row.get(key) not in (None, "") else np.nan for row in rows])


def loss_gap_figure(fig, rows: list[dict], title: str = "", train_loss_clean: float | None = None) -> None:
    """Left: train and test loss per epoch, the minimum test loss and the final gap (test - train) marked.
    Right: train and test accuracy (the history's `test_*` columns: `trainer.test_each_epoch`).
    `train_loss_clean`: the final model's loss on the training images with dropout and augmentation off."""
    from matplotlib.ticker import MaxNLocator

    epochs = np.array([int(row["epoch"]) for row in rows])
    train, test = column(rows, "train_loss"), column(rows, "test_loss")
    loss_ax, acc_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    loss_ax.plot(epochs, train, "-", color="tab:blue", label="train (as trained)")
    loss_ax.plot(epochs, test, "-", color="tab:orange", label="test")
    if np.isfinite(test).any():
        best = int(np.nanargmin(test))
        loss_ax.plot(epochs[best], test[best], "v", color="tab:orange", markersize=8,
                     label=f"min test {test[best]:.3f} (epoch {epochs[best]})")
    if np.isfinite(train[-1]) and np.isfinite(test[-1]):
        last, gap = epochs[-1], test[-1] - train[-1]
        loss_ax.annotate("", xy=(last, test[-1]), xytext=(last, train[-1]),
                         arrowprops={"arrowstyle": "<->", "color": "tab:red", "lw": 1.5})
        loss_ax.text(last, (train[-1] + test[-1]) / 2, f" gap {gap:+.3f}", color="tab:red", va="center",
                     ha="right" if len(epochs) > 1 else "left", fontsize=9)
    if train_loss_clean is not None and math.isfinite(train_loss_clean):
        loss_ax.plot(epochs[-1], train_loss_clean, "o", color="tab:blue", fillstyle="none", markersize=8,
                     label=f"train, dropout/augment off: {train_loss_clean:.3f}")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy", title=f"{title}loss per epoch")
    loss_ax.legend(fontsize=8)
    for part, key, colour in (("train", "train_acc", "tab:blue"), ("test", "test_acc", "tab:orange")):
        values = column(rows, key)
        if np.isfinite(values).any():
            acc_ax.plot(epochs, values, "-", color=colour, label=part)
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title="accuracy per epoch")
    if acc_ax.lines:
        acc_ax.legend(fontsize=8)
    for ax in (loss_ax, acc_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    fig.tight_layout()


def weight_histograms(fig, weights: list[np.ndarray], threshold: float, title: str = "") -> None:
    """One histogram per weight matrix (log counts): L1 piles weights up at 0, L2 shrinks them without zeros."""
    axes = np.atleast_1d(fig.subplots(1, len(weights)))
    for index, (ax, w) in enumerate(zip(axes, weights), start=1):
        values = w.ravel()
        ax.hist(values, bins=101, color="tab:blue", log=True)
        for x in (-threshold, threshold):
            ax.axvline(x, color="tab:red", lw=0.8, ls="--")
        share = float((np.abs(values) < threshold).mean())
        ax.set_title(f"layer {index} ({w.shape[1]}->{w.shape[0]}): {share:.1%} below {threshold:g}", fontsize=9)
        ax.set_xlabel("weight")
    axes[0].set_ylabel("count")
    fig.suptitle(f"{title}weight distribution after training", fontsize=10, y=1.03)

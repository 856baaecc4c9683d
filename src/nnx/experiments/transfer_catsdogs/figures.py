"""Figures of transfer_catsdogs: the misclassified validation images, and a 2-D PCA view of the learned features."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np


def misclassified_grid(run, image_at: Callable[[int], np.ndarray], truth: np.ndarray, predicted: np.ndarray,
                       confidence: np.ndarray, classes: list[str], limit: int = 24, name: str = "misclassified") -> int:
    """A grid of up to `limit` misclassified images (`image_at(i)`: uint8 C x H x W), the most confident mistakes
    first, each titled "true -> predicted (probability)". Returns how many were wrong in all."""
    wrong = np.flatnonzero(truth != predicted)
    shown = wrong[np.argsort(-confidence[wrong], kind="stable")][:limit]
    columns = min(6, max(len(shown), 1))
    rows = max(math.ceil(len(shown) / columns), 1)
    with run.figure(name, figsize=(2.1 * columns, 2.3 * rows + 0.4)) as fig:
        if not len(shown):
            fig.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
        for slot, index in enumerate(shown):
            ax = fig.add_subplot(rows, columns, slot + 1)
            ax.imshow(np.transpose(image_at(index), (1, 2, 0)))
            ax.set_title(f"{classes[truth[index]]} -> {classes[predicted[index]]} ({confidence[index]:.2f})",
                         fontsize=8)
            ax.axis("off")
        fig.suptitle(f"Misclassified validation images: {len(wrong)} of {len(truth)} "
                     f"(showing {len(shown)}, most confident first)", fontsize=10)
        fig.tight_layout()
    return len(wrong)


def pca_scatter(run, train_features: np.ndarray, val_features: np.ndarray, val_labels: np.ndarray,
                classes: list[str], name: str = "pca_features") -> np.ndarray:
    """PCA fitted on the training features; the validation features on its first two components, by class.
    Returns the explained variance ratio of the two components."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, random_state=0).fit(train_features)
    points = pca.transform(val_features)
    ratio = pca.explained_variance_ratio_
    with run.figure(name, figsize=(5.5, 4.8)) as fig:
        ax = fig.add_subplot()
        for label, class_name in enumerate(classes):
            chosen = val_labels == label
            ax.scatter(points[chosen, 0], points[chosen, 1], s=6, alpha=0.6, label=class_name)
        ax.set(xlabel=f"PC 1 ({ratio[0]:.1%} of the variance)", ylabel=f"PC 2 ({ratio[1]:.1%})",
               title="Penultimate features of the validation images (PCA)")
        ax.legend(markerscale=3)
        ax.grid(alpha=0.3)
    return ratio

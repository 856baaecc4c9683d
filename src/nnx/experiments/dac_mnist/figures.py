"""dac_mnist's figures: the eq. (5) pixel importance, reconstructions, the codes in 3-D, ARI per method, loss curves."""

from __future__ import annotations

import numpy as np

from nnx.report.exploration import first_of_each_class

NAMES = {"dac": "DAC (weighted loss)", "ae": "AE (unweighted loss)"}


def pixel_importance(fig, weights: np.ndarray, n_labelled: int) -> None:
    """The raw eq. (5) weight of every pixel (before epsilon and scale): bright = informative for the labels."""
    ax = fig.add_subplot()
    image = ax.imshow(weights, cmap="inferno")
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set_title(f"Pixel importance, eq. (5), from {n_labelled} labelled images", fontsize=9)
    ax.axis("off")


def reconstructions(fig, originals: np.ndarray, labels: np.ndarray, decoded: dict[str, np.ndarray],
                    image_shape: tuple, count: int = 10) -> None:
    """Originals in the top row, each autoencoder's reconstruction of them in a row below."""
    picks = first_of_each_class(labels, min(count, len(labels)))
    rows = {"original": originals} | {NAMES.get(name, name): images for name, images in decoded.items()}
    axes = fig.subplots(len(rows), len(picks), squeeze=False)
    for row, (title, images) in zip(axes, rows.items()):
        for ax, index in zip(row, picks):
            ax.imshow(images[index].reshape(image_shape), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(title, rotation=0, ha="right", va="center", fontsize=8)


def codes_scatter(fig, codes: np.ndarray, labels: np.ndarray, classes: list[str], points: int, seed: int) -> None:
    """The DAC codes projected on their first three principal axes, a seeded sample of `points`, coloured by label."""
    from sklearn.decomposition import PCA

    picks = np.random.default_rng(seed).permutation(len(codes))[:points]
    projected = PCA(3, random_state=seed).fit_transform(codes)[picks]
    ax = fig.add_subplot(projection="3d")
    for label in np.unique(labels):
        mine = labels[picks] == label
        ax.scatter(*projected[mine].T, s=3, alpha=0.6, color=f"C{label % 10}", label=classes[label])
    ax.set(xlabel="PC 1", ylabel="PC 2", zlabel="PC 3")
    ax.set_title(f"DAC codes of {len(picks)} test images (PCA to 3-D), coloured by true label", fontsize=9)
    ax.legend(markerscale=4, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))


def ari_bars(fig, ours: dict[str, float], reference: dict[str, float | None], data_name: str) -> None:
    """Our ARI per method as bars; the reference report's (MNIST) as black ticks where it has one."""
    ax = fig.add_subplot()
    names = list(ours)
    positions = np.arange(len(names))
    bars = ax.bar(positions, [ours[n] for n in names], color=[f"C{i}" for i in range(len(names))])
    ax.bar_label(bars, fmt="%.3f", fontsize=8)
    marked = [(i, reference[n]) for i, n in enumerate(names) if reference.get(n) is not None]
    if marked:
        ax.scatter(*zip(*marked), marker="_", s=900, color="black", zorder=3, label="reference report (MNIST)")
        ax.legend(fontsize=8, loc="upper left")
    ax.set_xticks(positions, [n.replace(" + ", "\n+ ").replace(" (", "\n(") for n in names], fontsize=8)
    ax.set(ylabel="adjusted Rand index", ylim=(0, 1), title=f"Clustering the test images of {data_name}")
    ax.grid(axis="y", alpha=0.3)


def loss_curves(fig, histories: dict[str, list[dict]]) -> None:
    """The training loss per epoch of each autoencoder (the same scale: the uniform weight has DAC's mean)."""
    ax = fig.add_subplot()
    for name, rows in histories.items():
        epochs = [row["epoch"] for row in rows]
        losses = [float(row["train_loss"]) for row in rows]
        ax.plot(epochs, losses, "-o", markersize=3, label=NAMES.get(name, name))
    ax.set(xlabel="epoch", ylabel="training loss (eq. 4 + 6)", yscale="log")
    ax.grid(alpha=0.3)
    ax.legend()

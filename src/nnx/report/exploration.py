"""A first look at an image data set, as the reports do before training: shapes, one sample per class, the class
histogram, and the pixel range before and after scaling.

    explore(run, bundle)   # exploration_samples.png, exploration_classes.png, exploration.md (linked from report.md)
Works on any DataBundle: image tensors, image files streamed through a DataLoader (a sample of them), or features.
"""

from __future__ import annotations

import numpy as np
import torch

from nnx.report.markdown import fmt, markdown_table

SCAN_LIMIT = 20_000  # training images scanned for the pixel range (the first ones: plenty for min, max, mean)


def raw_images(split, limit: int = SCAN_LIMIT) -> torch.Tensor:
    """Up to `limit` raw inputs of a split, in order (decoded from files for a streamed split)."""
    if hasattr(split, "x"):
        return split.x[:limit]
    return torch.stack([split.raw(i) for i in range(min(len(split), 256))])


def value_range(x: torch.Tensor) -> dict:
    x = x.float()
    return {"min": x.min().item(), "max": x.max().item(), "mean": x.mean().item(), "std": x.std().item()}


def pixel_ranges(bundle) -> list[dict]:
    """Raw values, after /255 (images only) and after the bundle's normalization: what the model sees."""
    raw = raw_images(bundle.train)
    rows = [{"stage": f"raw ({str(raw.dtype).replace('torch.', '')})"} | value_range(raw)]
    if raw.dtype == torch.uint8:
        rows.append({"stage": "scaled (/255)"} | value_range(raw.float() / 255))
    prepared = torch.cat([bundle.prepare(chunk) for chunk in raw.split(4096)])
    rows.append({"stage": f"model input (normalize={bundle.options.normalize})"} | value_range(prepared))
    return rows


def class_counts(bundle) -> dict[str, np.ndarray]:
    counts = {}
    for name in ("train", "val", "test"):
        split = getattr(bundle, name)
        if split is not None:
            counts[name] = np.bincount(split.y.cpu().numpy(), minlength=bundle.num_classes)
    return counts


def first_of_each_class(labels: np.ndarray, count: int = 10) -> np.ndarray:
    """Indices of the first sample of each class (in class order), then the second of each, ...: `count` in all."""
    order = np.concatenate([np.flatnonzero(labels == c) for c in np.unique(labels)])
    ranks = np.concatenate([np.arange((labels == c).sum()) for c in np.unique(labels)])
    return order[np.argsort(ranks, kind="stable")][:count]


def one_sample_per_class(split) -> dict[int, torch.Tensor]:
    """class -> the raw input of its first sample in the split (classes absent from the split are left out)."""
    labels = split.y.cpu().numpy()
    picks = first_of_each_class(labels, len(np.unique(labels)))
    return {int(labels[index]): split.raw(int(index)) for index in picks}


def samples_figure(fig, samples: dict[int, torch.Tensor], classes: list[str]) -> None:
    columns = min(10, len(samples))
    rows = -(-len(samples) // columns)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    for ax, (label, image) in zip(axes, samples.items()):
        image = image.cpu().numpy()
        if image.shape[0] == 1:
            ax.imshow(image[0], cmap="gray_r")
        else:
            ax.imshow(np.moveaxis(image, 0, -1))
        ax.set_title(classes[label], fontsize=8)
    for ax in axes:
        ax.axis("off")


def classes_figure(fig, counts: dict[str, np.ndarray], classes: list[str]) -> None:
    ax = fig.subplots()
    width = 0.8 / len(counts)
    positions = np.arange(len(classes))
    for offset, (name, values) in enumerate(counts.items()):
        ax.bar(positions + (offset - (len(counts) - 1) / 2) * width, values, width, label=f"{name} ({values.sum()})")
    ax.set_xticks(positions, classes, rotation=45 if max(map(len, classes)) > 2 else 0, ha="right")
    ax.set_ylabel("images")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")


def explore(run, bundle) -> dict:
    """Write the exploration figures and exploration.md; return the facts (shapes, counts, ranges)."""
    counts = class_counts(bundle)
    shapes = [{"split": name, "samples": int(values.sum()), "input shape": " x ".join(map(str, bundle.input_shape))}
              for name, values in counts.items()]
    ranges = pixel_ranges(bundle)
    balance = {name: f"{values.min()}–{values.max()} per class" for name, values in counts.items()}
    lines = [f"# Data exploration: {bundle.name}", "", f"{bundle.num_classes} classes: {', '.join(bundle.classes)}.",
             "", markdown_table(shapes), "", "Class balance: " + "; ".join(f"{k} {v}" for k, v in balance.items()),
             "", "![classes](exploration_classes.png)", "", "Input values (training images, first "
             f"{min(len(bundle.train), SCAN_LIMIT)}):", "", markdown_table(ranges), ""]
    if bundle.input_shape and len(bundle.input_shape) == 3:  # images: show one of each class
        with run.figure("exploration_samples", figsize=(1.3 * min(10, bundle.num_classes), 1.7)) as fig:
            samples_figure(fig, one_sample_per_class(bundle.train), bundle.classes)
        lines += ["One training image per class:", "", "![samples](exploration_samples.png)", ""]
    with run.figure("exploration_classes", figsize=(max(5.0, 0.55 * bundle.num_classes), 3.2)) as fig:
        classes_figure(fig, counts, bundle.classes)
    (run.dir / "exploration.md").write_text("\n".join(lines))
    run.log.info("exploration: %s; %s", "; ".join(f"{r['split']} {r['samples']}" for r in shapes),
                 ", ".join(f"{r['stage']} [{fmt(r['min'])}, {fmt(r['max'])}]" for r in ranges))
    return {"shapes": shapes, "counts": {k: v.tolist() for k, v in counts.items()}, "ranges": ranges}

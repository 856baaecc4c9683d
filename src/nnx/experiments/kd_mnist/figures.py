"""kd_mnist's figure: test accuracy per epoch of the plain and the distilled student, the teacher as a line."""

from __future__ import annotations

import numpy as np


def accuracy_per_epoch(fig, curves: dict[str, list[float]], teacher_acc: float | None) -> None:
    """One line per named curve (test accuracy after each epoch); the teacher's final test accuracy dashed."""
    from matplotlib.ticker import MaxNLocator

    ax = fig.subplots()
    for (label, values), marker in zip(curves.items(), "os^"):
        ax.plot(np.arange(1, len(values) + 1), values, f"-{marker}", markersize=3, label=label)
    if teacher_acc is not None:
        ax.axhline(teacher_acc, color="0.3", ls="--", lw=1, label=f"teacher ({teacher_acc:.2%})")
    every = [v for values in curves.values() for v in values[len(values) // 3:]] or [teacher_acc or 1.0]
    low = min([*every, teacher_acc or 1.0])
    ax.set_ylim(max(0.0, low - 0.01), min(1.0, max([*every, teacher_acc or 0.0]) + 0.005))  # zoom on the end
    ax.set(xlabel="epoch", ylabel="test accuracy", title="Distilled vs plain student")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")

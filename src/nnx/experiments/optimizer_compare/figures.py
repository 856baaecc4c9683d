"""optimizer_compare's figure: one loss-curve panel per optimizer, one line per learning rate, log-log axes."""

from __future__ import annotations

import math


def loss_curves_figure(fig, curves: dict[str, dict[float, dict]], target_loss: float) -> None:
    """`curves[optimizer][lr]` = {"losses": [...finite losses...], "diverged_at": int | None}.

    A diverged run is drawn up to its last finite loss and ends in a cross; a blow-up far above the starting loss
    is drawn at the panel's top edge (the ceiling), so it does not squash the other curves. Nothing non-finite is
    ever plotted. The x axis is logarithmic past 10 steps: fast runs take ~20 steps, slow ones 1000.
    """
    names = list(curves)
    columns = min(3, len(names))
    axes = fig.subplots(math.ceil(len(names) / columns), columns, squeeze=False, sharex=True, sharey=True)
    starts = [run["losses"][0] for runs in curves.values() for run in runs.values() if run["losses"]]
    ceiling = 30 * max(starts, default=1.0)
    colors: dict[float, str] = {}
    for ax, name in zip(axes.flat, names):
        for lr, run in sorted(curves[name].items()):
            color = colors.setdefault(lr, f"C{len(colors)}")
            losses = [min(loss, ceiling) for loss in run["losses"]]
            diverged = run["diverged_at"] is not None
            label = f"lr={lr:g}" + (f" (diverged at {run['diverged_at']})" if diverged else "")
            ax.plot(range(len(losses)), losses, color=color, lw=1.3, label=label)
            if diverged and losses:
                ax.plot(len(losses) - 1, losses[-1], "x", color=color, ms=9, mew=2, clip_on=False)
        ax.axhline(target_loss, color="gray", ls="--", lw=0.8, label=f"target {target_loss:g}")
        ax.set_xscale("symlog", linthresh=10)
        ax.set_yscale("log")
        ax.set_ylim(top=ceiling)
        ax.set_title(name)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    for ax in axes[:, 0]:
        ax.set_ylabel("training loss (cross-entropy)")
    for ax in axes[-1]:
        ax.set_xlabel("iteration")
    for index in range(len(names), axes.size):  # an empty slot: the panel above it shows the x axis instead
        row, column = divmod(index, columns)
        axes[row, column].set_visible(False)
        axes[row - 1, column].xaxis.set_tick_params(labelbottom=True)
        axes[row - 1, column].set_xlabel("iteration")
    fig.tight_layout()

"""madaline_moons' run (its settings: config.py; what it does: the package's docstring)."""

from __future__ import annotations

import numpy as np

from nnx.experiments.madaline_moons.model import train_epoch
from nnx.models.adaline import bipolar, check_learner, lms_config
from nnx.registry import DATASETS, MODELS
from nnx.report import classic_figures


def snapshot(net) -> tuple:
    return net.w.copy(), net.b.copy(), net.v.copy(), net.b_out


def restore(net, weights: tuple) -> None:
    net.w, net.b, net.v, net.b_out = (np.copy(part) for part in weights)


def run(cfg, run) -> None:
    optim, trainer = lms_config(cfg.get("optim")), cfg.trainer
    check_learner(cfg, "madaline", "a Madaline")
    data = DATASETS.build(cfg.data, seed=run.seed)
    t_train, t_test = bipolar(data.y_train, 1), bipolar(data.y_test, 1)
    rng = np.random.default_rng(run.seed)
    net = MODELS.build(cfg.model, n_inputs=data.x_train.shape[1], rng=rng)
    run.log.info("moons: %d train / %d test; Madaline with %d hidden Adalines, rule %s",
                 len(t_train), len(t_test), net.hidden, net.rule)

    history, errors = run.history("history"), []
    best = (net.errors(data.x_train, t_train), 0, snapshot(net))
    for epoch in range(1, trainer.epochs + 1):
        train_epoch(net, data.x_train, t_train, optim.lr, rng)
        errors.append(net.errors(data.x_train, t_train))
        history.log(epoch=epoch, train_errors=errors[-1], train_error_rate=errors[-1] / len(t_train))
        if errors[-1] < best[0]:
            best = (errors[-1], epoch, snapshot(net))
        if errors[-1] == 0:
            break
    if trainer.keep_best:
        restore(net, best[2])

    accuracy = {split: float((net.predict(x) == t).mean())
                for split, x, t in (("train", data.x_train, t_train), ("test", data.x_test, t_test),
                                    ("all", data.x_all, np.concatenate([t_train, t_test])))}
    run.metrics_update({f"acc_{split}": value for split, value in accuracy.items()})
    run.metrics_update({"epochs": len(errors), "converged": errors[-1] == 0,
                        "best_epoch": best[1] if trainer.keep_best else len(errors)})
    run.log.info("accuracy train %.3f, test %.3f after %d epochs", accuracy["train"], accuracy["test"], len(errors))

    with run.figure("decision_boundary", figsize=(6, 5)) as fig:
        lines = [(net.w[:, j], net.b[j]) for j in range(net.hidden)]
        points = {"train": (data.x_train, t_train), "test": (data.x_test, t_test)}
        title = f"Madaline {net.rule.upper()}, {net.hidden} hidden: test accuracy {accuracy['test']:.3f}"
        classic_figures.decision_boundary(fig.subplots(), net.predict, points,
                                          ["x1 (standardized)", "x2 (standardized)"], lines, title)
    with run.figure("training_error", figsize=(6, 4)) as fig:
        classic_figures.curves(fig, {"training error rate": [e / len(t_train) for e in errors]},
                               "misclassified fraction, training split")

"""adaline_iris' run (its settings: config.py; what it does: the package's docstring)."""

from __future__ import annotations

import numpy as np

from nnx.errors import NnxError
from nnx.models.adaline import bipolar, check_learner, least_squares, lms_config, sign
from nnx.registry import DATASETS, MODELS
from nnx.report import classic_figures

TASKS = {"setosa": 0, "versicolor": 1}  # the positive class of each task (iris labels)
VIEW_FEATURES = ["petal_length", "petal_width"]  # the 2-D view for the decision-boundary figure


def chosen_tasks(task: str) -> list[str]:
    if task == "both":
        return list(TASKS)
    if task not in TASKS:
        raise NnxError(f"task={task!r} is not a task", fix=f"choose one of: both, {', '.join(TASKS)}")
    return [task]


def accuracy(predicted: np.ndarray, t: np.ndarray) -> float:
    return float((predicted == t).mean())


def train(cfg, data, tasks: list[str], lr: float, epochs: int, seed: int, history=None) -> tuple[dict, dict]:
    """One Adaline per task, trained in lockstep so each history row holds every task's cost at that epoch."""
    models = {task: MODELS.build(cfg.model, n_inputs=data.x_train.shape[1], rng=np.random.default_rng(seed))
              for task in tasks}
    targets = {task: bipolar(data.y_train, TASKS[task]) for task in tasks}
    costs = {task: [] for task in tasks}
    for epoch in range(1, epochs + 1):
        for task, model in models.items():
            costs[task].append(model.train_epoch(data.x_train, targets[task], lr))
        if history is not None:
            history.log(epoch=epoch, **{f"{task}/cost": values[-1] for task, values in costs.items()})
        if not all(np.isfinite(values[-1]) for values in costs.values()):
            break
    return models, costs


def run(cfg, run) -> None:
    tasks, optim = chosen_tasks(cfg.task), lms_config(cfg.get("optim"))
    check_learner(cfg, "adaline", "Adalines")
    data = DATASETS.build(cfg.data, seed=run.seed)
    run.log.info("iris: %d train / %d test, features %s", len(data.x_train), len(data.x_test), data.feature_names)

    models, costs = train(cfg, data, tasks, optim.lr, cfg.trainer.epochs, run.seed, run.history("history"))
    if not all(np.isfinite(values[-1]) for values in costs.values()):
        run.status = "diverged"
        run.log.warning("LMS diverged at optim.lr=%g: try a smaller step", optim.lr)

    for task, model in models.items():
        t_train, t_test = bipolar(data.y_train, TASKS[task]), bipolar(data.y_test, TASKS[task])
        w_ls, b_ls = least_squares(data.x_train, t_train)
        run.metrics_update({
            "acc_all": accuracy(model.predict(data.x_all), bipolar(data.y_all, TASKS[task])),
            "acc_train": accuracy(model.predict(data.x_train), t_train),
            "acc_test": accuracy(model.predict(data.x_test), t_test),
            "final_cost": costs[task][-1],
            "lstsq_acc_test": accuracy(sign(data.x_test @ w_ls + b_ls), t_test),
            "lstsq_cost": 0.5 * float(np.mean((t_train - data.x_train @ w_ls - b_ls) ** 2)),
        }, prefix=f"{task}/")
        rows = [{"weights": "adaline (LMS)", **dict(zip(data.feature_names, model.w)), "b": model.b},
                {"weights": "least squares", **dict(zip(data.feature_names, w_ls)), "b": b_ls}]
        run.table(f"weights_{task}", rows, title=f"{task} vs rest: LMS weights beside the closed form")
        run.log.info("%s vs rest: test accuracy %.3f (least squares %.3f)", task,
                     run.metrics[f"{task}/acc_test"], run.metrics[f"{task}/lstsq_acc_test"])

    with run.figure("pairwise_scatter", figsize=(8, 8)) as fig:
        classic_figures.pairwise_scatter(fig, data.x_all, data.y_all, data.feature_names, data.class_names)
    with run.figure("cost", figsize=(6, 4)) as fig:
        classic_figures.curves(fig, {f"{task} vs rest": values for task, values in costs.items()},
                               "cost ½·mean((t − net)²), training split", log_y=True)
    draw_boundaries(cfg, run, data, models, optim.lr)


def draw_boundaries(cfg, run, data, models: dict, lr: float) -> None:
    """Each task's boundary in two features: the model itself when it has two, else an Adaline trained the same
    way on the petal features only (a view: its numbers are not the metrics above)."""
    if data.x_train.shape[1] != 2:
        view_cfg = dict(cfg.data) | {"features": VIEW_FEATURES}
        data = DATASETS.build(view_cfg, seed=run.seed)
        models, _ = train(cfg, data, list(models), lr, cfg.trainer.epochs, run.seed)
    with run.figure("decision_boundary", figsize=(5.5 * len(models), 4.6)) as fig:
        for ax, (task, model) in zip(np.atleast_1d(fig.subplots(1, len(models))), models.items()):
            points = {"train": (data.x_train, bipolar(data.y_train, TASKS[task])),
                      "test": (data.x_test, bipolar(data.y_test, TASKS[task]))}
            classic_figures.decision_boundary(ax, model.predict, points, [f"{n} (standardized)"
                                              for n in data.feature_names], title=f"{task} vs rest (t = +1)")

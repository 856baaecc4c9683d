"""The training engine on real data (scikit-learn digits): fit, evaluate, checkpoints, resume, early stopping,
divergence, hooks, and the optimizer registry against torch.optim."""

import csv
import math

import pytest
import torch

from nnx.data import load
from nnx.data.bundle import TensorSplit
from nnx.engine import evaluate, fit, scoring_step, supervised_step, trainer_config
from nnx.engine.early_stopping import EarlyStopping
from nnx.engine.fit import run_epoch
from nnx.errors import NnxError
from nnx.registry import MODELS
from nnx.run import Run
from nnx.schemas import EarlyStoppingConfig

QUIET = {"progress": False, "plots": False}


def setup(seed=0, model=None, **data):
    torch.manual_seed(seed)
    bundle = load({"name": "digits", "batch_size": 64, **data}, seed=seed)
    net = MODELS.build({"name": "mlp", "hidden": [32], **(model or {})}, input_shape=bundle.input_shape,
                       num_classes=bundle.num_classes)
    return bundle, net


def read_history(path):
    return list(csv.DictReader(path.open()))


def test_fit_learns_and_writes_its_files(tmp_path):
    bundle, model = setup(val_fraction=0.2)
    run = Run(tmp_path, seed=0)
    result = fit(model, bundle, {"epochs": 4, "progress": False}, {"name": "adam", "lr": 0.01}, run)
    metrics = evaluate(model, bundle, "test", run)
    run.close()
    assert metrics["test_acc"] > 0.9 and metrics["test_errors"] == round((1 - metrics["test_acc"]) * 450)
    assert set(metrics) >= {"test_loss", "test_n", "test_acc_0", "test_acc_9"}
    keep = bundle.test.y != 9
    bundle.test = TensorSplit(bundle.test.x[keep], bundle.test.y[keep])
    without_nines = evaluate(model, bundle, "test")
    assert "test_acc_9" not in without_nines and "test_acc_8" in without_nines  # no sample: no accuracy
    assert result.last_epoch == 4 and not result.diverged and result.best_epoch is not None
    names = {p.name for p in tmp_path.iterdir()}
    assert {"history.csv", "last.pt", "best.pt", "curves.png", "confusion_matrix.csv", "confusion_matrix.png"} <= names
    rows = read_history(tmp_path / "history.csv")
    assert list(rows[0]) == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4] and float(rows[-1]["val_acc"]) > 0.85
    matrix = list(csv.DictReader((tmp_path / "confusion_matrix.csv").open()))
    assert sum(int(row[str(c)]) for row in matrix for c in range(10)) == 450
    assert sum(int(row[row["true"]]) for row in matrix) == 450 - metrics["test_errors"]


def test_checkpoints_round_trip_with_weights_only(tmp_path):
    bundle, model = setup(val_fraction=0.2)
    fit(model, bundle, {"epochs": 2, "restore_best": True} | QUIET, {"name": "sgd", "lr": 0.1}, Run(tmp_path))
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    assert last["epoch"] == 2 and len(last["history"]) == 2
    _, fresh = setup(seed=5)
    fresh.load_state_dict(best)
    x = bundle.prepare(bundle.test.x)
    assert torch.equal(fresh(x), model(x))  # restore_best left the best weights in the model


def test_metrics_describe_the_weights_fit_returns(tmp_path):
    bundle, model = setup(val_fraction=0.2)
    trainer = {"epochs": 30, "early_stopping": {"monitor": "val_loss", "patience": 0}} | QUIET
    result = fit(model, bundle, trainer, {"name": "sgd", "lr": 1.5}, Run(tmp_path))  # lr 1.5 overshoots: stops early
    assert result.stopped_early and result.restored_best and result.best_epoch == result.last_epoch - 1
    _, val_acc = run_epoch(model, bundle, "val", supervised_step(torch.nn.CrossEntropyLoss()), trainer_config({}))
    assert result.metrics()["val_acc"] == pytest.approx(val_acc) == result.history[result.best_epoch - 1]["val_acc"]


def killed_after(steps: int):
    """The default step, but the process 'dies' (KeyboardInterrupt) at training step `steps + 1`."""
    base, count = supervised_step(torch.nn.CrossEntropyLoss()), [0]

    def step(model, x, y):
        if model.training:
            count[0] += 1
            if count[0] > steps:
                raise KeyboardInterrupt
        return base(model, x, y)

    return step


def test_resume_after_a_kill_gives_the_same_history(tmp_path):
    data = {"val_fraction": 0.2, "augment": ["flip", {"name": "noise", "std": 0.05}]}
    trainer = {"epochs": 4} | QUIET
    optim = {"name": "momentum", "lr": 0.05, "momentum": 0.9, "scheduler": {"name": "cosine"}}
    bundle, model = setup(model={"dropout": 0.3}, **data)
    whole = fit(model, bundle, trainer, optim, Run(tmp_path / "whole"))

    bundle, killed = setup(model={"dropout": 0.3}, **data)
    steps_per_epoch = math.ceil(len(bundle.train) / 64)
    with pytest.raises(KeyboardInterrupt):
        fit(killed, bundle, trainer, optim, Run(tmp_path / "killed"), step=killed_after(2 * steps_per_epoch + 5))
    assert len(read_history(tmp_path / "killed" / "history.csv")) == 2

    bundle, resumed = setup(model={"dropout": 0.3}, **data)
    torch.manual_seed(123)  # another global RNG state (dropout): the checkpoint's must win
    run = Run(tmp_path / "resumed")
    again = fit(resumed, bundle, trainer | {"resume": str(tmp_path / "killed")}, optim, run)
    run.close()
    drop = {"seconds"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in again.history] == \
           [{k: v for k, v in r.items() if k not in drop} for r in whole.history]
    assert len(read_history(tmp_path / "resumed" / "history.csv")) == 4
    for a, b in zip(model.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_resume_refuses_another_schedule_or_model_and_can_always_resume_again(tmp_path):
    optim = {"name": "sgd", "lr": 0.1, "scheduler": {"name": "cosine"}}
    bundle, model = setup()
    fit(model, bundle, {"epochs": 2} | QUIET, optim, Run(tmp_path / "first"))
    resume = {"resume": str(tmp_path / "first")} | QUIET
    with pytest.raises(NnxError, match="lr schedule has T_max=2, this run's 4"):
        fit(setup()[1], bundle, {"epochs": 4} | resume, optim, Run(tmp_path / "longer"))
    for other in ({"lr": 0.05}, {"name": "adam"}):  # load_state_dict would keep the old lr, or crash on adam
        with pytest.raises(NnxError, match="optimizer was built with other settings"):
            fit(setup()[1], bundle, {"epochs": 2} | resume, optim | other, Run(tmp_path / "other_optim"))
    with pytest.raises(NnxError, match="that run had an lr schedule, this one has none"):
        fit(setup()[1], bundle, {"epochs": 4} | resume, {"name": "sgd", "lr": 0.1}, Run(tmp_path / "no_schedule"))
    frozen = setup()[1]
    next(frozen.parameters()).requires_grad_(False)  # another trainable part: the optimizer holds one tensor less
    with pytest.raises(NnxError, match=r"trained \[4\] parameter tensors per group, this run's \[3\]"):
        fit(frozen, bundle, {"epochs": 2} | resume, optim, Run(tmp_path / "frozen"))
    with pytest.raises(NnxError, match=r"does not fit this model: .*size mismatch"):
        fit(setup(model={"hidden": [16]})[1], bundle, {"epochs": 2} | resume, optim, Run(tmp_path / "other"))
    done = fit(setup()[1], bundle, {"epochs": 2} | resume, optim, Run(tmp_path / "nothing_left"))
    assert done.last_epoch == 2 and (tmp_path / "nothing_left" / "last.pt").is_file()  # resumable in its turn
    with pytest.raises(NnxError, match=r"optim\.lr=-1\.0 must be >= 0"):
        fit(setup()[1], bundle, {"epochs": 1} | QUIET, {"name": "sgd", "lr": -1}, Run(tmp_path / "negative"))
    with pytest.raises(NnxError, match="trainer.epochs=0 must be >= 1"):
        trainer_config({"epochs": 0})


def test_a_model_the_killed_run_never_reached_trains_from_the_start(tmp_path):
    bundle, teacher = setup()
    fit(teacher, bundle, {"epochs": 1} | QUIET, {"name": "sgd"}, Run(tmp_path / "killed"), name="teacher")
    results = []
    for folder, resume in (("fresh", None), ("resumed", str(tmp_path / "killed"))):
        bundle, student = setup(seed=1)
        results.append(fit(student, bundle, {"epochs": 2, "resume": resume} | QUIET, {"name": "sgd"},
                           Run(tmp_path / folder), name="student").history)
    drop = lambda rows: [{k: v for k, v in row.items() if k != "seconds"} for row in rows]  # noqa: E731
    assert drop(results[0]) == drop(results[1]) and (tmp_path / "resumed" / "student_last.pt").is_file()


def test_resume_from_nothing_is_a_clear_error(tmp_path):
    bundle, model = setup()
    with pytest.raises(NnxError, match="no checkpoint at .*last.pt"):
        fit(model, bundle, {"epochs": 1, "resume": str(tmp_path)} | QUIET, {"name": "sgd"}, Run(tmp_path / "r"))


def test_a_built_scheduler_without_its_optimizer_is_refused(tmp_path):
    bundle, model = setup()
    other = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(other, step_size=1)
    with pytest.raises(TypeError, match="built scheduler needs the built optimizer"):
        fit(model, bundle, {"epochs": 1} | QUIET, {"name": "sgd"}, Run(tmp_path), scheduler=scheduler)


def test_early_stopping_follows_keras():
    stopper = EarlyStopping(EarlyStoppingConfig(monitor="val_loss", patience=2, min_delta=0.05), {"val_loss"})
    improved = [stopper.update({"epoch": e, "val_loss": v}) for e, v in enumerate([1.0, 0.9, 0.88, 0.87, 0.5], 1)]
    assert improved == [True, True, False, False, True] and stopper.best_epoch == 5 and not stopper.should_stop
    stopper = EarlyStopping(EarlyStoppingConfig(monitor="val_acc", patience=1), {"val_acc"})
    [stopper.update({"epoch": e, "val_acc": v}) for e, v in enumerate([0.5, 0.7, 0.7], 1)]
    assert stopper.maximize and stopper.should_stop and stopper.best_epoch == 2
    stopper = EarlyStopping(EarlyStoppingConfig(monitor="val_loss", patience=0), {"val_loss"})
    stops = []
    for epoch, value in enumerate([1.0, 0.9, 0.8, 0.85], 1):  # Keras' patience=0: at the first epoch not better
        stopper.update({"epoch": epoch, "val_loss": value})
        stops.append(stopper.should_stop)
    assert stops == [False, False, False, True]
    for bad in ({"patience": -1}, {"min_delta": -0.1}):
        with pytest.raises(NnxError, match="must be >= 0"):
            trainer_config({"early_stopping": bad})


def test_early_stopping_stops_the_loop(tmp_path):
    bundle, model = setup(val_fraction=0.2)
    # train_loss only falls, so "max" mode never improves after epoch 1: stop after 1 + patience epochs
    trainer = {"epochs": 10, "early_stopping": {"monitor": "train_loss", "mode": "max", "patience": 2}} | QUIET
    result = fit(model, bundle, trainer, {"name": "sgd", "lr": 0.1}, Run(tmp_path))
    assert result.stopped_early and result.last_epoch == 3 and result.best_epoch == 1
    with pytest.raises(NnxError, match="(?s)val_loss.*data.val_fraction"):
        fit(model, load({"name": "digits"}), {"early_stopping": {"patience": 2}} | QUIET, {"name": "sgd"},
            Run(tmp_path / "no_val"))


def test_test_each_epoch_logs_the_test_split_as_evaluate_scores_it_and_never_selects_on_it(tmp_path):
    bundle, model = setup(val_fraction=0.2)
    run = Run(tmp_path)
    plus_one = lambda net, x, y: (torch.nn.functional.cross_entropy(net(x), y) + 1.0, net(x))  # noqa: E731
    trainer = {"epochs": 2, "test_each_epoch": True, "restore_best": False} | QUIET
    result = fit(model, bundle, trainer, {"name": "adam", "lr": 0.01}, run, step=plus_one)
    final = evaluate(model, bundle, "test", run)
    run.close()
    rows = read_history(tmp_path / "history.csv")
    assert list(rows[0]) == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr",
                             "seconds"]
    # the training step's extra +1 is in train/val loss, not in the test column: that is plain cross-entropy
    assert float(rows[0]["val_loss"]) > 1 and float(rows[0]["test_loss"]) < 1
    plain_val = fit(model, bundle, {"epochs": 1} | QUIET, {"name": "sgd"}, Run(tmp_path / "plain_val"), step=plus_one,
                    val_step=scoring_step({}))
    assert plain_val.history[0]["train_loss"] > 1 > plain_val.history[0]["val_loss"]  # val scored without the +1
    assert result.history[-1]["test_acc"] == pytest.approx(final["test_acc"])
    assert result.history[-1]["test_loss"] == pytest.approx(final["test_loss"], rel=1e-5)
    with pytest.raises(NnxError, match="test split never chooses"):
        fit(model, bundle, {"early_stopping": {"monitor": "test_loss", "patience": 1}, "test_each_epoch": True}
            | QUIET, {"name": "sgd"}, Run(tmp_path / "chooses"))
    bundle.test = None
    with pytest.raises(NnxError, match="no test split"):
        fit(model, bundle, trainer, {"name": "sgd"}, Run(tmp_path / "none"))


def test_divergence_stops_cleanly_and_keeps_the_history(tmp_path):
    bundle, model = setup()
    run = Run(tmp_path)
    optim = {"name": "sgd", "lr": 1.0, "scheduler": {"name": "exponential", "gamma": 1e12}}  # 1, 1e12, 1e24 ...
    result = fit(model, bundle, {"epochs": 6} | QUIET, optim, run)
    run.close()
    assert result.diverged and run.status == "diverged" and 2 <= result.last_epoch < 6
    rows = read_history(tmp_path / "history.csv")
    assert len(rows) == result.last_epoch and rows[-1]["train_loss"] == "nan"
    assert all(math.isfinite(float(r["train_loss"])) for r in rows[:-1])
    assert torch.load(tmp_path / "last.pt", weights_only=True)["epoch"] == result.last_epoch - 1


def test_a_custom_step_and_a_name_for_several_models(tmp_path):
    bundle, model = setup()
    decoder = torch.nn.Linear(10, 64)
    model = torch.nn.Sequential(model, decoder)  # a toy autoencoder: digits -> 10 -> pixels

    def reconstruct(net, x, y):
        return torch.nn.functional.mse_loss(net(x), x.flatten(1)), None

    run = Run(tmp_path)
    result = fit(model, bundle, {"epochs": 3, "progress": False}, {"name": "adam", "lr": 0.01}, run,
                 step=reconstruct, name="autoencoder")
    run.close()
    rows = read_history(tmp_path / "autoencoder_history.csv")
    assert [r["train_acc"] for r in rows] == ["", "", ""]
    assert float(rows[2]["train_loss"]) < float(rows[0]["train_loss"])
    assert {"autoencoder_last.pt", "autoencoder_curves.png"} <= {p.name for p in tmp_path.iterdir()}
    assert result.metrics()["epochs"] == 3 and "train_acc" not in result.metrics()


def test_gradient_clipping_bounds_each_update(tmp_path):
    bundle, model = setup()
    before = [p.detach().clone() for p in model.parameters()]
    fit(model, bundle, {"epochs": 1, "clip_grad_norm": 1e-6, "checkpoint": False} | QUIET,
        {"name": "sgd", "lr": 1.0}, Run(tmp_path))
    moved = torch.cat([(p.detach() - b).flatten() for p, b in zip(model.parameters(), before)]).norm()
    assert 0 < moved <= 22 * 1e-6 * 1.0001  # 22 steps, each at most lr * 1e-6 long

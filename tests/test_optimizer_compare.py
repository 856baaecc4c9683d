"""optimizer_compare: the protocol loop (target, divergence, mini-batches) and the experiment end to end via the CLI."""

import csv

import pytest
import torch
from matplotlib.figure import Figure
from sklearn.datasets import load_digits

from conftest import Cli, read_metrics, summary_rows
from nnx.experiments.optimizer_compare.config import NAMES, ProtocolConfig
from nnx.experiments.optimizer_compare.experiment import batches, summarize, train_until
from nnx.experiments.optimizer_compare.figures import loss_curves_figure
from nnx.experiments.optimizer_compare.hand_optimizers import make_optimizer
from nnx.experiments.optimizer_compare.tensor_mlp import TensorMLP

EXP = "experiment=optimizer_compare"
SMOKE_LRS = ("0.1", "1")  # conf/experiment/optimizer_compare.yaml, smoke_overrides


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x[:300], dtype=torch.float32)
    return (x - x.mean()) / x.std(), torch.tensor(y[:300])


def protocol_run(name, lr, x, y, batch_size=None, **protocol):
    model = TensorMLP(x.shape[1], 32, 10, seed=0)
    outcome = train_until(model, make_optimizer(name, model.parameters(), lr), x, y, ProtocolConfig(**protocol),
                          batch_size or len(x), seed=0)
    return model, outcome


def test_training_stops_at_the_first_loss_below_the_target(digits):
    _, outcome = protocol_run("adam", 0.01, *digits, target_loss=0.5)
    assert outcome.iters_to_target == len(outcome.losses) - 1 and outcome.diverged_at is None
    assert outcome.losses[-1] < 0.5 <= min(outcome.losses[:-1])


def test_without_reaching_the_target_it_takes_exactly_max_iters_steps(digits):
    _, outcome = protocol_run("sgd", 0.001, *digits, max_iters=7)
    assert len(outcome.losses) == 8 and outcome.iters_to_target is None and outcome.diverged_at is None


def test_a_blow_up_is_recorded_and_stops_the_run(digits):
    # RMSProp's first step is lr / sqrt(1 - alpha) = 10 lr on every weight: at lr = 1 the loss explodes at once
    model, outcome = protocol_run("rmsprop", 1.0, *digits)
    assert outcome.diverged_at == 1 and len(outcome.losses) == 2
    assert outcome.losses[1] > 10 * outcome.losses[0]
    result = summarize(outcome, test_acc=0.5)
    assert result["diverged"] and result["diverged_at"] == 1 and result["test_acc"] is None
    assert result["final_loss"] == outcome.losses[1] and result["iters_to_target"] is None


def test_a_non_finite_loss_is_recorded_never_plotted(digits):
    x, y = digits
    _, outcome = protocol_run("sgd", 0.1, x * 1e38, y)  # the first forward pass overflows to inf / NaN
    assert outcome.diverged_at == 0 and outcome.losses == []
    assert summarize(outcome, test_acc=None)["final_loss"] is None
    fig = Figure()
    loss_curves_figure(fig, {"sgd": {0.1: {"losses": [], "diverged_at": 0}}}, target_loss=0.1)
    assert fig.axes[0].get_legend_handles_labels()[1] == ["lr=0.1 (diverged at 0)", "target 0.1"]


def test_mini_batches_cover_every_sample_once_per_epoch(digits):
    stream = batches(10, 4, torch.Generator().manual_seed(0))
    epoch = [next(stream) for _ in range(3)]
    assert [len(b) for b in epoch] == [4, 4, 2] and sorted(torch.cat(epoch).tolist()) == list(range(10))
    _, outcome = protocol_run("sgd", 0.1, *digits, batch_size=50, max_iters=60)
    assert outcome.losses[-1] < 0.5 * outcome.losses[0]


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory):
    """Three smoke runs with seed 3: scratch twice, then torch.optim."""
    cli = Cli(tmp_path_factory.mktemp("outputs"))
    for impl in ("scratch", "scratch", "torch"):
        result = cli("run", EXP, "data=digits", "smoke=true", "seed=3", f"optim.impl={impl}")
        assert result.returncode == 0, result.stderr
    return cli.run_dirs("optimizer_compare")


def test_smoke_run_writes_metrics_history_table_and_figure(smoke_runs):
    run_dir = smoke_runs[0]
    assert {"metrics.json", "history.csv", "protocol.csv", "protocol.md", "loss_curves.png", "report.md"} <= {
        p.name for p in run_dir.iterdir()}
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "ok"
    keys = ("iters_to_target", "final_loss", "diverged", "diverged_at", "loss_rises", "test_acc", "seconds")
    assert {f"{name}/lr_{lr}/{key}" for name in NAMES for lr in SMOKE_LRS for key in keys} <= set(metrics)
    assert metrics["rmsprop/lr_1/diverged"] is True and metrics["rmsprop/lr_1/diverged_at"] == 1
    rows = list(csv.DictReader((run_dir / "history.csv").open()))
    assert {(r["optimizer"], r["lr"]) for r in rows} == {(n, lr) for n in NAMES for lr in ("0.1", "1.0")}
    sgd_rows = [r for r in rows if (r["optimizer"], r["lr"]) == ("sgd", "0.1")]
    assert [int(r["iteration"]) for r in sgd_rows] == list(range(len(sgd_rows)))
    assert float(sgd_rows[-1]["loss"]) == pytest.approx(metrics["sgd/lr_0.1/final_loss"])
    assert "| sgd/lr_1/diverged | false | true |" in (run_dir / "report.md").read_text()


def test_same_seed_same_metrics(smoke_runs):
    first, second = (read_metrics(d) for d in smoke_runs[:2])
    untimed = {k: v for k, v in first.items() if k != "duration_s" and not k.endswith("/seconds")}
    assert untimed == {k: v for k, v in second.items() if k in untimed}


def test_torch_optim_takes_the_same_steps(smoke_runs):
    ours, theirs = read_metrics(smoke_runs[0]), read_metrics(smoke_runs[2])
    for key, value in ours.items():
        if key.endswith(("iters_to_target", "diverged", "diverged_at", "loss_rises")):
            assert theirs[key] == value, key
        elif key.endswith("final_loss"):
            assert theirs[key] == pytest.approx(value, rel=1e-4), key


def test_sweep_over_optimizers_and_learning_rates(cli):
    result = cli("run", "-m", EXP, "data=digits", "smoke=true", "optim.name=sgd,adam", "optim.lr=0.1,1")
    assert result.returncode == 0, result.stderr
    (sweep,) = cli.sweep_dirs("optimizer_compare")
    rows = summary_rows(sweep)
    assert [(r["optim.name"], r["optim.lr"]) for r in rows] == [("sgd", "0.1"), ("sgd", "1"), ("adam", "0.1"),
                                                                  ("adam", "1")]
    assert rows[3]["status"] == "diverged" and rows[3]["adam/lr_1/diverged_at"] == "1"
    assert rows[0]["status"] == "ok" and rows[0]["sgd/lr_0.1/final_loss"]


def test_bad_optimizer_settings_give_one_clear_line(cli):
    for args, message in {("optim.lr=abc",): "full_key: optim.lr",  # Hydra's message, while composing
                          ("optim.impl=torch", "optim.name=momentum_notebook"): "no torch implementation",
                          ("optim.name=adam", "optim.betas=[0.9]"): "Adam takes two decay rates"}.items():
        result = cli("run", EXP, "data=digits", "smoke=true", *args)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr

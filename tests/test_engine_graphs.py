"""Training steps: the eager step, and the CUDA-graph step (`trainer.cuda_graph`). On the CPU the graph step runs
with stand-ins for capture (record the step, run it on each replay) and for the side stream, which checks its
bookkeeping: static batch buffers, warm-up, the eager partial batch, recapture on a new learning rate, running sums.
The CUDA tests capture real graphs and run wherever a GPU is present."""

import contextlib
import math
from types import SimpleNamespace

import pytest
import torch

from nnx.data import load
from nnx.engine import OptimizerRecipe, fit, supervised_step
from nnx.engine.steps import WARMUP, GraphedTrainStep, TrainStep, graph_refusal, train_epoch
from nnx.registry import MODELS
from nnx.run import Run

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
FULL_BATCHES = 16  # digits with val_fraction 0.2: 1,077 training images = 16 batches of 64 and one of 53


def setup(device="cpu", seed=0):
    torch.manual_seed(seed)
    bundle = load({"name": "digits", "batch_size": 64, "val_fraction": 0.2}, device=device, seed=seed)
    model = MODELS.build({"name": "mlp", "hidden": [32]}, input_shape=bundle.input_shape, num_classes=10)
    return bundle, model.to(device)


def record(body):
    """Capture's stand-in: keep the step, run it at each replay (capture itself runs nothing, as CUDA's does)."""
    return body


def train(graphed: bool, optim: dict, epochs=3, device="cpu", clip=None, amp=False, capture=record):
    bundle, model = setup(device)
    optimizer, scheduler = OptimizerRecipe.from_config(optim)(model.parameters(), epochs)
    args = (model, supervised_step(torch.nn.CrossEntropyLoss()), optimizer, clip, amp, device)
    stand_ins = {} if device != "cpu" else {"capture": capture, "side_stream": contextlib.nullcontext}
    step = GraphedTrainStep(*args, batch_size=64, **stand_ins) if graphed else TrainStep(*args)
    results = []
    for _ in range(epochs):
        results.append(train_epoch(step, bundle, check_every=1))
        if scheduler is not None:
            scheduler.step()
    return results, [p.detach().cpu() for p in model.parameters()], step


MOMENTUM_HALVING = {"name": "momentum", "lr": 0.1, "momentum": 0.9,
                    "scheduler": {"name": "step", "step_size": 1, "gamma": 0.5}}


def test_the_graph_step_trains_exactly_as_the_eager_step_and_recaptures_on_each_new_lr():
    eager, eager_params, _ = train(False, MOMENTUM_HALVING, clip=1.0)
    graphed, graphed_params, step = train(True, MOMENTUM_HALVING, clip=1.0)
    assert graphed == eager and eager[-1][1] > 0.85  # a replay that reused the captured batch would differ
    assert all(torch.equal(a, b) for a, b in zip(graphed_params, eager_params))
    assert step.static_x.shape == (64, 1, 8, 8)
    assert step.captures == 3 and step.replays == 3 * (FULL_BATCHES - WARMUP)  # the lr halves every epoch


def test_without_a_schedule_one_capture_serves_every_epoch():
    optim = {"name": "adam", "lr": 0.01}
    eager, eager_params, _ = train(False, optim)
    graphed, graphed_params, step = train(True, optim)
    assert graphed == eager
    assert all(torch.equal(a, b) for a, b in zip(graphed_params, eager_params))
    assert step.captures == 1 and step.replays == 3 * FULL_BATCHES - WARMUP


def test_a_diverging_graph_step_reports_a_non_finite_loss():
    optim = {"name": "sgd", "lr": 1.0, "scheduler": {"name": "exponential", "gamma": 1e12}}  # 1, 1e12, 1e24
    results, _, step = train(True, optim, epochs=3)
    assert math.isfinite(results[0][0]) and math.isnan(results[-1][0]) and results[-1][1] is None
    assert step.replays > 0


def test_graph_refusals_name_their_reason():
    tensors = SimpleNamespace(x=torch.zeros(2, 3))
    assert graph_refusal(SimpleNamespace(device="cpu", train=tensors), False) == "there is no CUDA device"
    assert "DataLoader" in graph_refusal(SimpleNamespace(device="cuda", train=SimpleNamespace(images=[])), False)
    assert "custom" in graph_refusal(SimpleNamespace(device="cuda:0", train=tensors), True)
    assert graph_refusal(SimpleNamespace(device="cuda", train=tensors), False) is None


def test_cuda_graph_on_a_cpu_run_trains_eagerly_and_says_so(tmp_path, caplog):
    histories = []
    for flag in (False, True):
        bundle, model = setup()
        with caplog.at_level("INFO", logger="nnx"):
            result = fit(model, bundle, {"epochs": 2, "cuda_graph": flag, "progress": False, "plots": False},
                         {"name": "sgd", "lr": 0.1}, Run(tmp_path / str(flag)))
        histories.append([{k: v for k, v in row.items() if k != "seconds"} for row in result.history])
    assert histories[0] == histories[1]
    assert "trainer.cuda_graph: there is no CUDA device; training eagerly" in caplog.text


@cuda
@pytest.mark.parametrize("optim, clip, amp", [
    (MOMENTUM_HALVING, 1.0, False),
    ({"name": "adam", "lr": 0.01, "scheduler": {"name": "cosine"}}, None, False),
    ({"name": "rmsprop", "lr": 0.001}, None, True),
])
def test_real_cuda_graphs_train_as_the_eager_step(optim, clip, amp):
    eager, eager_params, _ = train(False, optim, device="cuda", clip=clip, amp=amp)
    graphed, graphed_params, step = train(True, optim, device="cuda", clip=clip, amp=amp)
    assert step.captures >= 1 and step.replays >= FULL_BATCHES
    for (loss_e, acc_e), (loss_g, acc_g) in zip(eager, graphed):
        assert loss_g == pytest.approx(loss_e, rel=1e-3, abs=1e-4) and abs(acc_g - acc_e) <= 3 / 1077
    for a, b in zip(eager_params, graphed_params):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)


@cuda
def test_fit_with_cuda_graph_learns_checkpoints_and_resumes(tmp_path):
    trainer = {"epochs": 3, "cuda_graph": True, "progress": False, "plots": False}
    bundle, model = setup("cuda")
    result = fit(model, bundle, trainer, {"name": "adamw", "lr": 0.01}, Run(tmp_path / "a", device="cuda"))
    assert result.last_epoch == 3 and result.history[-1]["val_acc"] > 0.9
    bundle, model = setup("cuda")
    fit(model, bundle, trainer | {"epochs": 1}, {"name": "adamw", "lr": 0.01}, Run(tmp_path / "b", device="cuda"))
    bundle, model = setup("cuda")
    resumed = fit(model, bundle, trainer | {"resume": str(tmp_path / "b")}, {"name": "adamw", "lr": 0.01},
                  Run(tmp_path / "c", device="cuda"))
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3]
    assert resumed.history[-1]["val_acc"] == pytest.approx(result.history[-1]["val_acc"], abs=0.02)
    saved = torch.load(tmp_path / "b" / "last.pt", weights_only=True)
    assert not any(group["capturable"] for group in saved["optimizer"]["param_groups"])  # saved as built
    bundle, model = setup("cpu")  # so the same checkpoint resumes on a machine without a GPU
    on_cpu = fit(model, bundle, trainer | {"resume": str(tmp_path / "b")}, {"name": "adamw", "lr": 0.01},
                 Run(tmp_path / "d"))
    assert on_cpu.last_epoch == 3 and on_cpu.history[-1]["val_acc"] > 0.9

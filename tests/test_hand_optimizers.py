"""Each hand-written optimizer against its torch.optim twin, step for step, on the tensor MLP and real digits."""

import pytest
import torch
from sklearn.datasets import load_digits

from nnx.errors import NnxError
from nnx.experiments.optimizer_compare.config import NAMES
from nnx.experiments.optimizer_compare.hand_optimizers import make_optimizer
from nnx.experiments.optimizer_compare.tensor_mlp import TensorMLP

STEPS = 100


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return torch.tensor(x[:300] / 16, dtype=torch.float32), torch.tensor(y[:300])


def train(name: str, impl: str, lr: float, x, y, batch: int) -> TensorMLP:
    model = TensorMLP(64, 32, 10, seed=0)
    optimizer = make_optimizer(name, model.parameters(), lr, impl=impl)
    for step in range(STEPS):
        rows = slice(step * batch % len(x), step * batch % len(x) + batch)  # mini-batches cycle through the data
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x[rows]), y[rows]).backward()
        optimizer.step()
    return model


@pytest.mark.parametrize("name", NAMES)
def test_scratch_equals_torch_optim_after_100_steps(name, digits):
    x, y = digits
    lr = {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "rmsprop": 0.001, "adam": 0.001}[name]
    ours, theirs = (train(name, impl, lr, x, y, batch=60) for impl in ("scratch", "torch"))
    start = TensorMLP(64, 32, 10, seed=0)
    moved = max((p - p0).abs().max().item() for p, p0 in zip(ours.parameters(), start.parameters()))
    gap = max((p - q).abs().max().item() for p, q in zip(ours.parameters(), theirs.parameters()))
    assert moved > 0.01, "the weights barely moved: the comparison would prove nothing"
    assert gap <= 1e-6


def test_momentum_is_not_plain_sgd_and_nesterov_is_not_momentum(digits):
    x, y = digits
    weights = {name: train(name, "scratch", 0.05, x, y, batch=60).W1 for name in ("sgd", "momentum", "nesterov")}
    assert (weights["sgd"] - weights["momentum"]).abs().max() > 1e-3
    assert (weights["momentum"] - weights["nesterov"]).abs().max() > 1e-3


def test_first_steps_by_hand():
    """One parameter, gradient g = 2 each step: the rules' first two steps computed by hand."""
    def two_steps(name, **kw):
        p = torch.zeros(1, requires_grad=True)
        optimizer = make_optimizer(name, [p], lr=0.1, **kw)
        for _ in range(2):
            p.grad = torch.full((1,), 2.0)
            optimizer.step()
        return p.item()

    assert two_steps("sgd") == pytest.approx(-0.4)                        # -0.1*2 twice
    assert two_steps("momentum") == pytest.approx(-0.2 - 0.1 * 3.8)      # v = 2, then 0.9*2 + 2
    assert two_steps("nesterov") == pytest.approx(-0.1 * 3.8 - 0.1 * 5.42)  # g + mu v: 2 + 1.8, 2 + 0.9*3.8
    assert two_steps("adam") == pytest.approx(-0.2, rel=1e-6)            # m_hat / sqrt(v_hat) = 1 each step
    assert two_steps("rmsprop", alpha=0.5) == pytest.approx(-0.1 * (2 / 2**0.5 + 2 / 3**0.5), rel=1e-6)


def test_notebook_momentum_ignores_the_learning_rate():
    finals = []
    for lr in (0.001, 1.0):
        p = torch.zeros(1, requires_grad=True)
        optimizer = make_optimizer("momentum_notebook", [p], lr=lr)
        for _ in range(3):
            p.grad = torch.ones(1)
            optimizer.step()
        finals.append(p.item())
    assert finals[0] == finals[1] == pytest.approx(-(0.1 + 0.19 + 0.271))


def test_unknown_names_give_a_clear_error():
    p = torch.zeros(1, requires_grad=True)
    with pytest.raises(NnxError, match="no torch implementation"):
        make_optimizer("momentum_notebook", [p], 0.1, impl="torch")
    with pytest.raises(NnxError, match="not an implementation"):
        make_optimizer("sgd", [p], 0.1, impl="numpy")
    with pytest.raises(NnxError, match="choose one of: sgd"):
        make_optimizer("lion", [p], 0.1)


def test_notebook_momentum_is_heavy_ball_at_lr_0_1_whatever_lr_it_is_given(digits):
    """m = 0.1 g + 0.9 m is 0.1 times the heavy-ball velocity v = g + 0.9 v: every lr trains as lr = 0.1."""
    x, y = digits
    notebook = train("momentum_notebook", "scratch", 1.0, x, y, batch=60)
    heavy_ball = train("momentum", "scratch", 0.1, x, y, batch=60)
    assert max((p - q).abs().max().item() for p, q in zip(notebook.parameters(), heavy_ball.parameters())) <= 1e-5

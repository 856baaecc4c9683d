"""Adaline/LMS against the closed-form least squares and torch autograd; the iris loader's split."""

import numpy as np
import pytest
import torch

from nnx.data.tabular import iris, moons
from nnx.errors import NnxError
from nnx.models.adaline import Adaline, bipolar, least_squares, lms_config


def small_problem(seed=0, n=40):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    t = np.where(x @ [1.0, -2.0, 0.5] + 0.3 * rng.normal(size=n) > 0, 1.0, -1.0)
    return x, t


def test_batch_lms_converges_to_the_least_squares_weights():
    x, t = small_problem()
    w_ls, b_ls = least_squares(x, t)
    model = Adaline(3, "batch")
    for _ in range(2000):
        model.train_epoch(x, t, lr=0.5)
    np.testing.assert_allclose(model.w, w_ls, atol=1e-8)
    assert model.b == pytest.approx(b_ls, abs=1e-8)


def test_online_lms_ends_near_the_least_squares_weights():
    x, t = small_problem(1)
    w_ls, _ = least_squares(x, t)
    model = Adaline(3, "online", np.random.default_rng(0))
    for _ in range(300):
        model.train_epoch(x, t, lr=0.002)
    np.testing.assert_allclose(model.w, w_ls, atol=0.02)  # a small step jitters around the optimum


def test_batch_step_is_gradient_descent_on_the_half_mean_squared_error():
    x, t = small_problem(2)
    model = Adaline(3, "batch")
    model.w, model.b = np.array([0.2, -0.1, 0.4]), 0.05
    w = torch.tensor(model.w, requires_grad=True)
    b = torch.tensor(model.b, dtype=torch.float64, requires_grad=True)
    cost = 0.5 * ((torch.tensor(t) - torch.tensor(x) @ w - b) ** 2).mean()
    cost.backward()
    model.train_epoch(x, t, lr=0.1)
    np.testing.assert_allclose(model.w, (w - 0.1 * w.grad).detach().numpy(), rtol=1e-12)
    assert model.b == pytest.approx((b - 0.1 * b.grad).item())


def test_separable_problem_is_learned_perfectly():
    rng = np.random.default_rng(3)
    x = np.vstack([rng.normal(-3, 0.5, (20, 2)), rng.normal(3, 0.5, (20, 2))])
    t = np.repeat([-1.0, 1.0], 20)
    for update, lr in (("batch", 0.1), ("online", 0.01)):
        model = Adaline(2, update, np.random.default_rng(0))
        for _ in range(100):
            model.train_epoch(x, t, lr)
        assert (model.predict(x) == t).all(), update


def test_unknown_update_is_a_clear_error():
    with pytest.raises(NnxError, match="model.update='sgd'"):
        Adaline(2, "sgd")


def test_iris_split_is_stratified_seeded_and_standardized():
    data = iris(["petal_length", "petal_width"], 0.2, seed=4)
    assert data.x_train.shape == (120, 2) and data.x_test.shape == (30, 2)
    assert np.bincount(data.y_test).tolist() == [10, 10, 10]
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(data.x_train.std(axis=0), 1, atol=1e-12)
    assert np.array_equal(iris(["petal_length", "petal_width"], 0.2, seed=4).x_test, data.x_test)
    assert not np.array_equal(iris(["petal_length", "petal_width"], 0.2, seed=5).x_test, data.x_test)
    assert bipolar(data.y_test, 0).sum() == 10 - 20


def test_bad_data_settings_are_clear_errors():
    with pytest.raises(NnxError, match="petal_size"):
        iris(["petal_size"], 0.2)
    with pytest.raises(NnxError, match="test_fraction"):
        moons(100, 0.2, 1.5)


def test_optim_must_be_lms_with_a_positive_step():
    assert lms_config({"name": "lms", "lr": 0.1}).lr == 0.1
    for bad in ({"name": "adam", "lr": 0.1}, {"name": "lms", "lr": 0.0}):
        with pytest.raises(NnxError, match="optim.name=lms"):
            lms_config(bad)
    with pytest.raises(NnxError, match="invalid config value optim.lr"):
        lms_config({"name": "lms", "lr": "fast"})

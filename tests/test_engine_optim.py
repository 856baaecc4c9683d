"""Optimizers and schedules from their config files, and the engine's config groups composed and validated."""

import pytest
import torch

from nnx.engine import OptimizerRecipe, trainer_config
from nnx.errors import NnxError
from nnx.registry import MODELS


@pytest.mark.parametrize("name, kind, expected", [
    ("sgd", torch.optim.SGD, {"momentum": 0.0, "nesterov": False}),
    ("momentum", torch.optim.SGD, {"momentum": 0.9, "nesterov": False}),
    ("nesterov", torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    ("rmsprop", torch.optim.RMSprop, {"alpha": 0.99}),
    ("adam", torch.optim.Adam, {"betas": (0.9, 0.999)}),
    ("adamw", torch.optim.AdamW, {"weight_decay": 0.01}),
])
def test_optimizers_from_their_config_files(compose, name, kind, expected):
    cfg = compose(f"optim={name}")
    optimizer, scheduler = OptimizerRecipe.from_config(cfg.optim)(torch.nn.Linear(3, 2).parameters(), epochs=3)
    assert scheduler is None
    assert type(optimizer) is kind
    assert expected.items() <= optimizer.param_groups[0].items()


def test_config_files_compose_and_validate(compose):
    from nnx.registry import DATASETS

    cfg = compose("data=fashion_mnist", "optim=adam", "trainer=default", "model=mlp")
    assert trainer_config(cfg.trainer).early_stopping.patience is None
    assert MODELS.validate(cfg.model)["hidden"] == [128, 128]
    for name in ("mnist", "fashion_mnist", "cifar10", "digits", "cats_vs_dogs", "oxford_pets_binary"):
        assert DATASETS.validate(compose(f"data={name}").data)["batch_size"] == 64


def test_schedulers_and_bad_optimizer_configs():
    params = list(torch.nn.Linear(2, 2).parameters())
    step = {"name": "step", "step_size": 2, "gamma": 0.5}
    optimizer, scheduler = OptimizerRecipe.from_config({"name": "sgd", "lr": 1.0, "scheduler": step})(params, epochs=10)
    lrs = []
    for _ in range(5):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert OptimizerRecipe.from_config({"name": "adam"})(params, epochs=3)[1] is None
    with pytest.raises(NnxError, match="no trainable parameters"):
        OptimizerRecipe.from_config({"name": "adam"})([], epochs=3)
    with pytest.raises(NnxError, match="optim.learning_rate: Key .learning_rate. not in"):
        OptimizerRecipe.from_config({"name": "adam", "learning_rate": 0.1})
    with pytest.raises(NnxError, match="unknown optimizer 'adagrad'"):
        OptimizerRecipe.from_config({"name": "adagrad"})
    for key, value in (("lr", -0.1), ("weight_decay", float("nan")), ("momentum", -0.9), ("eps", -1e-8)):
        with pytest.raises(NnxError, match=rf"optim\.{key}={value} must be >= 0"):  # the schema's range checks
            OptimizerRecipe.from_config({"name": "sgd", key: value})
    with pytest.raises(NnxError, match="optim.name=nesterov: Nesterov momentum requires a momentum"):  # torch's
        OptimizerRecipe.from_config({"name": "nesterov", "momentum": 0.0})
    with pytest.raises(NnxError, match="Adam takes two decay rates"):
        OptimizerRecipe.from_config({"name": "adam", "betas": [0.9, 1.0]})
    with pytest.raises(NnxError, match="optim.scheduler.name='cosin' is unknown"):
        OptimizerRecipe.from_config({"name": "adam", "scheduler": {"name": "cosin"}})
    with pytest.raises(NnxError, match="trainer.epoch"):
        trainer_config({"epoch": 3})

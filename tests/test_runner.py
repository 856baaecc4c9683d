import pytest
from omegaconf import OmegaConf

from nnx.errors import NnxError
from nnx.runner import apply_smoke, resolve_device, validate


def test_smoke_overrides_apply_only_when_smoke_is_on():
    cfg = OmegaConf.create({"smoke": False, "smoke_overrides": {"trainer": {"epochs": 1}}, "trainer": {"epochs": 50}})
    assert apply_smoke(cfg).trainer.epochs == 50
    cfg.smoke = True
    assert apply_smoke(cfg).trainer.epochs == 1


def test_what_the_command_line_sets_wins_over_the_smoke_config():
    cfg = OmegaConf.create({"smoke": True, "trees": 7, "data": {"name": "digits", "limit": None},
                            "smoke_overrides": {"trees": 2, "trainer": {"epochs": 1}, "data": {"limit": 40}}})
    cfg.trainer = {"epochs": 3}
    smoked = apply_smoke(cfg, overrides=["experiment=x", "data=digits", "trees=7", "+trainer.epochs=3", "smoke=true"])
    assert (smoked.trees, smoked.trainer.epochs, smoked.data.limit) == (7, 3, 40)  # data=digits picks, sets nothing
    assert apply_smoke(cfg, overrides=[]).trainer.epochs == 1
    assert apply_smoke(cfg, overrides=["data.limit=null"]).data.limit is None  # a typed null is a value too


def test_device_choice():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda")
    for bad in ("tpu", "cudafoo", "cuda:x", "cuda:-1", "cuda:"):
        with pytest.raises(NnxError, match="not a device"):
            resolve_device(bad)


def test_validate_checks_common_keys():
    with pytest.raises(NnxError, match="seed"):
        validate(OmegaConf.create({"seed": "x", "device": "cpu", "smoke": False}), None)


def test_the_optim_group_is_checked_once_and_bound_to_its_torch_class(monkeypatch, tmp_path):
    import torch

    from nnx.engine import OptimizerRecipe, fit
    from nnx.experiments.optimizer_compare.config import OptimizerCompareConfig
    from nnx.registry import OPTIMIZERS
    from nnx.run import Run
    from nnx.runner import runners_part
    from test_engine import QUIET, setup  # a small digits bundle and an mlp

    cfg = OmegaConf.create({"optim": {"name": "adam", "lr": 0.01, "betas": [0.8, 0.9]}})
    assert runners_part(cfg, None, "optim", OPTIMIZERS) is cfg.optim
    recipe = OptimizerRecipe.from_config(cfg.optim)
    assert recipe.make.func is torch.optim.Adam and recipe.make.keywords["lr"] == 0.01
    assert recipe.make.keywords["betas"] == (0.8, 0.9) and "momentum" not in recipe.make.keywords
    lms = OmegaConf.create({"optim": {"name": "lms", "lr": 0.1}})
    assert runners_part(lms, None, "optim", OPTIMIZERS) is None  # Adaline's own rule
    assert runners_part(cfg, OptimizerCompareConfig, "optim", OPTIMIZERS) is None  # the experiment owns `optim`

    def checked_again(*args, **kwargs):
        raise AssertionError("fit checked the optim config again")

    monkeypatch.setattr(OptimizerRecipe, "from_config", checked_again)
    bundle, model = setup()
    result = fit(model, bundle, {"epochs": 1} | QUIET, recipe, Run(tmp_path))
    assert result.last_epoch == 1


def test_an_experiment_is_found_by_its_package_name():
    from nnx.experiments.kd_mnist import config, experiment
    from nnx.runner import load_experiment

    found = load_experiment("kd_mnist")
    assert found.run is experiment.run and found.schema is config.SCHEMA
    with pytest.raises(NnxError, match="has no package nnx.experiments.kd_mnistt with config.py and experiment.py"):
        load_experiment("kd_mnistt")


PATH_OF_LR = """
import os, sys, traceback
import nnx
from nnx.engine.optim import OptimizerRecipe
from nnx.errors import NnxError

HOME = os.path.dirname(nnx.__file__) + os.sep

def recorded(cls, cfg):
    calls = [f"{frame.filename.removeprefix(HOME)}:{frame.name}" for frame in traceback.extract_stack()[:-1]
             if frame.filename.startswith(HOME)]
    print("PATH " + " -> ".join(calls) + f" -> from_config lr={cfg.lr}", file=sys.stderr)
    raise NnxError("stopped here")

OptimizerRecipe.from_config = classmethod(recorded)
from nnx.cli import main
main(sys.argv[1:])
"""


def test_optim_lr_reaches_its_torch_class_in_four_calls_from_the_cli(tmp_path):
    """#24: `nnx run ... optim.lr=X` -> cli.main -> cmd_run -> hydra_main -> runner.execute ->
    OptimizerRecipe.from_config, which binds X to torch.optim.Adam (fit builds it over each model's parameters)."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", PATH_OF_LR, "run", "experiment=kd_mnist", "data=digits",
                             "smoke=true", "optim.lr=0.0123", f"hydra.run.dir={tmp_path / 'run'}"],
                            capture_output=True, text=True, timeout=120)
    (path,) = [line for line in result.stderr.splitlines() if line.startswith("PATH ")]
    assert path == ("PATH cli.py:main -> cli.py:cmd_run -> cli.py:hydra_main -> runner.py:execute -> "
                    "from_config lr=0.0123"), path
    assert result.returncode == 2 and "stopped here" in result.stderr

"""Every experiment config composes, like lightning-hydra-template's tests, and names its run folder."""

import re

import pytest
from omegaconf import OmegaConf

from conftest import EXPERIMENTS


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_config_composes(compose, name):
    cfg = compose(f"experiment={name}", hydra=True)
    assert cfg.name == name
    assert cfg.description and cfg.source, "nnx list shows both"
    assert isinstance(cfg.seed, int) and cfg.device == "auto"
    assert f"/{name}/" in cfg.hydra.run.dir
    assert f"/{name}/multirun/" in cfg.hydra.sweep.dir
    OmegaConf.to_container(cfg.reference, resolve=True)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_smoke_config_composes(compose, name):
    assert compose(f"experiment={name}", "smoke=true").smoke is True


def test_run_dir_has_microseconds(compose):
    cfg = compose("experiment=mcp_seven_segment", hydra=True)
    assert re.search(r"/mcp_seven_segment/\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d_\d{6}$", cfg.hydra.run.dir)

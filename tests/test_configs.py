"""Every experiment config composes, like lightning-hydra-template's tests, and names its run folder."""

import re

import pytest
from omegaconf import OmegaConf

from conftest import CONF, EXPERIMENTS


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


SHARED_GROUPS = sorted([*(path for group in ("data", "optim", "trainer") for path in (CONF / group).glob("*.yaml")),
                        CONF / "model" / "mlp.yaml", CONF / "model" / "adaline.yaml"])


def schema_of(path):
    from nnx import schemas

    group, name = path.parent.name, path.stem
    if group == "data":
        return {"iris": schemas.IrisConfig, "moons": schemas.MoonsConfig}.get(name, schemas.DataConfig)
    if group == "model":
        return {"mlp": schemas.MlpConfig, "adaline": schemas.AdalineConfig}[name]
    return {"optim": schemas.OptimConfig, "trainer": schemas.TrainerConfig}[group]


@pytest.mark.parametrize("path", SHARED_GROUPS, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_a_shared_group_yaml_states_only_what_differs_from_its_schema(compose, path):
    """Each default is written once: in the schema dataclass (nnx.schemas), not again in the group's YAML."""
    raw = OmegaConf.to_container(OmegaConf.load(path))
    assert raw.pop("defaults")[0].startswith("/schema/"), "the YAML names its schema first"
    defaults = OmegaConf.to_container(OmegaConf.structured(schema_of(path)))
    repeated = [key for key, value in raw.items() if key != "name" and defaults.get(key) == value]
    assert not repeated, f"{path.name} repeats its schema's defaults for {repeated}"
    if path.parent.name != "trainer":  # composed: the schema's keys, the YAML's values
        group = path.parent.name
        composed = OmegaConf.to_container(compose("experiment=mcp_seven_segment", f"{group}={path.stem}")[group])
        assert composed == {**defaults, **raw}


def test_a_wrong_type_or_unknown_key_in_a_group_is_refused_while_composing(compose):
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException, match="batch_size"):
        compose("experiment=kd_mnist", "data.batch_size=many")
    with pytest.raises(ConfigCompositionException, match="learning_rate"):
        compose("experiment=kd_mnist", "optim.learning_rate=0.1")
    with pytest.raises(ConfigCompositionException, match="epochs"):
        compose("experiment=kd_mnist", "trainer.epochs=1.5")
    with pytest.raises(ConfigCompositionException, match="widths"):
        compose("experiment=fashion_overfit", "variant=base", "model.widths=[64]")
    with pytest.raises(ConfigCompositionException, match="hidden"):
        compose("experiment=fashion_overfit", "variant=base", "model.hidden=wide")


OWN_MODELS = sorted(path for path in (CONF / "model").glob("*.yaml") if "defaults" not in OmegaConf.load(path))


@pytest.mark.parametrize("path", OWN_MODELS, ids=lambda path: path.stem)
def test_an_experiment_model_yaml_lists_its_schema_exactly(path):
    """An experiment's own model keeps its schema beside its torch code (not in Hydra's store, which would import
    torch on every TAB): its YAML must then list exactly the schema's keys, with the schema's defaults."""
    from nnx.registry import MODELS
    from nnx.runner import load_experiment

    raw = OmegaConf.to_container(OmegaConf.load(path))
    for experiment in EXPERIMENTS:
        load_experiment(experiment)  # registers the experiments' own models
    schema = MODELS.get(raw.pop("name")).schema
    defaults = OmegaConf.to_container(OmegaConf.structured(schema)) if schema else {}
    assert raw == defaults

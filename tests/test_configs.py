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


SCHEMA_GROUPS = sorted(path for group in ("data", "model", "optim", "trainer") for path in (CONF / group).glob("*.yaml")
                       if "defaults" in OmegaConf.load(path))


def schema_of(path):
    from nnx import schemas

    group, name = path.parent.name, path.stem
    if group == "data":
        return {"iris": schemas.IrisConfig, "moons": schemas.MoonsConfig}.get(name, schemas.DataConfig)
    if group == "model":
        return schemas.model_schemas(schemas.experiment_configs())[name]
    return {"optim": schemas.OptimConfig, "trainer": schemas.TrainerConfig}[group]


@pytest.mark.parametrize("path", SCHEMA_GROUPS, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_a_group_yaml_states_only_what_differs_from_its_schema(compose, path):
    """Each default is written once: in the schema dataclass (nnx.schemas), not again in the group's YAML."""
    raw = OmegaConf.to_container(OmegaConf.load(path))
    assert raw.pop("defaults")[0].startswith("/schema/"), "the YAML names its schema first"
    defaults = OmegaConf.to_container(OmegaConf.structured(schema_of(path)))
    repeated = repeated_defaults({key: value for key, value in raw.items() if key != "name"}, defaults)
    assert not repeated, f"{path.name} repeats its schema's defaults for {repeated}"
    if path.parent.name != "trainer":  # composed: the schema's keys, the YAML's values
        group = path.parent.name
        composed = OmegaConf.to_container(compose("experiment=mcp_seven_segment", f"{group}={path.stem}")[group])
        assert composed == {**defaults, **raw}


@pytest.mark.parametrize("overrides, key", [
    (("experiment=kd_mnist", "data.batch_size=many"), "batch_size"),  # a group's key of the wrong type
    (("experiment=kd_mnist", "optim.learning_rate=0.1"), "learning_rate"),  # a group's unknown key
    (("experiment=kd_mnist", "trainer.epochs=1.5"), "epochs"),
    (("experiment=fashion_overfit", "variant=base", "model.widths=[64]"), "widths"),
    (("experiment=fashion_overfit", "variant=base", "model.hidden=wide"), "hidden"),
    (("experiment=kd_mnist", "kd.temperature=hot"), "temperature"),  # an experiment's own settings
    (("experiment=kd_mnist", "kd.temprature=2"), "temprature"),
    (("experiment=optimizer_compare", "protocol.max_iters=many"), "max_iters"),
    (("experiment=transfer_catsdogs", "forest_trees=many"), "forest_trees"),  # a root-level setting
    (("experiment=gradient_flow", "depth=3.5"), "depth"),
    (("experiment=cifar_cnn_sweep", "feature_image=null"), "feature_image"),  # not Optional
    (("experiment=transfer_catsdogs", "feature_cache=maybe"), "feature_cache"),
])
def test_a_wrong_type_or_unknown_key_is_refused_while_composing(compose, overrides, key):
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException, match=key):
        compose(*overrides)


def test_root_level_settings_keep_their_types_and_take_what_they_allow(compose):
    cfg = compose("experiment=cifar_cnn_sweep", "max_params=null", "feature_image=3")
    assert cfg.max_params is None and cfg.feature_image == 3  # int | None takes null
    assert compose("experiment=gradient_flow", "constant=1").constant == 1.0  # a float setting given an int
    assert compose("experiment=dropout_arithmetic", "samples=7").samples == 7


def test_every_model_yaml_extends_its_schema_or_has_none():
    """A model with settings is typed while composing; the mcp networks (fixed weights) have no settings at all."""
    from nnx.registry import MODELS
    from nnx.runner import load_experiment
    from nnx.schemas import experiment_configs, model_schemas

    for experiment in EXPERIMENTS:
        load_experiment(experiment)  # registers the experiments' own models
    schemas = model_schemas(experiment_configs())
    for path in sorted((CONF / "model").glob("*.yaml")):
        raw = OmegaConf.to_container(OmegaConf.load(path))
        schema = MODELS.get(raw["name"]).schema
        # the registry checks with the dataclass Hydra types the YAML with
        assert schema is schemas.get(raw["name"]), path.name
        assert ("defaults" in raw) == (schema is not None) and (schema is not None or raw.keys() == {"name"})


def test_the_schemas_name_what_the_torch_code_builds():
    from nnx.experiments.gradient_flow.config import INIT_NAMES
    from nnx.experiments.gradient_flow.experiment import INITS
    from nnx.experiments.transfer_catsdogs.backbones import TORCHVISION_TRUNKS
    from nnx.experiments.transfer_catsdogs.config import LITE, TRANSFER_BACKBONES
    from nnx.models.mlp import ACTIVATIONS as LAYERS
    from nnx.schemas import ACTIVATIONS

    assert TRANSFER_BACKBONES == (*LITE, *TORCHVISION_TRUNKS) and ACTIVATIONS == tuple(LAYERS)
    assert INIT_NAMES == tuple(INITS)


def repeated_defaults(raw: dict, defaults: dict, prefix: str = "") -> list[str]:
    repeated = []
    for key, value in raw.items():
        if isinstance(value, dict) and isinstance(defaults.get(key), dict):
            repeated += repeated_defaults(value, defaults[key], f"{prefix}{key}.")
        elif key in defaults and defaults[key] == value:
            repeated.append(f"{prefix}{key}")
    return repeated


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_an_experiment_yaml_extends_its_schema_and_repeats_none_of_its_defaults(name):
    """Each experiment's own settings are typed while composing, and each default is written once (config.py)."""
    from nnx.schemas import experiment_configs, own_settings

    raw = OmegaConf.to_container(OmegaConf.load(CONF / "experiment" / f"{name}.yaml"))
    assert raw["defaults"][0] == f"/schema/experiment/{name}@_global_"
    defaults = OmegaConf.to_container(own_settings(experiment_configs()[name].SCHEMA))
    assert not repeated_defaults(raw, defaults), f"{name}.yaml repeats its schema's defaults"


def test_an_experiment_default_comes_from_its_schema_alone(compose):
    assert compose("experiment=dac_mnist").dac.n_labelled == 1000  # stated in config.py, not in the YAML

import dataclasses

import pytest

from nnx.errors import NnxError
from nnx.registry import Registry


@dataclasses.dataclass
class WidthSchema:
    width: int = 4
    act: str = "relu"


def make_registry() -> Registry:
    reg = Registry("widget")

    @reg.register("box", schema=WidthSchema)
    def box(width, act, scale=1):
        return ("box", width * scale, act)

    @reg.register("free")
    def free(**kwargs):
        return kwargs

    return reg


def test_build_validates_and_fills_defaults():
    reg = make_registry()
    assert reg.build({"name": "box", "width": "7"}, scale=2) == ("box", 14, "relu")
    assert reg.build({"name": "free", "anything": 1}) == {"anything": 1}


def test_unknown_name_lists_valid_ones():
    with pytest.raises(NnxError, match="unknown widget 'round'") as err:
        make_registry().build({"name": "round"})
    assert "box, free" in str(err.value)


def test_wrong_type_and_unknown_key_are_one_clear_line():
    reg = make_registry()
    with pytest.raises(NnxError, match=r"invalid config value widget.width: Value 'wide'"):
        reg.build({"name": "box", "width": "wide"})
    with pytest.raises(NnxError, match=r"widget.depth"):
        reg.build({"name": "box", "depth": 3})


def test_register_twice_is_a_bug():
    reg = make_registry()
    with pytest.raises(ValueError):
        reg.register("box")(lambda: None)

"""McCulloch-Pitts nets checked against the full 128-row truth table."""

import numpy as np
import pytest

from nnx.experiments.mcp_seven_segment.experiment import evaluate
from nnx.experiments.mcp_seven_segment.model import (
    DIGITS,
    all_inputs,
    ideal_outputs,
    mcp_single,
    mcp_two_layer,
    mcp_two_layer_exact,
)


def truth_table() -> dict[tuple, tuple]:
    """Written out independently: the four digit patterns light their own output; all others light nothing."""
    table = {}
    for n in range(128):
        x = tuple(int(b) for b in f"{n:07b}")
        table[x] = tuple(int("".join(map(str, x)) == p) for p in ("1011111", "1110000", "1111111", "1111011"))
    return table


def test_inputs_and_ideal_match_the_truth_table():
    inputs, ideal = all_inputs(), ideal_outputs(all_inputs())
    assert len({tuple(x) for x in inputs}) == 128
    table = truth_table()
    assert all(tuple(y) == table[tuple(x)] for x, y in zip(inputs, ideal))
    assert ideal.sum() == 4 and DIGITS[9] == "1111011"


@pytest.mark.parametrize("build", [mcp_single, mcp_two_layer_exact])
def test_exact_nets_reproduce_all_128_rows(build):
    net, table = build(), truth_table()
    for x, y in table.items():
        assert tuple(net(np.array([x]))[0]) == y, x


def test_report_two_layer_net_recognises_digits_but_fires_on_everything():
    net = mcp_two_layer()
    result = evaluate(net, all_inputs(), ideal_outputs(all_inputs()))
    assert result == {"n_weights": 22, "n_nonzero_weights": 13, "digits_correct": 4, "inputs_exact": 4,
                      "false_fires": 124}
    # Every input lights exactly one output: two binary hidden units give only four codes.
    assert (net(all_inputs()).sum(axis=1) == 1).all()
    assert tuple(net(np.zeros((1, 7), dtype=int))[0]) == (0, 1, 0, 0)  # a blank display reads as "7"


def test_weight_counts():
    assert mcp_single().n_weights == 28
    assert mcp_two_layer_exact().n_weights == 4 * 7 + 4 * 4

"""gradient_flow: the gradient probe against autograd, symmetry and vanishing gradients on the smoke grid, errors."""

import csv

import pytest
import torch
from torch import nn

from conftest import read_metrics
from nnx.experiments.gradient_flow import experiment as gf

GF = "experiment=gradient_flow"


def test_the_probe_records_each_layers_gradient_norm_and_flat_units():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.Sigmoid(), nn.Linear(5, 3))
    x, y = torch.randn(8, 6), torch.randint(0, 3, (8,))
    probe = gf.LayerProbe(model, "sigmoid", x)
    grads = []
    for _ in range(2):  # two batches: the epoch's value is the RMS of the two norms
        model.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        grads.append([layer.weight.grad.norm() for layer in probe.linears])
    probe(1)
    expected = [float(((a**2 + b**2) / 2).sqrt()) for a, b in zip(*grads)]
    assert [row["grad_norm"] for row in probe.rows] == pytest.approx(expected, rel=1e-5)
    slope = torch.sigmoid(model[1](x)) * (1 - torch.sigmoid(model[1](x)))
    assert probe.rows[0]["flat"] == pytest.approx(float((slope < 0.01).float().mean()))
    assert probe.batches == 0 and float(probe.grad_sq.sum()) == 0  # reset for the next epoch


def test_distinct_units_sees_symmetry():
    assert gf.distinct_units(torch.ones(7, 4)) == 1
    assert gf.distinct_units(torch.eye(4)) == 4


def test_smoke_grid_shows_symmetry_and_vanishing_gradients(cli):
    result = cli("run", GF, "data=digits", "smoke=true")
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = cli.run_dirs("gradient_flow")
    metrics = read_metrics(run_dir)
    width = 16  # smoke_overrides
    for clip in ("", "_clip"):
        assert metrics[f"sigmoid_zeros{clip}/distinct_units_min"] == 1  # zero init: every unit stays the same
        assert metrics[f"relu_zeros{clip}/distinct_units_min"] == 1
        assert metrics[f"relu_kaiming{clip}/distinct_units_min"] == width
    # sigmoid's derivative is at most 1/4: the input side's gradient is far smaller than the output side's
    assert metrics["sigmoid_kaiming/grad_ratio_first_last"] < 0.1 < metrics["relu_kaiming/grad_ratio_first_last"]
    assert {"grad_norms.png", "grad_norms_clip.png", "loss_curves.png", "variants.md", "layers.csv"} <= {
        p.name for p in run_dir.iterdir()}
    rows = list(csv.DictReader((run_dir / "layers.csv").open()))
    assert len(rows) == 8 * 2 * 5  # variants x epochs x (4 hidden + the output layer)


@pytest.mark.parametrize("override, message", [
    ("activations=[softsign]", "'softsign' is not an activation or initialisation"),
    ("trainer.clip_grad_norm=1.0", "trainer.clip_grad_norm is set per variant"),
    ("depth=1", "depth >= 2"),
])
def test_bad_settings_are_one_clear_message(cli, override, message):
    result = cli("run", GF, "data=digits", "smoke=true", override)
    assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr

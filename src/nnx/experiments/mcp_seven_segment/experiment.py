"""mcp_seven_segment's run (its settings: config.py; what it does: the package's docstring)."""

from __future__ import annotations

import numpy as np

from nnx.experiments.mcp_seven_segment import figures
from nnx.experiments.mcp_seven_segment.model import DIGITS, all_inputs, bits, ideal_outputs
from nnx.registry import MODELS


def evaluate(net, inputs: np.ndarray, ideal: np.ndarray) -> dict:
    outputs = net(inputs)
    exact = (outputs == ideal).all(axis=1)
    is_digit = ideal.any(axis=1)
    return {
        "n_weights": net.n_weights,
        "n_nonzero_weights": net.n_nonzero_weights,
        "digits_correct": int(exact[is_digit].sum()),
        "inputs_exact": int(exact.sum()),
        "false_fires": int(outputs[~is_digit].any(axis=1).sum()),  # non-digit inputs that light some output
    }


def weight_rows(layer) -> list[dict]:
    return [
        {"unit": unit, **dict(zip(layer.input_names, w.tolist())), "threshold": int(t)}
        for unit, w, t in zip(layer.unit_names, layer.weights, layer.thresholds)
    ]


def run(cfg, run) -> None:
    names = [cfg.model.name] if cfg.get("model") else list(cfg.nets)
    nets = {name: MODELS.build({"name": name}) for name in names}
    inputs, ideal = all_inputs(), ideal_outputs(all_inputs())

    for name, net in nets.items():
        result = evaluate(net, inputs, ideal)
        run.metrics_update(result, prefix=f"{name}/")
        run.log.info("%s: %d weights, %d/4 digits, %d/128 inputs exact", name, result["n_weights"],
                     result["digits_correct"], result["inputs_exact"])
        for depth, layer in enumerate(net.layers, start=1):
            run.table(f"weights_{name}_layer{depth}", weight_rows(layer), title=f"{name}, layer {depth}")
        n_units = sum(len(layer.unit_names) for layer in net.layers)
        with run.figure(f"weights_{name}", figsize=(7, 1.2 + 0.45 * n_units)) as fig:
            figures.weights_figure(fig, net.layers)

    digit_patterns = {digit: bits(p) for digit, p in DIGITS.items()}
    digit_inputs = np.array(list(digit_patterns.values()))
    with run.figure("digits", figsize=(9, 3.6 + 0.3 * len(nets))) as fig:
        figures.digits_figure(fig, digit_patterns, {name: net(digit_inputs) for name, net in nets.items()})
    with run.figure("outputs_128", figsize=(2.2 * (len(nets) + 1), 6)) as fig:
        figures.heatmap_figure(fig, inputs, {"ideal": ideal} | {name: net(inputs) for name, net in nets.items()})

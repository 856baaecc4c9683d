"""gradient_flow's run (its settings: config.py; what it does: the package's docstring)."""

from __future__ import annotations

import dataclasses
import functools

import torch
from torch import nn

from nnx.engine import evaluate, fit
from nnx.errors import NnxError
from nnx.experiments.gradient_flow import figures
from nnx.registry import MODELS

INITS = {
    "zeros": nn.init.zeros_,
    "constant": lambda w, value: nn.init.constant_(w, value),
    "normal": lambda w, std: nn.init.normal_(w, 0.0, std),
    "xavier": nn.init.xavier_uniform_,
    "kaiming": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
}
DERIVATIVES = {"sigmoid": lambda z: torch.sigmoid(z) * (1 - torch.sigmoid(z)), "tanh": lambda z: 1 - torch.tanh(z) ** 2,
               "relu": lambda z: (z > 0).float()}


def initialise(model: nn.Module, init: str, cfg) -> None:
    extra = {"constant": (cfg.constant,), "normal": (cfg.normal_std,)}.get(init, ())
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            INITS[init](layer.weight, *extra)
            nn.init.zeros_(layer.bias)


def distinct_units(weight: torch.Tensor) -> int:
    """Hidden units with different incoming weights (to 5 significant digits of the layer's largest weight)."""
    scale = weight.abs().max().clamp_min(1e-12)
    return int(torch.unique((weight / scale).round(decimals=5), dim=0).shape[0])


class LayerProbe:
    """Per Linear layer and epoch: the RMS over batches of the weight gradient's norm; per hidden layer: the probe
    batch's activation mean and std, and the fraction of flat units."""

    def __init__(self, model: nn.Sequential, activation: str, probe_x: torch.Tensor):
        self.model, self.derivative, self.probe_x = model, DERIVATIVES[activation], probe_x
        modules = list(model)
        self.linears = [m for m in modules if isinstance(m, nn.Linear)]
        self.activations = [modules[modules.index(m) + 1] for m in self.linears[:-1]]  # what follows each hidden one
        self.grad_sq = torch.zeros(len(self.linears), device=probe_x.device)
        self.batches = 0
        self.rows: list[dict] = []
        for index, layer in enumerate(self.linears):
            layer.weight.register_hook(functools.partial(self.add_gradient, index))

    def add_gradient(self, index: int, grad: torch.Tensor) -> None:
        self.grad_sq[index] += grad.detach().float().pow(2).sum()
        self.batches += index == 0  # backward reaches the first layer last: one count per batch

    @torch.no_grad()
    def __call__(self, epoch: int) -> None:
        norms = (self.grad_sq / max(self.batches, 1)).sqrt().tolist()
        x = self.probe_x.flatten(1)
        for index, layer in enumerate(self.linears):
            z = layer(x)
            row = {"epoch": epoch, "layer": index + 1, "grad_norm": norms[index]}
            if index < len(self.linears) - 1:  # a hidden layer: its activation
                x = self.activations[index](z)
                row |= {"act_mean": float(x.mean()), "act_std": float(x.std()),
                        "flat": float((self.derivative(z) < 0.01).float().mean())}
            self.rows.append(row)
        self.grad_sq.zero_()
        self.batches = 0


def train_variant(cfg, run, bundle, activation: str, init: str, clip) -> tuple[dict, list[dict], list[dict]]:
    torch.manual_seed(run.seed)
    model = MODELS.build({"name": "mlp", "hidden": [cfg.width] * cfg.depth, "activation": activation},
                         input_shape=bundle.input_shape, num_classes=bundle.num_classes)
    initialise(model, init, cfg)
    model.to(bundle.device)
    probe = LayerProbe(model, activation, bundle.prepare(bundle.train.x[: cfg.probe_size].to(bundle.device)))
    name = f"{activation}_{init}" + ("_clip" if clip is not None else "")
    trainer = dataclasses.replace(run.settings.trainer, clip_grad_norm=clip)
    status = run.status
    result = fit(model, bundle, trainer, run.optimizer, run, name=name, on_epoch=probe)
    run.status = status  # a diverged variant is a finding of this grid, recorded below, not a failed run
    first = [row for row in probe.rows if row["epoch"] == 1]
    last = [row for row in probe.rows if row["epoch"] == result.last_epoch]
    hidden = [m.weight for m in probe.linears[1:]]  # layers 2.. take hidden units: are their inputs told apart?
    summary = {
        "variant": name, "activation": activation, "init": init, "clip": clip,
        "grad_ratio_first_last": first[0]["grad_norm"] / max(first[-1]["grad_norm"], 1e-30) if first else None,
        "distinct_units_min": min(distinct_units(w.T) for w in hidden[:-1]) if len(hidden) > 1 else None,
        "flat": sum(row["flat"] for row in last if "flat" in row) / max(cfg.depth, 1) if last else None,
        "final_train_loss": result.history[-1]["train_loss"] if result.history else None,
        "test_acc": None if result.diverged else evaluate(model, bundle, "test")["test_acc"],
        "diverged": result.diverged,
    }
    return summary, [{"variant": name, **row} for row in probe.rows], result.history


def shown(value) -> str:
    return "-" if value is None else f"{value:.3g}" if isinstance(value, float) else str(value)


def run(cfg, run) -> None:
    from nnx.data import load

    unknown = [a for a in cfg.activations if a not in DERIVATIVES] + [i for i in cfg.inits if i not in INITS]
    if unknown:
        raise NnxError(f"{unknown[0]!r} is not an activation or initialisation here",
                       fix=f"activations: {', '.join(DERIVATIVES)}; inits: {', '.join(INITS)}")
    if cfg.depth < 2 or cfg.width < 1:
        raise NnxError(f"depth={cfg.depth}, width={cfg.width}: a deep MLP needs depth >= 2 and width >= 1")
    if cfg.trainer.clip_grad_norm is not None:
        raise NnxError("trainer.clip_grad_norm is set per variant here", fix="use clips=[null,1.0] (or clips=[1.0])")
    bundle = load(cfg.data, device=run.device, seed=run.seed, run=run)
    summaries, layers, histories = [], [], {}
    for clip in cfg.clips:
        for activation in cfg.activations:
            for init in cfg.inits:
                summary, rows, history = train_variant(cfg, run, bundle, activation, init, clip)
                summaries.append(summary)
                layers += rows
                histories[summary["variant"]] = history
                shown_keys = ("grad_ratio_first_last", "distinct_units_min", "flat", "final_train_loss", "test_acc")
                run.log.info("%-22s grad first/last %s  distinct units %s  flat %s  loss %s  test %s",
                             summary["variant"], *(shown(summary[k]) for k in shown_keys))
    for summary in summaries:
        run.metrics_update({k: v for k, v in summary.items() if k not in ("variant", "activation", "init", "clip")},
                           prefix=f"{summary['variant']}/")
    run.table("variants", summaries, title="every variant: gradient ratio at epoch 1, symmetry, saturation, results")
    run.table("layers", layers, title="per variant, epoch and layer")
    for clip in cfg.clips:
        suffix = "_clip" if clip is not None else ""
        with run.figure(f"grad_norms{suffix}", figsize=(2.6 * len(cfg.inits), 2.3 * len(cfg.activations))) as fig:
            figures.grad_heatmaps(fig, layers, cfg.activations, cfg.inits, suffix)
    with run.figure("loss_curves", figsize=(4.2 * len(cfg.activations), 3.6)) as fig:
        figures.loss_curves(fig, histories, cfg.activations, cfg.inits)

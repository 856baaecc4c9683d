"""optimizer_compare's run (its settings: config.py; what it does: the package's docstring)."""

from __future__ import annotations

import dataclasses
import itertools
import math
import time

import torch
import torch.nn.functional as F

from nnx.engine.cpu import flush_subnormals
from nnx.experiments.optimizer_compare import figures, tensor_mlp
from nnx.experiments.optimizer_compare.config import ProtocolConfig
from nnx.experiments.optimizer_compare.hand_optimizers import make_optimizer
from nnx.registry import MODELS

__all__ = ["run", "tensor_mlp"]   # importing this package registers model=tensor_mlp and the run


@dataclasses.dataclass
class Outcome:
    losses: list[float]            # the full training loss before each step (and the blow-up, if finite)
    iters_to_target: int | None    # steps taken when the loss first went below the target
    diverged_at: int | None        # the step at which the loss blew up
    seconds: float


def load_xy(cfg, run) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """Flattened, normalized float images and labels on the run's device (train x, y, test x, y), the class count."""
    from nnx.data import load

    bundle = load(cfg.data, run.device, run.seed, run=run)
    x, x_test = (bundle.prepare(split.x).flatten(1) for split in (bundle.train, bundle.test))
    return x, bundle.train.y, x_test, bundle.test.y, bundle.num_classes


def batches(n: int, batch_size: int, generator: torch.Generator):
    """Endless index batches: a fresh permutation every epoch; the whole set every step when it fits in one."""
    while True:
        order = torch.arange(n) if batch_size >= n else torch.randperm(n, generator=generator)
        yield from order.split(batch_size)


def train_until(model, optimizer, x, y, protocol: ProtocolConfig, batch_size: int, seed: int) -> Outcome:
    steps = batches(len(x), batch_size, torch.Generator().manual_seed(seed))
    full_batch = batch_size >= len(x)
    losses: list[float] = []
    start = time.perf_counter()
    for step in range(protocol.max_iters + 1):
        with torch.set_grad_enabled(full_batch):  # full batch: this forward pass also gives the step's gradient
            loss = F.cross_entropy(model(x), y)
        value = loss.item()
        if not math.isfinite(value) or (losses and value > protocol.diverge_factor * losses[0]):
            losses += [value] if math.isfinite(value) else []  # the blow-up itself, when it is a number
            return Outcome(losses, None, step, time.perf_counter() - start)
        losses.append(value)
        if value < protocol.target_loss:
            return Outcome(losses, step, None, time.perf_counter() - start)
        if step == protocol.max_iters:
            break
        optimizer.zero_grad()
        if not full_batch:
            rows = next(steps).to(x.device)
            loss = F.cross_entropy(model(x[rows]), y[rows])
        loss.backward()
        optimizer.step()
    return Outcome(losses, None, None, time.perf_counter() - start)


def summarize(outcome: Outcome, test_acc: float | None) -> dict:
    """The metrics of one run; `loss_rises` counts the steps that raised the loss (oscillation)."""
    losses, diverged = outcome.losses, outcome.diverged_at is not None
    return {
        "iters_to_target": outcome.iters_to_target,
        "final_loss": losses[-1] if losses else None,
        "diverged": diverged,
        "diverged_at": outcome.diverged_at,
        "loss_rises": sum(after > before for before, after in zip(losses, losses[1:])),
        "test_acc": None if diverged else test_acc,
        "seconds": round(outcome.seconds, 3),
    }


def sharpness(model, x, y, iters: int = 50, seed: int = 0) -> float:
    """The training loss's Hessian eigenvalue of largest magnitude, by power iteration on Hessian-vector products.
    Gradient descent on a quadratic is stable only for lr < 2 / sharpness (heavy ball: lr < 2 (1 + mu) / sharpness);
    a negative value gives no such bound."""
    params = model.parameters()
    grads = torch.autograd.grad(F.cross_entropy(model(x), y), params, create_graph=True)
    generator = torch.Generator().manual_seed(seed)
    v = [torch.randn(p.shape, generator=generator).to(p.device) for p in params]
    eigenvalue = 0.0
    for _ in range(iters):
        norm = torch.sqrt(sum((u * u).sum() for u in v))
        v = [u / norm for u in v]
        hv = torch.autograd.grad(grads, params, v, retain_graph=True)
        eigenvalue = sum((u * h).sum() for u, h in zip(v, hv)).item()
        v = [h.detach() for h in hv]
    return eigenvalue


@torch.no_grad()
def accuracy(model, x, y) -> float:
    return (model(x).argmax(1) == y).float().mean().item()


def run(cfg, run) -> None:
    optim, protocol = run.settings.optim, run.settings.protocol
    names, lrs = optim.names(), optim.chosen_lrs()

    x, y, x_test, y_test, num_classes = load_xy(cfg, run)
    batch_size = min(cfg.data.batch_size, len(x))
    run.log.info("%s, batch %d (%s)", "scratch optimizers" if optim.impl == "scratch" else "torch.optim", batch_size,
                 "full batch" if batch_size == len(x) else "mini-batches")

    history, rows, curves = run.history("history"), [], {}
    with flush_subnormals(run.device):
        start = MODELS.build(cfg.model, n_in=x.shape[1], n_out=num_classes, seed=run.seed, device=run.device)
        top = sharpness(start, x, y, seed=run.seed)
        stable = 2 / top if top > 0 else None  # no curvature bound when the dominant direction is not convex
        run.metrics_update({"sharpness": top, "gd_stable_lr": stable}, prefix="init/")
        run.log.info("initial weights: top Hessian eigenvalue %.3g -> gradient descent is stable for lr < %s",
                     top, f"{stable:.3g}" if stable else "(no bound)")
        for name, lr in itertools.product(names, lrs):
            model = MODELS.build(cfg.model, n_in=x.shape[1], n_out=num_classes, seed=run.seed, device=run.device)
            optimizer = make_optimizer(name, model.parameters(), lr, impl=optim.impl, momentum=optim.momentum,
                                       alpha=optim.alpha, betas=optim.betas, eps=optim.eps)
            outcome = train_until(model, optimizer, x, y, protocol, batch_size, run.seed)
            result = summarize(outcome, accuracy(model, x_test, y_test))
            run.metrics_update(result, prefix=f"{name}/lr_{lr:g}/")
            rows.append({"optimizer": name, "lr": lr} | result)
            curves.setdefault(name, {})[lr] = {"losses": outcome.losses, "diverged_at": outcome.diverged_at}
            for step, loss in enumerate(outcome.losses):
                history.log(optimizer=name, lr=lr, iteration=step, loss=loss)
            steps = len(outcome.losses) - 1
            run.log.info("%-9s lr=%-6g %s", name, lr, f"diverged at step {outcome.diverged_at}" if result["diverged"]
                         else f"loss {result['final_loss']:.4f} after {steps} steps")
    if all(row["diverged"] for row in rows):  # some diverging learning rates are a finding, not a failed run
        run.status = "diverged"

    run.table("protocol", rows, title=f"Steps until the training loss < {protocol.target_loss:g} "
                                      f"(at most {protocol.max_iters}), impl={optim.impl}")
    with run.figure("loss_curves", figsize=(4.2 * min(3, len(names)), 3.4 * math.ceil(len(names) / 3))) as fig:
        figures.loss_curves_figure(fig, curves, protocol.target_loss)

"""Training steps: one optimizer step per batch, the epoch's loss and accuracy sums kept on the device.

    train = train_step(model, step, optimizer, cfg, bundle, custom_step=False, log=run.log)
    train.begin_epoch()
    for x, y in bundle.batches("train"):
        loss = train(x, y)
    mean_loss, accuracy = train.result()

`TrainStep` runs the step eagerly. `GraphedTrainStep` (`trainer.cuda_graph=true` on a CUDA device) captures the
whole step (forward, loss, backward, clipping, optimizer step, running sums) once as a CUDA graph and replays it for
every full batch, so a small model's epoch costs its kernels instead of Python's launches of them:
- the first WARMUP full batches of a capturing epoch train eagerly on a side stream (CUDA graphs need a warm-up;
  these are real steps, nothing is thrown away); capture records without running, so its batch is then replayed;
- a partial last batch trains eagerly, on the same parameters and optimizer state;
- the graph holds the learning rates it was captured with: when a schedule changes one, the next epoch recaptures;
- Adam, AdamW and RMSprop are switched to `capturable=True` (their step count then lives on the device).
Only the default supervised step is captured: a custom step may read per-batch Python state (e.g. which samples a
batch holds), which a graph would freeze at capture time.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from typing import Callable

import torch

from nnx.errors import NnxError

WARMUP = 3  # eager full batches before each capture


class TrainStep:
    """An eager training step with on-device running sums (see the module docstring)."""

    def __init__(self, model, step, optimizer, clip_grad_norm: float | None, amp: bool, device: str):
        self.model, self.step, self.optimizer, self.clip = model, step, optimizer, clip_grad_norm
        self.amp = amp and device.startswith("cuda")
        self.total_loss = torch.zeros((), device=device)
        self.correct = torch.zeros((), device=device, dtype=torch.long)
        self.seen = self.scored = 0
        self.loss: torch.Tensor | None = None

    def begin_epoch(self) -> None:
        self.model.train(True)
        self.total_loss.zero_()  # in place: a captured graph adds into these very tensors
        self.correct.zero_()
        self.seen = self.scored = 0

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Train on one batch; the batch's (detached) loss."""
        scored = self.train(x, y)
        self.seen += len(y)
        self.scored += len(y) if scored else 0
        return self.loss

    def train(self, x, y) -> bool:
        return self.body(x, y)

    def body(self, x: torch.Tensor, y: torch.Tensor) -> bool:
        """Forward, backward, clip, step, add to the sums; True when the step gave logits to score."""
        self.optimizer.zero_grad(set_to_none=True)
        with self.autocast():
            loss, logits = self.step(self.model, x, y)
        loss.backward()
        if self.clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        self.optimizer.step()
        self.loss = loss.detach()
        self.total_loss.add_(self.loss.float(), alpha=len(y))
        if logits is not None:
            self.correct.add_((logits.argmax(1) == y).sum())
        return logits is not None

    def autocast(self):
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp)

    def optimizer_state(self) -> dict:
        """The optimizer's state dict, as a checkpoint saves it."""
        return self.optimizer.state_dict()

    def result(self) -> tuple[float, float | None]:
        """(mean training loss, accuracy or None) of the epoch so far."""
        loss = self.total_loss.item() / max(self.seen, 1)
        return loss, (self.correct.item() / self.scored if self.scored else None)


def capture_cuda_graph(body: Callable[[], object], stream: torch.cuda.Stream) -> Callable[[], None]:
    """Record `body`'s CUDA work on `stream`'s device (without running it) into a graph; its replay."""
    graph = torch.cuda.CUDAGraph()
    try:
        with torch.cuda.device(stream.device), torch.cuda.graph(graph, stream=stream):
            body()
    except RuntimeError as error:
        raise NnxError(f"trainer.cuda_graph: this training step cannot be captured as a CUDA graph ({error})",
                       fix="run with trainer.cuda_graph=false") from error
    return graph.replay  # a replay launches on its capture device's current stream


@contextlib.contextmanager
def cuda_side_stream(stream: torch.cuda.Stream):
    """Run the block on `stream`, ordered after and before its device's current stream (graph warm-up)."""
    with torch.cuda.device(stream.device):
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            yield
        torch.cuda.current_stream().wait_stream(stream)


def make_capturable(optimizer: torch.optim.Optimizer) -> list[int]:
    """Set `capturable=True` on groups that have the flag (Adam, AdamW, RMSprop) and hold CUDA parameters, moving a
    step count already kept on the CPU (a resumed optimizer) to its parameter's device; the groups it switched."""
    switched = []
    for index, group in enumerate(optimizer.param_groups):
        if group.get("capturable", True) or not any(p.is_cuda for p in group["params"]):
            continue
        group["capturable"] = True
        switched.append(index)
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            if torch.is_tensor(state.get("step")):
                state["step"] = state["step"].to(p.device)
    return switched


def hyper_parameters(optimizer: torch.optim.Optimizer) -> list[dict]:
    """Every group's settings (lr, momentum, betas, ...): a graph holds the values it was captured with."""
    return [{key: value for key, value in group.items() if key != "params"} for group in optimizer.param_groups]


class GraphedTrainStep(TrainStep):
    """A `TrainStep` replayed from a captured CUDA graph on full batches (see the module docstring). `capture` and
    `side_stream` default to CUDA's; the tests pass stand-ins to check the bookkeeping on the CPU."""

    def __init__(self, *args, batch_size: int, capture=None, side_stream=None):
        super().__init__(*args)
        self.batch_size = batch_size
        if capture is None or side_stream is None:  # streams on the training device, which need not be current
            device = self.total_loss.device
            capture_stream, warmup_stream = torch.cuda.Stream(device), torch.cuda.Stream(device)
            capture = capture or (lambda body: capture_cuda_graph(body, capture_stream))
            side_stream = side_stream or (lambda: cuda_side_stream(warmup_stream))
        self.capture, self.side_stream = capture, side_stream
        self.replay: Callable[[], None] | None = None
        self.settings: list | None = None
        self.switched: set[int] = set()  # groups made capturable here (saved in checkpoints as they were)
        self.warmup_left = WARMUP
        self.captures = self.replays = 0
        self.static_x = self.static_y = None
        self.static_loss = torch.zeros((), device=self.total_loss.device)  # every step's loss lands here

    def body(self, x, y) -> bool:
        scored = super().body(x, y)
        self.static_loss.copy_(self.loss)  # captured: a replay refreshes it, whatever an eager step rebound
        self.loss = self.static_loss
        return scored

    def autocast(self):  # autocast's weight cache must be off inside a graph
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp, cache_enabled=False)

    def begin_epoch(self) -> None:
        super().begin_epoch()
        # each epoch: a resumed run loads its optimizer's groups after this step was made
        self.switched |= set(make_capturable(self.optimizer))
        settings = hyper_parameters(self.optimizer)
        if settings != self.settings:  # a schedule moved the lr: the graph holds the old one
            self.replay, self.settings, self.warmup_left = None, settings, WARMUP

    def optimizer_state(self) -> dict:
        """As saved without graphs: a run resumed on the CPU cannot step a capturable Adam."""
        state = super().optimizer_state()
        for index in self.switched:
            state["param_groups"][index]["capturable"] = False
        return state

    def train(self, x, y) -> bool:
        full = len(y) == self.batch_size
        if full and self.replay is None and self.warmup_left == 0:
            self.static_x, self.static_y = x.clone(), y.clone()
            self.replay = self.capture(lambda: self.body(self.static_x, self.static_y))
            self.captures += 1
        if full and self.replay is not None:
            self.static_x.copy_(x)
            self.static_y.copy_(y)
            self.replay()
            self.replays += 1
            return True
        with warnings.catch_warnings():  # a capturable optimizer stepping outside a graph warns; that is intended
            warnings.filterwarnings("ignore", message=".*capturable=True.*")
            if full:  # warm-up before a capture
                self.warmup_left -= 1
                with self.side_stream():
                    return self.body(x, y)
            return self.body(x, y)


def train_step(model, step, optimizer, cfg, bundle, *, custom_step: bool, log) -> TrainStep:
    """The graphed step when `cfg.cuda_graph` asks for it and this run allows it (else the eager one, saying why)."""
    args = (model, step, optimizer, cfg.clip_grad_norm, cfg.amp, bundle.device)
    if not cfg.cuda_graph:
        return TrainStep(*args)
    if why_not := graph_refusal(bundle, custom_step):
        log.info("trainer.cuda_graph: %s; training eagerly", why_not)
        return TrainStep(*args)
    return GraphedTrainStep(*args, batch_size=bundle.batch_size)


def graph_refusal(bundle, custom_step: bool) -> str | None:
    """Why this run's training step cannot be a CUDA graph, or None."""
    if not bundle.device.startswith("cuda"):
        return "there is no CUDA device"
    if not torch.is_tensor(getattr(bundle.train, "x", None)):
        return "the training split streams from a DataLoader"
    if custom_step:
        return "a custom training step is never captured"
    return None


def train_epoch(train: TrainStep, bundle, check_every: int, advance=None, description: str = ""):
    """One shuffled, augmented pass over the training split: (mean loss, accuracy or None); (nan, None) as soon as
    a checked loss is not finite (every `check_every` batches: each check waits for the device)."""
    train.begin_epoch()
    n_batches = math.ceil(len(bundle.train) / bundle.batch_size)
    with torch.enable_grad():
        for index, (x, y) in enumerate(bundle.batches("train", train=True)):
            loss = train(x, y)
            if index % check_every == 0 and not torch.isfinite(loss):
                return math.nan, None
            if advance is not None:
                advance(n_batches, index + 1, description)
    return train.result()

"""Checkpoints: `last.pt` (everything needed to resume) each epoch and `best.pt` (the model's weights) on each
improvement; `<name>_last.pt` / `<name>_best.pt` when an experiment trains several models in one run.

Only state dicts, tensors and plain values are saved, so every file loads with `torch.load(..., weights_only=True)`.
Writes are atomic: a run killed while saving keeps its previous last.pt.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from nnx.errors import NnxError
from nnx.fileio import atomic_path


def prefixed(name: str, stem: str) -> str:
    return f"{name}_{stem}" if name else stem


def save_atomic(state: dict, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_state(path: Path, device: str = "cpu") -> dict:
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise NnxError(f"no checkpoint at {path}", fix="give trainer.resume a run folder holding last.pt") from None
    except Exception as err:
        raise NnxError(f"{path}: unreadable checkpoint ({type(err).__name__}: {str(err).splitlines()[0]})") from None


def rng_state(device: str = "cpu") -> dict:
    """The CPU generator's state and, on a CUDA run, its own GPU's (not every visible GPU's)."""
    state = {"torch": torch.get_rng_state()}
    if device.startswith("cuda"):
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict, device: str = "cpu") -> None:
    """Restore `rng_state(device)`; a GPU state is restored on a CUDA run only (a run may resume on another device)."""
    torch.set_rng_state(state["torch"])
    if device.startswith("cuda") and torch.is_tensor(state.get("cuda")):
        torch.cuda.set_rng_state(state["cuda"], device)


class Checkpoints:
    """The checkpoint files of one model in one run folder."""

    def __init__(self, run_dir: Path, name: str = "", enabled: bool = True):
        self.last = Path(run_dir) / f"{prefixed(name, 'last')}.pt"
        self.best = Path(run_dir) / f"{prefixed(name, 'best')}.pt"
        self.enabled = enabled

    def save_best(self, model: torch.nn.Module) -> None:
        if self.enabled:
            save_atomic(model.state_dict(), self.best)

    def save_last(self, state: dict) -> None:
        if self.enabled:
            save_atomic(state, self.last)

    def never_started_in(self, where: str) -> bool:
        """True when `where` is a run folder holding another model's last.pt but not ours: a multi-model run (kd's
        teacher, then its students) killed before this model's first epoch, which then trains from the start."""
        folder = Path(where).expanduser()
        return folder.is_dir() and not (folder / self.last.name).is_file() and any(folder.glob("*last.pt"))

    def resume_from(self, where: str) -> dict:
        """The state saved in `where` (a last.pt, or a run folder holding one), on the CPU (load_state_dict moves the
        weights and optimizer state to their parameters' device; RNG states must stay CPU byte tensors); its best.pt
        and last.pt are copied beside ours (so a run resumed with no epoch left to train can be resumed again)."""
        path = Path(where).expanduser()
        if path.is_dir():
            path = path / self.last.name
        state = load_state(path, "cpu")
        if not {"model", "optimizer", "epoch", "history"} <= set(state):
            raise NnxError(f"{path} is not an nnx last.pt (it lacks model/optimizer/epoch/history)")
        best = path.with_name(path.name.replace("last", "best"))
        for source, target in ((best, self.best), (path, self.last)):
            if self.enabled and source.is_file() and source.resolve() != target.resolve():
                shutil.copyfile(source, target)
        return state

"""Losses registered in `nnx.registry.LOSSES`, named by `trainer.loss`."""

from __future__ import annotations

from torch import nn

from nnx.registry import LOSSES


@LOSSES.register("cross_entropy")
def cross_entropy(label_smoothing: float = 0.0) -> nn.Module:
    return nn.CrossEntropyLoss(label_smoothing=label_smoothing)


@LOSSES.register("nll")
def nll(label_smoothing: float = 0.0) -> nn.Module:
    """For models that end in log_softmax."""
    if label_smoothing:
        from nnx.errors import NnxError

        raise NnxError("trainer.label_smoothing is a cross_entropy option", fix="use trainer.loss=cross_entropy")
    return nn.NLLLoss()

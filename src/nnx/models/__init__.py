"""Models two or more experiments share, each registered in `nnx.registry.MODELS` when this package is imported;
an experiment's own models live in its package (`nnx.experiments.<name>`)."""

from nnx.models import adaline, mlp

__all__ = ["adaline", "count_parameters", "load_weights", "mlp"]


def count_parameters(params) -> int:
    """Numbers in a model's parameters (`model.parameters()`, or any iterable of tensors)."""
    return sum(p.numel() for p in params)


def load_weights(model, state: dict, what: str, fix: str) -> None:
    """`model.load_state_dict(state)`, or one clear line naming the first mismatch (`what` does not fit)."""
    from nnx.errors import NnxError

    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        raise NnxError(f"{what} does not fit this model: {(lines[1] if len(lines) > 1 else lines[0])[:300]}",
                       fix=fix) from None

"""Models: from-scratch learners and torch modules, each registered in `nnx.registry.MODELS`."""


def count_parameters(params) -> int:
    """Numbers in a model's parameters (`model.parameters()`, or any iterable of tensors)."""
    return sum(p.numel() for p in params)

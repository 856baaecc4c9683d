"""Models: from-scratch learners and torch modules, each registered in `nnx.registry.MODELS`."""

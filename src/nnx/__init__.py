"""nnx: reproducible, one-command neural-network experiments driven by Hydra configs."""

__version__ = "0.1.0"

"""Where nnx finds its configs and its checkout (no heavy imports: the CLI, data and reports all use it)."""

from __future__ import annotations

import os
from pathlib import Path


def conf_dir() -> Path:
    """conf/ beside src/ in a checkout (the usual editable install), or NNX_CONF_DIR."""
    if os.environ.get("NNX_CONF_DIR"):
        return Path(os.environ["NNX_CONF_DIR"]).resolve()
    return Path(__file__).resolve().parents[2] / "conf"


def checkout_dir() -> Path:
    """The folder holding conf/, experiments/ and the data defaults' relative paths."""
    return conf_dir().parent


def data_home() -> Path:
    """Where `nnx data` puts the data sets, and where the default `data.root`s (data/<name>) are found."""
    return checkout_dir() / "data"

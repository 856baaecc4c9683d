"""Where nnx finds its configs, its checkout and its data (no heavy imports: the CLI, data and reports all use it)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def conf_dir() -> Path:
    """The configs, shipped inside the package (src/nnx/conf/), or NNX_CONF_DIR."""
    if os.environ.get("NNX_CONF_DIR"):
        return Path(os.environ["NNX_CONF_DIR"]).resolve()
    return PACKAGE / "conf"


def checkout_dir() -> Path:
    """The source checkout nnx runs from (an editable install: the folder holding pyproject.toml and src/nnx/), or,
    for an installed wheel, the current folder: data/ and experiments/ are then read from where you work."""
    root = PACKAGE.parents[1]
    return root if (root / "pyproject.toml").is_file() and (root / "src" / "nnx").is_dir() else Path.cwd()


def data_home() -> Path:
    """Where `nnx data` puts the data sets, and where the default `data.root`s (data/<name>) are found."""
    return checkout_dir() / "data"

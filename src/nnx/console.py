"""What a person sees in the terminal: the config tree and rich logging (TTY only), errors on one screen."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("nnx")


def is_tty() -> bool:
    return sys.stdout.isatty()


def print_config(cfg: DictConfig) -> None:
    """A rich tree of the config that runs, on a TTY only (it is in the run folder's config.yaml either way)."""
    if not is_tty():
        return
    from rich import print as rich_print
    from rich.syntax import Syntax
    from rich.tree import Tree

    tree = Tree(f"[bold]{cfg.get('name')}[/bold] config")
    for key, value in cfg.items():
        if key in ("smoke_overrides", "reference", "description"):  # not what runs; in the run folder's config
            continue
        text = OmegaConf.to_yaml(value, resolve=True) if isinstance(value, DictConfig) else str(value)
        tree.add(str(key)).add(Syntax(text.rstrip(), "yaml", theme="ansi_dark"))
    rich_print(tree)


def error(message: str, run_dir: Path | None = None) -> None:
    """One screen: the message, then the run folder (and its traceback.txt when the error is a bug, not input)."""
    where = f"\n  run folder (what was written before the error): {run_dir}" if run_dir else ""
    if run_dir and (Path(run_dir) / "traceback.txt").is_file():
        where += f"\n  traceback: {Path(run_dir) / 'traceback.txt'}"
    print(f"nnx: error: {message}{where}", file=sys.stderr)


def use_rich_logging() -> None:
    """On a TTY, swap the plain console log handler Hydra installed for a rich one (the file log stays plain)."""
    if not is_tty():
        return
    from rich.logging import RichHandler

    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler and getattr(handler, "stream", None) is sys.stdout:
            root.removeHandler(handler)
            root.addHandler(RichHandler(show_path=False, log_time_format="%H:%M:%S"))

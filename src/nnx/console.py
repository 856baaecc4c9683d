"""What a person sees in the terminal: the config tree, errors on one screen, progress bars (TTY only)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("nnx")


def is_tty() -> bool:
    return sys.stdout.isatty()


def print_config(cfg: DictConfig) -> None:
    """A rich tree of the composed config on a TTY; the plain YAML in the log otherwise."""
    if not is_tty():  # plain logs: the composed config is in the run folder's .hydra/config.yaml
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


def progress(iterable, total: int | None = None, description: str = ""):
    """Iterate with a rich progress bar on a TTY, plainly otherwise."""
    if not is_tty():
        yield from iterable
        return
    from rich.progress import track

    yield from track(iterable, total=total, description=description, transient=True)


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

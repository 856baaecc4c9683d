"""`nnx data`: put the standard files where the default configs look (`data/<name>` in the checkout).

    nnx data --from ../shared/data        link every data set found there (MNIST, CIFAR-10, cats vs dogs, ...)
    nnx data mnist cifar10                download them through torchvision (needs a network)
    nnx data --from /mnt/datasets --copy  copy instead of linking

A local copy is linked (or copied) as it is: its files are checked, never rewritten. A `data/<name>` that already
holds files of its own is left alone; a link is pointed at the new copy. Fashion-MNIST also comes from Debian's
`dataset-fashion-mnist` package when no copy is given.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Callable

from nnx.data.sources import CIFAR_BATCHES, FASHION_MNIST_SYSTEM_COPY, find_idx
from nnx.errors import NnxError
from nnx.paths import data_home


def has_idx(folder: Path) -> bool:
    return find_idx([folder]) is not None


def has_tree(folder: Path, *splits: str) -> bool:
    return all((folder / split).is_dir() and any((folder / split).iterdir()) for split in splits)


@dataclasses.dataclass(frozen=True)
class Source:
    names: tuple[str, ...]                 # folder names a local copy may use (e.g. fashion-mnist)
    looks_right: Callable[[Path], bool]    # the standard files are in this folder
    expected: str                          # said when they are not
    download: str | None = None            # torchvision class that downloads it, None: no download
    fallback: str | None = None            # a system copy used when no --from copy has it


SOURCES = {
    "mnist": Source(("mnist", "MNIST"), lambda p: has_idx(p) or has_idx(p / "MNIST" / "raw"),
                    "the four MNIST IDX files (.gz or not)", "MNIST"),
    "fashion_mnist": Source(("fashion_mnist", "fashion-mnist", "FashionMNIST"),
                            lambda p: has_idx(p) or has_idx(p / "FashionMNIST" / "raw"),
                            "the four Fashion-MNIST IDX files (.gz or not)", "FashionMNIST", FASHION_MNIST_SYSTEM_COPY),
    "cifar10": Source(("cifar10", "cifar-10", CIFAR_BATCHES),
                      lambda p: has_tree(p, "train", "test") or (p / CIFAR_BATCHES / "test_batch").is_file()
                      or (p / "test_batch").is_file(),
                      "an ImageFolder tree train/<class>/, test/<class>/ or the cifar-10-batches-py pickles",
                      "CIFAR10"),
    "cats_vs_dogs": Source(("cats_vs_dogs", "cats-vs-dogs"), lambda p: has_tree(p, "train", "val"),
                           "an ImageFolder tree train/{cat,dog}/, val/{cat,dog}/"),
}


def find_copy(name: str, origin: Path | None) -> Path | None:
    """The folder under `origin` (or the system copy) that holds data set `name`'s standard files."""
    source = SOURCES[name]
    candidates = [origin / folder for folder in source.names] if origin else []
    candidates += [Path(source.fallback)] if source.fallback else []
    return next((c for c in candidates if c.is_dir() and source.looks_right(c)), None)


def place(copy: Path, target: Path, how: str) -> str:
    """Link or copy `copy` to `target`; what was done, in words."""
    if target.is_symlink():
        if target.resolve() == copy.resolve():
            return f"already linked to {copy}"
        target.unlink()  # a link holds no data: point it at the new copy
    elif target.exists():
        if any(target.iterdir()):
            return f"left as it is: {target} holds files of its own"
        target.rmdir()
    target.parent.mkdir(parents=True, exist_ok=True)
    if how == "copy":
        shutil.copytree(copy, target)
        return f"copied from {copy}"
    target.symlink_to(copy.resolve(), target_is_directory=True)
    return f"linked to {copy.resolve()}"


def download(name: str, target: Path) -> str:
    source = SOURCES[name]
    if source.download is None:
        raise NnxError(f"{name} has no download", fix=f"nnx data {name} --from <a folder holding {name}/>, or use "
                       "data=oxford_pets_binary data.download=true for torchvision's cats and dogs")
    import torchvision

    from nnx.data.sources import downloading

    with downloading(name, str(target), source.expected):
        getattr(torchvision.datasets, source.download)(str(target), train=True, download=True)
    return f"downloaded into {target}"


def prepare(names: list[str], origin: Path | None, how: str = "link", home: Path | None = None) -> list[dict]:
    """One row per data set: name, what was done, where it is now. Raises NnxError when a named one fails."""
    home = home or data_home()
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        raise NnxError(f"unknown data set {', '.join(unknown)}", fix=f"one of {', '.join(SOURCES)}")
    if origin is not None and not origin.is_dir():
        raise NnxError(f"--from {origin}: no such folder", fix="give the folder holding mnist/, cifar10/, ...")
    rows, missing = [], []
    for name in names or list(SOURCES):
        target, copy = home / name, find_copy(name, origin)
        if copy is not None:
            done = place(copy, target, how)
        elif SOURCES[name].looks_right(target):
            done = "already there"
        elif origin is None and (SOURCES[name].download or name in names):
            done = download(name, target)
        else:
            missing.append(name)
            done = f"not found ({SOURCES[name].expected}" + (f" under {origin}/{name})" if origin else ")")
        rows.append({"data set": name, "done": done, "where": str(target)})
    if names and missing:
        raise NnxError("\n".join(f"{r['data set']}: {r['done']}" for r in rows if r["data set"] in missing),
                       fix="nnx data NAME --from <folder holding NAME/>, or without --from to download")
    return rows


def data_command(args: list[str], usage: str) -> int:
    """`nnx data [NAME...] [--from DIR] [--copy]`: prepare each data set, one line each."""
    origin, how, names, rest = None, "link", [], list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--from" and rest:
            origin = Path(rest.pop(0)).expanduser()
        elif arg.startswith("--from="):
            origin = Path(arg.partition("=")[2]).expanduser()
        elif arg == "--copy":
            how = "copy"
        elif arg.startswith("-"):
            raise NnxError(f"unknown option {arg}\n{usage}")
        else:
            names.append(arg)
    rows = prepare(names, origin, how)
    width = max(len(row["data set"]) for row in rows)
    for row in rows:
        print(f"{row['data set']:{width}s}  {row['done']}")
    return 0

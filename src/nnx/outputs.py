"""Before Hydra writes anything: the folder a run or sweep will write can be made, and holds no earlier results.

Hydra writes into `hydra.run.dir` / `hydra.sweep.dir` as they are, over whatever is there; the default folders are
stamped to the microsecond, but a folder named on the command line may hold an earlier run. Such a run is never
mixed with a new one: nnx refuses and names the way to continue it (`trainer.resume`, `resume_sweep`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from nnx.errors import NnxError
from nnx.overrides import override_key

HYDRA_INFO_FLAGS = ("-h", "--help", "--hydra-help", "-i", "--info", "-sc", "--shell-completion", "--version")
INFO_FLAGS = (*HYDRA_INFO_FLAGS, "-c", "--cfg")  # Hydra prints and writes nothing


def typed(args: list[str], key: str) -> str | None:
    values = [arg.partition("=")[2] for arg in args if override_key(arg) == key]
    return values[-1] if values else None


def literal(path: str | None) -> bool:
    """A plain path, not an interpolation or a sweep (Hydra resolves those)."""
    return path is not None and not any(mark in path for mark in "${*,")


def check_output_dir(args: list[str], resumed: bool = False) -> None:
    """NnxError (exit 2) when the folder this command writes cannot be made or written, or already holds results."""
    if any(arg in INFO_FLAGS for arg in args):
        return  # prints, writes nothing
    sweep = "-m" in args or "--multirun" in args
    named = typed(args, "hydra.sweep.dir" if sweep else "hydra.run.dir")
    if named is not None:
        if not literal(named):
            return
        where, setting = Path(named).expanduser(), "hydra.sweep.dir" if sweep else "hydra.run.dir"
        if not resumed:
            refuse_earlier_results(where, setting, sweep)
    else:
        output_dir = typed(args, "paths.output_dir") or os.environ.get("NNX_OUTPUT_DIR") or "outputs"
        if not literal(output_dir):
            return
        where, setting = Path(output_dir).expanduser(), "NNX_OUTPUT_DIR or paths.output_dir"
    check_writable(where, setting)


def refuse_earlier_results(where: Path, setting: str, sweep: bool) -> None:
    if not where.is_dir() or not any(where.iterdir()):
        return
    if sweep:
        fix = f"name a new folder, or finish that sweep with: nnx run resume_sweep={where}"
    else:
        fix = (f"name a new folder (or leave {setting} out for a stamped one); continue a killed run into a new "
               f"folder with trainer.resume={where}")
    raise NnxError(f"{setting}={where} already holds files of an earlier {'sweep' if sweep else 'run'}; nnx never "
                   "writes a run over another", fix=fix)


def check_writable(where: Path, setting: str) -> None:
    """Make the missing folders and a scratch folder in the deepest one, then remove them: nothing is left behind."""
    if where.exists() and not where.is_dir():
        raise NnxError(f"the output folder {where} is a file", fix=f"set {setting} to a folder you can write")
    missing = [p for p in (where, *where.parents) if not p.exists()]
    try:
        for folder in reversed(missing):
            folder.mkdir()
        tempfile.TemporaryDirectory(dir=where).cleanup()
    except OSError as err:
        raise NnxError(f"the output folder {where} cannot be written ({err.strerror}: {err.filename})",
                       fix=f"set {setting} to a folder you can write") from None
    finally:
        for folder in missing:
            if folder.is_dir():
                folder.rmdir()

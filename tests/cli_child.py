"""`nnx ...` for the tests, about 2 s faster a call than `python -m nnx.cli ...` in a new interpreter.

A multiprocessing fork server imports torch, Hydra, matplotlib, scikit-learn and nnx once; each call forks a child
from it that runs `nnx.cli.main` as the console script would: its own argv, environment, working folder, stdout and
stderr (to files, returned as text) and exit status. The server runs nothing itself, so every child starts clean.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

PRELOAD = ["torch", "torchvision", "hydra", "omegaconf", "matplotlib.pyplot", "sklearn.linear_model",
           "sklearn.cluster", "sklearn.metrics", "nnx.cli", "nnx.runner", "nnx.engine", "nnx.data", "nnx.models"]
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


def _child(args: list[str], env: dict, cwd: str, out: str, err: str) -> None:
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    for fd, path in ((1, out), (2, err)):
        os.dup2(os.open(path, os.O_WRONLY | os.O_TRUNC), fd)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    sys.argv = ["nnx", *args]
    code = 0
    try:
        from nnx.cli import main

        main()
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:  # what an uncaught error does to the real console script: traceback, exit 1
        import traceback

        traceback.print_exc()
        code = 1
    threading._shutdown()  # what interpreter exit does first: joblib's executor stops its workers here
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_cli(args: list[str], env: dict, cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    """`nnx *args` in a child of the fork server; `subprocess.TimeoutExpired` after `timeout` seconds, as
    `subprocess.run` would."""
    with tempfile.TemporaryDirectory(prefix="nnx-cli-") as folder:
        out, err = Path(folder, "stdout"), Path(folder, "stderr")
        out.touch()
        err.touch()
        child = _context.Process(target=_child, args=(list(args), dict(env), str(cwd), str(out), str(err)))
        child.start()
        child.join(timeout)
        if child.is_alive():
            child.kill()
            child.join()
            raise subprocess.TimeoutExpired(["nnx", *args], timeout, out.read_text(), err.read_text())
        return subprocess.CompletedProcess(["nnx", *args], child.exitcode, out.read_text(), err.read_text())

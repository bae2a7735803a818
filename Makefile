# mlflow-plugins: one Makefile for the whole monorepo. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ROOT := $(abspath .)
VENV ?= $(ROOT)/.venv
PY := $(VENV)/bin/python
PKG ?=
MLFLOW ?=
PYTEST_ARGS ?=
PACKAGES := $(sort $(notdir $(wildcard packages/*)))

.PHONY: help install test test-integration lint typecheck isolation build compat compat-floors upgrade-mlflow demo bench new-plugin clean testenv-down

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'
	@echo; echo "Variables: PKG=<dist> (test one package), MLFLOW=<version> (compat), KIND= NAME= (new-plugin)"

install: ## set up .venv with every package editable and the test tools (installs uv, apt packages as needed)
	@bash tools/install-dev.sh

test: install ## all unit tests with pytest -n auto (or PKG=<dist>), then the isolation check
	@if [ -n "$(PKG)" ]; then \
	  test -d packages/$(PKG) || { echo "no package packages/$(PKG); choose from: $(PACKAGES)"; exit 2; }; \
	  $(PY) -m pytest -n auto packages/$(PKG) $(PYTEST_ARGS); \
	else \
	  $(PY) -m pytest -n auto $(PYTEST_ARGS) && $(PY) tools/check_isolation.py; \
	fi

test-integration: install ## every wheel in one fresh venv against a real mlflow server (tests-integration/)
	@bash tests-integration/run.sh

lint: install ## ruff, the import-boundary check (no plugin imports another), no private MLflow name outside mlflow_compat.py
	$(VENV)/bin/ruff check .
	$(PY) tools/check_isolation.py --imports-only
	$(PY) tools/check_private_imports.py

typecheck: install ## mypy over shared/ and every package
	$(VENV)/bin/mypy shared/src $(foreach p,$(PACKAGES),packages/$(p)/src)

isolation: install ## each wheel installs alone in a fresh venv with only its declared deps and imports
	$(PY) tools/check_isolation.py

build: install ## wheels + sdists for shared and every package into dist/, then twine check
	@rm -rf dist && mkdir -p dist
	@for d in shared $(addprefix packages/,$(PACKAGES)); do $(VENV)/bin/python -m build -q --installer uv -o dist $$d >/dev/null || exit 1; done
	$(VENV)/bin/twine check dist/*

compat: install ## run PKG's tests (default: all) against MLFLOW=<version>|latest|pre in a separate venv
	@test -n "$(MLFLOW)" || { echo "usage: make compat MLFLOW=3.0.1|latest|pre [PKG=mlflow-store-es]"; exit 2; }
	@bash tools/compat.sh "$(MLFLOW)" "$(PKG)"

compat-floors: install ## every package at its declared MLflow floor, then the integration suite at the highest floor
	@start=$$(date +%s); python3 tools/mlflow_floor.py --groups | while read -r v pkgs; do \
	  echo "# MLflow $$v: $$pkgs"; bash tools/compat.sh "$$v" "$$pkgs" || exit 1; done && \
	  MLFLOW_VERSION=$$(python3 tools/mlflow_floor.py --integration) bash tests-integration/run.sh && \
	  echo "# compat-floors: green in $$(( $$(date +%s) - start ))s"

upgrade-mlflow: ## move the lock (constraints.txt) to the newest MLflow, run every test, stamp the READMEs
	@old=$$(python3 tools/mlflow_lock.py version); new=$$(python3 tools/mlflow_lock.py compile --upgrade-mlflow); \
	  echo "# lock: MLflow $$old -> $$new"; \
	  $(MAKE) --no-print-directory test && python3 tools/mlflow_lock.py stamp && \
	  echo "# MLflow $$new passes; commit constraints.txt and the READMEs" || \
	  { echo "# MLflow $$new fails: fix it, or 'git checkout constraints.txt' to stay on $$old"; exit 1; }

demo: install ## start an MLflow server with the ready plugins and log an example run; prints the URL
	@$(PY) tools/demo.py

bench: install ## run every package's benchmark and write BENCHMARKS.md (QUICK=0 for full mode)
	@$(PY) tools/bench.py

new-plugin: ## scaffold packages/mlflow-KIND-NAME from tools/plugin-template
	@test -n "$(KIND)" -a -n "$(NAME)" || { echo "usage: make new-plugin KIND=store NAME=foo"; exit 2; }
	@python3 tools/new_plugin.py $(KIND) $(NAME)

testenv-down: ## stop every server tools/testenv started
	@tools/testenv down

clean: ## remove build output and caches
	rm -rf dist build .pytest_cache .mypy_cache .ruff_cache

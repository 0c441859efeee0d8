# LIIF Desktop — set-up, run, test. `make run` and `make test` each set everything up first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# torch is pinned to a CPU build: a looser pin pulls a multi-GB CUDA build on Linux.
TORCH  ?= torch==2.13.0
TORCH_INDEX ?=

.PHONY: setup run test test-slow lint format typecheck bench clean-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_INDEX) "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[gui,dev]" "$(TORCH)"
	touch $(STAMP)

weights/edsr-baseline-liif.pth: weights/manifest.json | $(STAMP)
	$(PY) -m liif_desktop.weights fetch

setup: $(STAMP) weights/edsr-baseline-liif.pth
	@$(PY) -m liif_desktop.weights fetch >/dev/null

run: setup
	$(VENV)/bin/liif-desktop $(ARGS)

test: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

test-slow: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m slow $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: setup
	$(VENV)/bin/mypy

clean-venv:
	rm -rf $(VENV)

# Installers (packaging/): the Linux bundle, .deb and tar.gz, and a smoke test of the .deb.
.PHONY: package-linux smoke-deb
PYINSTALLER ?= pyinstaller==6.22.3
package-linux: setup
	$(PY) -m pip install --quiet "$(PYINSTALLER)"
	PYTHON=$(PY) packaging/build_linux.sh

smoke-deb:
	PYTHON=$(PY) packaging/smoke_deb.sh

# LIIF Desktop — set-up, run, test. `make run` and `make test` each set everything up first.
# The set-up itself is scripts/setup.py (standard library only; Windows runs the same script):
# a CPU build of torch by default (on Linux from the PyTorch CPU index, falling back to the
# package index with a warning), `make setup TORCH=cuda` for the CUDA build; each step reruns
# only when its inputs changed (pyproject.toml, TORCH, the weights files).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
TORCH  ?= cpu

.PHONY: setup run test test-slow lint format typecheck bench clean-venv

setup:
	@LIIF_VENV=$(VENV) $(PYTHON) scripts/setup.py setup --torch $(TORCH)

run: setup
	$(PY) -m liif_desktop.app $(ARGS)

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

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint install clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m bot run-or-chat

lint: $(STAMP)
	$(PY) -m ruff check bot tests bench

test: $(STAMP)
	$(PY) -m ruff check bot tests bench
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m bot bench

clean:
	rm -rf $(VENV)

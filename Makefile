PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Two stamps: running the bot needs only the runtime dependencies; the tests add the dev tools.
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint install install-run clean bench doctor reliability test-repeat

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(PY)
	@echo "Installing the bot's runtime dependencies into $(VENV) (first run only, about a minute)..."
	$(PY) -m pip install --progress-bar on -e .
	touch $(RUN_STAMP)

$(DEV_STAMP): pyproject.toml | $(PY)
	@echo "Installing the bot with its development tools into $(VENV)..."
	$(PY) -m pip install --progress-bar on -e '.[dev]'
	touch $(RUN_STAMP) $(DEV_STAMP)

install: $(DEV_STAMP)

install-run: $(RUN_STAMP)

run: $(RUN_STAMP)
	$(PY) -m bot run-or-chat

doctor: $(RUN_STAMP)
	$(PY) -m bot doctor

lint: $(DEV_STAMP)
	$(PY) -m ruff check bot tests bench
	$(PY) -m mypy

# The tests start many Python processes (xdist workers, real bot processes): let them keep compiled
# bytecode (__pycache__, ignored by git) instead of compiling the code again in each (~15% of the CPU).
test test-repeat: export PYTHONDONTWRITEBYTECODE :=

test: $(DEV_STAMP)
	$(PY) -m ruff check bot tests bench
	$(PY) -m mypy
	$(PY) -m pytest -n auto

bench: $(DEV_STAMP)
	$(PY) -m bench.matching

# Flake hunt: the Telegram, reminder and fault tests 20 times in a row, stopping at the first failure.
REPEAT ?= 20
test-repeat: $(DEV_STAMP)
	@for i in $$(seq $(REPEAT)); do \
		echo "== run $$i/$(REPEAT)"; \
		$(PY) -m pytest -n auto -q -x -p no:cacheprovider tests/test_telegram_*.py tests/test_faults.py tests/test_crash.py \
			tests/test_storage_faults.py || exit 1; \
	done; echo "== $(REPEAT)/$(REPEAT) green"

# The fault tests, and the table of what each fault sent, delivered, lost and duplicated.
reliability: $(DEV_STAMP)
	$(PY) -m bench.reliability

clean:
	rm -rf $(VENV)

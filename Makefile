# One command to run the app, one to run the tests; each sets up what it needs.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup run test index eval bench loadtest browser clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --upgrade pip
	# torch pinned first: pip takes the CPU build from local disk
	$(VENV)/bin/pip install torch==2.13.0
	$(VENV)/bin/pip install -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

run: setup
	$(PY) app.py

index: setup
	$(PY) -m ingest build

eval: setup index
	$(PY) -m eval run --compare

bench: setup
	$(PY) -m bench

# Bounded load test (about a minute): the app on 127.0.0.1 with extractive answers on a small hash
# index, 20/50/100 concurrent API users, then chat users beside 30 API clients; figures to docs/loadtest.md.
loadtest: setup
	$(PY) -m bench.loadtest --out docs/loadtest.md

# Debian's chromium for the browser tests (Playwright cannot download its own browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

# Lint and format check (ruff), the layer contract (pyproject.toml, [tool.importlinter]), the offline
# evaluation gate (extractive answers, bundled embeddings) against eval/baseline.json, then the test
# suite. The first run builds the index (a few minutes on 2 cores).
test: setup browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m ingest build
	$(PY) -m eval run --compare --quiet
	$(PY) -m pytest

clean:
	rm -rf $(VENV) data/index

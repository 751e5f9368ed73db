# make run   - install what is missing, then serve Vigil on http://127.0.0.1:8050 with demo data
# make test  - install what is missing (Python dev extras, Chromium for browser tests,
#              redis-server for the shared-service tests), run all but the slow checks
# make test-team - the slow checks: the team setup (gunicorn, Celery, Redis, Postgres, S3),
#              and those that start whole servers or wait out timeouts (markers team, slow)
# make test-loaded - the same tests beside one busy loop per core (races show up there)
# make lock  - pin the dependencies again (requirements/dev.lock) after pyproject.toml changes
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test test-team test-loaded lint lock browser services bench screenshot clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# the exact versions of requirements/dev.lock (made from pyproject.toml by `make lock`)
$(INSTALLED): pyproject.toml requirements/dev.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# pin every dependency again after pyproject.toml changes (with uv, installed into the venv)
lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--quiet -o requirements/dev.lock

run: $(INSTALLED)
	$(BIN)/vigil run

browser:
	@sh scripts/install-browser.sh

services:
	@sh scripts/install-services.sh

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/lint_imports.py
	$(BIN)/python scripts/typecheck.py
	$(BIN)/python -m vigil.storage.schema_check

test: $(INSTALLED) browser services lint
	$(BIN)/pytest -m "not team and not slow"

test-team: $(INSTALLED) browser services
	$(BIN)/pytest -m "team or slow"

test-loaded: $(INSTALLED) browser services
	sh scripts/loaded-test.sh

bench: $(INSTALLED)
	$(BIN)/python tests/benchmarks/run.py

screenshot: $(INSTALLED) browser
	$(BIN)/python scripts/readme_screenshot.py docs/analyze.png
	$(BIN)/python scripts/evaluate_screenshot.py docs/evaluate.png

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .mypy_cache

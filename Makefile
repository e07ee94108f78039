# The two commands a newcomer needs: `make run` and `make test`. Everything else is optional.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The MySQL driver compiles against client headers, so it is installed only when MySQL is configured.
USES_MYSQL := $(shell (printenv DATABASE_URL; grep -s '^DATABASE_URL=' .env) | grep -q '^\(DATABASE_URL=\)\?mysql' && echo yes)

.PHONY: run test attacks lint typecheck bench api-fuzz migrate demo worker clean

$(BIN)/.installed: requirements.txt requirements-dev.txt requirements-mysql.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

$(BIN)/.mysql: $(BIN)/.installed
	$(BIN)/python -m pip install -q -r requirements-mysql.txt
	touch $@

venv: $(BIN)/.installed $(if $(USES_MYSQL),$(BIN)/.mysql)

.env:
	$(MAKE) venv
	$(BIN)/python scripts/make_env.py .env

migrate: venv .env
	$(BIN)/python manage.py migrate --no-input

demo: migrate
	$(BIN)/python manage.py load_demo

# Web server, Celery worker and its scheduler (beat), on the embedded defaults; Ctrl-C stops all of them.
run: demo
	@mkdir -p var/log
	@echo "Starting the Celery worker and beat (log: var/log/celery.log)..."
	@trap 'kill 0' EXIT INT TERM; \
	  $(BIN)/celery -A marketplace worker --beat -Q live,backtests,maintenance,celery --concurrency 2 \
	     -l INFO > var/log/celery.log 2>&1 & \
	  $(BIN)/python manage.py demo_logins --url http://$(HOST):$(PORT)/; \
	  $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Issue 10's hostile bots, through upload, validation, approval and the engine (also part of `make test`).
attacks: venv
	$(BIN)/python -m pytest bots/tests/attacks $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# mypy over the paths in pyproject.toml's [tool.mypy]: core and common fully annotated, the engine's bodies checked.
typecheck: venv
	$(BIN)/mypy

# Wall-clock costs of the hot paths (backtests, scheduler ticks, sandboxed decisions); see scripts/bench.py.
bench: venv
	$(BIN)/python scripts/bench.py

# Schemathesis over /api/schema/ against a live server, once per persona (scripts/api_fuzz.py).
api-fuzz: venv
	$(BIN)/python scripts/api_fuzz.py

clean:
	rm -rf var db.sqlite3

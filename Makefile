# Keyward's front door. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# Where `make demo` and `make serve` listen: `make demo PORT=8001`, or HOST=0.0.0.0 for every
# address (a VM, a container). Set on the command line only: a HOST or PORT left in the
# environment (tcsh exports HOST, the machine's name) does not move the dev server.
HOST = 127.0.0.1
PORT = 8000

.PHONY: demo serve sso-demo test lint format bench bench-exchange bench-http install clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $@

# axe-core for the accessibility test, oidc-provider for SSO (npm ci: exactly package-lock.json).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

install: $(VENV)/.installed node_modules/.installed

demo: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) scripts/demo.py $(HOST):$(PORT)

serve: $(VENV)/.installed
	$(PY) manage.py runserver $(HOST):$(PORT)

# A local OpenID provider to try SSO end to end (the one the SSO tests run; tests/support/README.md):
# issuer http://127.0.0.1:9400, client keyward-sso-demo / keyward-sso-demo-secret, redirect URIs
# http://127.0.0.1:8000/accounts/oidc/<provider_id>/login/callback/, owner@example.com / keyward-demo.
sso-demo: node_modules/.installed
	node tests/support/oidc_provider.mjs --port 9400 --config tests/support/sso_demo.json

test: $(VENV)/.installed node_modules/.installed
	KEYWARD_CHROMIUM="$$(scripts/ensure-chromium $(PY))" $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Every API route beside the reference project's views, in one process (SQLite).
bench: $(VENV)/.installed
	$(PY) bench/run.py $(BENCH_ARGS)

# The trusted-publisher exchange next to whoami, in one process (docs/performance.md).
bench-exchange: $(VENV)/.installed
	$(PY) bench/exchange.py $(BENCH_ARGS)

# Keyward beside bench/reference/ under gunicorn + PostgreSQL + Redis + wrk (needs PostgreSQL
# and Redis on 127.0.0.1; installs wrk). BENCH_ARGS: e.g. --quick, --only whoami, --workers 4.
BENCH_ARGS ?=
bench-http: $(VENV)/.installed
	$(PY) bench/http_load.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules db.sqlite3 db.sqlite3-wal db.sqlite3-shm staticfiles test-results .pytest_cache .ruff_cache

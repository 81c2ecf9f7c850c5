# M4S: make run | make test | make e2e | make bench | make lint
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: venv run test test-sqlite test-postgres e2e bench bench-shop bench-maintenance lint translations

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

translations: venv
	$(BIN)/pybabel -q compile -d portal/translations

run: export M4S_BASE_URL ?= http://$(HOST):$(PORT)
run: venv translations
	M4S_ENV=development $(BIN)/flask --app wsgi db upgrade
	M4S_ENV=development $(BIN)/flask --app wsgi m4s demo
	@echo "M4S is starting on http://$(HOST):$(PORT)  (back office: http://$(HOST):$(PORT)/admin/)"
	@# The media server (live bay video) and the worker (outbox, periodic jobs; health on
	@# :8090/healthz) run beside the portal and stop with it.
	M4S_ENV=development $(BIN)/flask --app wsgi m4s media & media=$$!; \
	M4S_ENV=development $(BIN)/flask --app wsgi m4s worker --health-port 8090 & worker=$$!; \
	trap "kill $$media $$worker 2>/dev/null" EXIT; \
	M4S_ENV=development $(BIN)/gunicorn --workers 2 --bind $(HOST):$(PORT) --access-logfile - wsgi:app

test: venv translations
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$M4S_TEST_DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres; fi

test-sqlite:
	@echo "== test suite on SQLite"
	env -u M4S_TEST_DATABASE_URL $(BIN)/pytest -q -m "not e2e" -p no:cacheprovider

test-postgres:
	@echo "== test suite on PostgreSQL ($$M4S_TEST_DATABASE_URL)"
	$(BIN)/pytest -q -m "not e2e" -p no:cacheprovider

e2e: venv translations
	@echo "== browser lane (Chromium at $${M4S_CHROMIUM:-/usr/bin/chromium})"
	$(BIN)/pytest -q -m e2e tests/e2e -p no:cacheprovider

bench: venv translations
	$(BIN)/python -m bench.run_portal

bench-shop: venv translations
	$(BIN)/python -m bench.run_shop

bench-maintenance: venv translations
	$(BIN)/python -m bench.run_maintenance

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

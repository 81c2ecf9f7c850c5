# M4S: make run | make test | make e2e | make bench | make lint
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCKS := requirements/build.txt requirements/test.txt
# A changed pyproject or lock file reinstalls.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCKS) | cksum | cut -d' ' -f1)
UV_VERSION := 0.13.9
UV_COMPILE := $(VENV)/lock-tools/bin/uv pip compile -q --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command "make lock"
# Test processes per lane (pytest-xdist): one per core; each has its own database and files.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: venv lock run test test-sqlite test-postgres e2e bench bench-shop bench-maintenance \
	bench-group bench-backoffice bench-analytics lint translations

# Everything is installed from the hashed lock files in requirements/ (see make lock); the
# project itself goes in editable, without its dependencies.
$(STAMP): pyproject.toml $(LOCKS)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes -r requirements/build.txt
	$(BIN)/python -m pip install -q --require-hashes -r requirements/test.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

# Re-resolve the lock files from pyproject's ranges (newest releases on PyPI): on purpose only.
lock:
	test -x $(VENV)/lock-tools/bin/uv || ( $(PY) -m venv $(VENV)/lock-tools && \
		$(VENV)/lock-tools/bin/python -m pip install -q uv==$(UV_VERSION) )
	$(UV_COMPILE) pyproject.toml -o requirements/runtime.txt
	$(UV_COMPILE) pyproject.toml --extra test -c requirements/runtime.txt -o requirements/test.txt
	$(UV_COMPILE) requirements/build.in -o requirements/build.txt

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
	M4S_ENV=development $(BIN)/gunicorn --workers 2 --threads 4 --bind $(HOST):$(PORT) --access-logfile - wsgi:app

test: venv translations
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$M4S_TEST_DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres; fi

test-sqlite:
	@echo "== test suite on SQLite"
	env -u M4S_TEST_DATABASE_URL $(BIN)/pytest -q -m "not e2e" -p no:cacheprovider \
		-n $(JOBS) --dist loadfile

test-postgres:
	@echo "== test suite on PostgreSQL ($$M4S_TEST_DATABASE_URL)"
	$(BIN)/pytest -q -m "not e2e" -p no:cacheprovider -n $(JOBS) --dist loadfile

e2e: venv translations
	@echo "== browser lane (Chromium at $${M4S_CHROMIUM:-/usr/bin/chromium})"
	$(BIN)/pytest -q -m e2e tests/e2e -p no:cacheprovider

bench: venv translations
	$(BIN)/python -m bench.run_portal

bench-shop: venv translations
	$(BIN)/python -m bench.run_shop

bench-maintenance: venv translations
	$(BIN)/python -m bench.run_maintenance

# The dealer-group datasets (issue 21) on PostgreSQL, then the back-office crawl on both.
BENCH_PG ?= postgresql://postgres@127.0.0.1:5432
bench-group: venv
	$(BIN)/python -m bench.generate --group --scale 10k --seed 1 --reset \
		--database-url $(BENCH_PG)/bench_group_10k
	$(BIN)/python -m bench.generate --group --scale $(or $(SCALE),100k) --seed 1 --reset \
		--database-url $(BENCH_PG)/bench_group_$(or $(SCALE),100k)

bench-backoffice: venv translations
	$(BIN)/python -m bench.run_backoffice --small $(BENCH_PG)/bench_group_10k \
		--large $(BENCH_PG)/bench_group_$(or $(SCALE),100k)

# The repair analytics page on the large group dataset, with and without the parts index.
bench-analytics: venv translations
	$(BIN)/python -m bench.run_analytics \
		--database-url $(BENCH_PG)/bench_group_$(or $(SCALE),100k)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m tools.check_private

# The two commands a newcomer types: `make run` and `make test`.
# Each creates .venv and installs what it needs; nothing else is assumed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB ?= sqlite:///kiemdiem.db
YEAR ?= 2026

.PHONY: run test bench faults lint services browser container-check clean
BENCH_STAMP := $(VENV)/.bench-installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

## run: install, initialise the SQLite database with the sample units and this year's plan, serve
run: $(STAMP)
	$(BIN)/kiemdiem --db $(DB) init
	$(BIN)/kiemdiem --db $(DB) units import config/units/sample.csv
	$(BIN)/kiemdiem --db $(DB) campaign ensure $(YEAR) --plan config/plans/$(YEAR).yaml
	$(BIN)/kiemdiem --db $(DB) user add admin --unit GL --if-missing
	@echo "Trang theo dõi: http://$${KIEMDIEM_WEB_HOST:-127.0.0.1}:$${KIEMDIEM_WEB_PORT:-8080}/ (tài khoản admin; thư trong $${KIEMDIEM_OUTBOX_DIR:-var/outbox}/)"
	$(BIN)/kiemdiem --db $(DB) serve

## test: install, lint (ruff and mypy), make sure PostgreSQL is up, run every test on SQLite and PostgreSQL
test: lint $(STAMP) services browser
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

## bench: run every benchmarks/bench_*.py on SQLite and PostgreSQL; figures go to benchmarks/RESULTS.md
bench: $(BENCH_STAMP) services
	@status=0; for script in benchmarks/bench_*.py; do \
	  echo "== $$script"; $(BIN)/python -m benchmarks.$$(basename $$script .py) || status=1; \
	done; exit $$status

## faults: the fault tests alone (tests/faults, ~5 min; each reports what was lost and duplicated):
##   corrupt or contradictory plan and unit files; a full disk under the file outbox; `serve`
##   killed -9 mid-sweep and mid-delivery, then restarted; a private PostgreSQL cluster restarted
##   under a running `serve`; two `serve` processes through a simulated season on PostgreSQL;
##   the chaos test (three `serve`s killed every few seconds, a misbehaving SMTP server and
##   webhook relay, a 25 s SMTP outage: 1.5-2 min more at load 10-14; `make test` skips it).
##   SMTP/webhook peers down, slow or erroring: tests/integration; killed `dispatch`: tests/e2e.
faults: $(STAMP) services
	KIEMDIEM_CHAOS=1 $(BIN)/python -m pytest -m faults -raP tests/faults $(PYTEST_ARGS)

## services: start the local PostgreSQL the integration tests use, if it is down
services:
	@scripts/ensure-services

## container-check: build docker/Dockerfile and run the image for real against the local
##   PostgreSQL (scripts/container-check; installs and starts a Docker engine if none runs)
container-check: services
	@scripts/container-check

## browser: install Debian's chromium and chromium-driver (browser tests), Pango and fonts (PDF reports), if missing
browser:
	@scripts/ensure-browser

## lint: ruff, then mypy over the packages [tool.mypy] names in pyproject.toml
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) kiemdiem.db kiemdiem.db-wal kiemdiem.db-shm kiemdiem.db.writer-lock var test-output

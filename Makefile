# Corridor: `make run` serves a demo school on SQLite; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/corridor_test
# `make run PORT=8123`: the server listens there and, without PUBLIC_URL, the printed link points there too.
PORT ?= 8000

.PHONY: run test test-sqlite test-postgres test-e2e install install-test chromium proxy clean bench

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/corridor migrate
	PORT=$(PORT) $(BIN)/corridor seed-demo
	$(BIN)/corridor serve --host 127.0.0.1 --port $(PORT)

chromium:
	@tools/ensure_chromium.sh

# Caddy, for the browser test that runs Corridor behind an HTTPS proxy (docs/deploy.md).
proxy:
	@tools/ensure_proxy.sh

test: $(STAMP) chromium proxy
	@tools/run_tests.sh

# The benchmark (bench/README.md): installs wrk, chromium and Lighthouse when missing, then measures
# everything against DESIGN.md's budgets. It never fails over a missed budget. BENCH_ARGS="--quick" for a smoke run.
bench: $(STAMP)
	@bench/setup.sh
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var

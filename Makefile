# Two commands for a fresh machine: `make run` and `make test`.
# uv is bootstrapped into .tools/ with pip when it is not on PATH; the project
# environment lives in .venv and is pinned by the committed uv.lock.

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV_BIN := .venv/bin

.PHONY: run test setup setup-runtime lint typecheck unit browser node-tools audit-http migrations schema clean bench-tools bench bench-webhooks

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv

# Two stamps: `make run` needs the runtime dependencies only; `make test` (and `make setup`)
# the development ones too. The development sync includes the runtime one, so it refreshes both
# stamps; the runtime sync is --inexact, so it installs what is missing and removes nothing
# (switching from `make test` to `make run` and back reinstalls nothing).
.venv/.synced-runtime: pyproject.toml uv.lock | $(UV)
	UV_PYTHON_DOWNLOADS=never $(UV) sync --frozen --no-dev --inexact
	touch $@

.venv/.synced-dev: pyproject.toml uv.lock | $(UV)
	UV_PYTHON_DOWNLOADS=never $(UV) sync --frozen
	touch $@ .venv/.synced-runtime

setup-runtime: .venv/.synced-runtime

setup: .venv/.synced-dev

# Debian's chromium drives the hosted-page tests (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || sudo sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null'; }

# graphql-http's GraphQL-over-HTTP audit runs in node (tests/test_graphql_http.py); npm installs
# it into .tools/node in about two seconds. Without npm the audit test is skipped.
GRAPHQL_HTTP := .tools/node/node_modules/graphql-http/package.json
$(GRAPHQL_HTTP):
	@command -v npm >/dev/null 2>&1 || { echo "npm not found: the graphql-http audit test will be skipped"; exit 0; }; \
	  npm install --silent --no-audit --no-fund --prefix .tools/node graphql-http@1.23.1 graphql@16.15.0

node-tools: $(GRAPHQL_HTTP)

# The audit alone, against a server started for it.
audit-http: setup node-tools
	$(VENV_BIN)/pytest -q tests/test_graphql_http.py -k audit

# Load generator for the benchmarks (bench/load.py): a Python client cannot load a 2-core
# server enough, so autocannon (node) makes the requests. Not part of `make test`.
AUTOCANNON := .tools/node/node_modules/autocannon/package.json
$(AUTOCANNON):
	@command -v npm >/dev/null 2>&1 || { echo "bench-tools needs npm (node.js)"; exit 1; }
	npm install --silent --no-audit --no-fund --prefix .tools/node autocannon@8.0.0

bench-tools: $(AUTOCANNON)

# The read benchmark on PostgreSQL (a fresh database beside DATABASE_URL's, default the local
# server's `postgres`); see
# docs/performance.md for the others and their options.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
bench: setup bench-tools
	DATABASE_URL=$(or $(DATABASE_URL),$(BENCH_DATABASE_URL)) $(VENV_BIN)/python -m bench.reads

# The webhook benchmark (ingestion against a bare endpoint, the inbox drain) on PostgreSQL, in
# a database of its own beside the same DATABASE_URL.
bench-webhooks: setup bench-tools
	DATABASE_URL=$(or $(DATABASE_URL),$(BENCH_DATABASE_URL)) $(VENV_BIN)/python -m bench.webhooks

run: setup-runtime
	$(VENV_BIN)/seatbill serve

lint: setup
	$(VENV_BIN)/ruff check seatbill stripe_emulator tests bench
	$(VENV_BIN)/ruff format --check seatbill stripe_emulator tests bench

typecheck: setup
	$(VENV_BIN)/mypy seatbill stripe_emulator

unit: setup browser node-tools
	$(VENV_BIN)/pytest

test: lint typecheck unit

# Regenerate the aerich migrations for every supported database after a model change.
migrations: setup
	$(VENV_BIN)/seatbill makemigrations $(or $(NAME),update)

# schema.graphql (committed, for clients' codegen) from the code; a test fails when it is stale.
schema: setup-runtime
	$(VENV_BIN)/seatbill schema > schema.graphql.tmp && mv schema.graphql.tmp schema.graphql

clean:
	rm -rf .venv .tools .mypy_cache .ruff_cache .pytest_cache

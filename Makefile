# InsureFlow — two commands do all set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
INSTANCE ?= instance
HOST ?= 127.0.0.1
PORT ?= 5000

VENDOR := webui/static/vendor
PO_FILES := $(wildcard webui/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)
STUDIO_SRC := $(wildcard webui/static_src/studio/*)
STUDIO_BUNDLE := $(VENDOR)/studio/studio-modeler.js

.PHONY: run test test-later fuzz bench bench-engine bench-http bench-pg bench-audit bench-chaos lint install install-test clean assets translations-update browser-deps faketime-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed assets
install-test: $(VENV)/.installed-test assets

## make assets: the web UI's libraries from npm (package-lock.json) copied to webui/static/vendor — served
## locally, no CDN — and the translations compiled
assets: $(VENDOR)/.copied $(STUDIO_BUNDLE) $(MO_FILES)

$(VENDOR)/.copied: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/bootstrap $(VENDOR)/bpmn-js
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/css/bootstrap.min.css.map \
	   node_modules/bootstrap/dist/js/bootstrap.bundle.min.js node_modules/bootstrap/dist/js/bootstrap.bundle.min.js.map \
	   $(VENDOR)/bootstrap/
	cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js $(VENDOR)/bpmn-js/
	cp -R node_modules/bpmn-js/dist/assets $(VENDOR)/bpmn-js/assets
	mkdir -p $(VENDOR)/dmn-js $(VENDOR)/properties-panel
	cp node_modules/dmn-js/dist/dmn-modeler.production.min.js $(VENDOR)/dmn-js/
	cp -R node_modules/dmn-js/dist/assets $(VENDOR)/dmn-js/assets
	cp node_modules/@bpmn-io/properties-panel/dist/assets/properties-panel.css $(VENDOR)/properties-panel/
	mkdir -p $(VENDOR)/chart.js
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/chart.js/
	touch $@

## the studio's modeler (bpmn-js + properties panel + InsureFlow's provider + bpmnlint), bundled by esbuild
$(STUDIO_BUNDLE): $(VENDOR)/.copied $(STUDIO_SRC)
	mkdir -p $(dir $@)
	node_modules/.bin/esbuild webui/static_src/studio/modeler.js --bundle --minify --format=iife --target=es2019 \
	  --log-level=warning --outfile=$@

$(MO_FILES): %.mo: %.po | $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -i $< -o $@

## make translations-update: collect the UI's texts into the .po files (then translate the new ones)
translations-update: | $(VENV)/.installed
	mkdir -p build
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ --no-location --sort-output -o build/messages.pot .
	$(BIN)/pybabel update -i build/messages.pot -d webui/translations --no-fuzzy-matching --ignore-obsolete

## make browser-deps: Debian's Chromium and CJK fonts for the browser tests (installed when root, as in CI)
browser-deps:
	@if ! dpkg -s chromium fonts-noto-cjk >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium and fonts-noto-cjk…" >&2; \
	    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >&2; \
	  else \
	    echo "chromium or fonts-noto-cjk missing and not root: the browser tests will fail" >&2; \
	  fi; \
	fi

## make run: install, initialise ./instance (SQLite, keys, demo data, bpmn/ deployed), serve on :5000
run: install
	$(BIN)/insureflow --instance $(INSTANCE) init --demo
	$(BIN)/insureflow --instance $(INSTANCE) serve --host $(HOST) --port $(PORT)

## make test: install what the tests need (PostgreSQL too, when root), check the code (ruff) and its layers
## (lint-imports, the contracts in pyproject.toml), run the whole suite on both databases, then fuzz the served API
test: install-test browser-deps
	@eval "$$(scripts/pg-test-server.sh)" && \
	  $(BIN)/ruff check . && \
	  $(BIN)/lint-imports && \
	  $(BIN)/python -m pytest -n 2 -q
	$(MAKE) --no-print-directory fuzz

## make fuzz: schemathesis against the served app (a fresh demo instance on a free loopback port) as admin, as a
## claims clerk and signed out, fixed seed, bounded examples; fails on any 5xx, an undocumented status, a body
## that breaks its schema or an undeclared content type (scripts/fuzz_api.py; reports in build/fuzz/)
FUZZ_EXAMPLES ?= 40
FUZZ_SEED ?= 20261207
fuzz: install-test
	$(BIN)/python scripts/fuzz_api.py --examples $(FUZZ_EXAMPLES) --seed $(FUZZ_SEED)

## make test-later: the date-sensitive tests again with the system clock moved 400 and 800 days ahead
## (libfaketime): the demo, inboxes, tasks, scheduling and the business calendar, the domain and every
## diagram's scenarios. SQLite only: a PostgreSQL server started outside faketime keeps the real date.
LATER_TESTS := tests/bpmn tests/domain tests/cli/test_demo.py tests/cli/test_cli_calendar.py \
  tests/e2e/test_ui_inbox.py tests/e2e/test_api_tasks.py tests/e2e/test_ui_task_page.py tests/unit/test_business_calendar.py
LATER_OFFSETS ?= +400d +800d
test-later: install-test faketime-deps
	@for offset in $(LATER_OFFSETS); do \
	  echo "== the date-sensitive tests with the clock moved $$offset: $$(faketime -f "$$offset" date -u +%F)" && \
	  FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "$$offset" $(BIN)/python -m pytest -n 2 -q -p no:cacheprovider -k "not postgresql" $(LATER_TESTS) \
	    || exit 1; \
	done

faketime-deps:
	@if ! command -v faketime >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing faketime…" >&2; \
	    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >&2; \
	  else \
	    echo "faketime missing and not root: install Debian's faketime package" >&2; exit 1; \
	  fi; \
	fi

## make bench: issue 16's goals table from one run (bench/goals.py, about 15 minutes: the engine alone, the claims
## path over HTTP on SQLite, memory after 10,000 claims, PostgreSQL with 1/2/4 workers); not part of make test.
## The single benchmarks stay reachable: bench-engine, bench-http, bench-pg, bench-audit, bench-chaos (10+ minutes).
bench: install-test
	@eval "$$(scripts/pg-test-server.sh)" && \
	  $(BIN)/python bench/goals.py --pg-url "$${INSUREFLOW_BENCH_PG_URL:-$$INSUREFLOW_TEST_PG_URL}"

bench-engine: install-test
	$(BIN)/python bench/engine_bench.py

bench-http: install-test
	$(BIN)/python bench/http_bench.py

bench-pg: install-test
	@eval "$$(scripts/pg-test-server.sh)" && \
	  $(BIN)/python bench/pg_scale_bench.py --pg-url "$${INSUREFLOW_BENCH_PG_URL:-$$INSUREFLOW_TEST_PG_URL}"

bench-audit: install-test
	$(BIN)/python bench/audit_bench.py --claims 10000

bench-chaos: install-test
	$(BIN)/python bench/payment_chaos.py

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .import_linter_cache *.egg-info $(VENDOR) node_modules tests/browser/artifacts
	rm -f $(MO_FILES)

# Groundswell: `make demo` runs the product on the embedded default; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install install-node chromium build demo test test-python test-js test-browser test-postgres bench package clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -c constraints.txt -r requirements-dev.txt -e .
	touch $(STAMP)

# npm ci refuses this lock file (it leaves out other platforms' optional packages), so: install from the lock.
$(NODE_STAMP): package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

install: $(STAMP)

install-node: $(NODE_STAMP)

# Debian's chromium drives the real-browser tests (a downloaded browser cannot be used here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }

demo: install build
	$(BIN)/groundswell db upgrade
	$(BIN)/groundswell demo

test: install install-node chromium test-python test-js test-browser

test-python: install
	$(BIN)/ruff check --no-cache server tests bench
	$(BIN)/python -m pytest

test-js: install-node
	npx tsc --noEmit -p tsconfig.json
	npx vitest run
	node widget/build.mjs && node widget/size.mjs

build: install-node
	npm run build

test-browser: install install-node chromium build
	npx playwright test

# The same Python suite against the machine's PostgreSQL (fails if it is unreachable).
test-postgres: install
	DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest

# The Zendesk app's marketplace zip, validated offline (APP_DOMAIN=your backend's host sets domainWhitelist).
package: install install-node
	npm run build
	$(BIN)/groundswell app validate dist/zendesk_app
	$(BIN)/groundswell app package --src dist/zendesk_app --out dist/groundswell-zendesk-app.zip $(if $(APP_DOMAIN),--allow-domain $(APP_DOMAIN))

bench: install
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) node_modules instance/*.db instance/*.db-* .pytest_cache test-results

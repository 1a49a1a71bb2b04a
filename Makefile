# The README's two commands are `make demo` and `make test`; each installs what it needs first.
# `make demo` installs only what the demo runs (the app's requirements.txt and Azurite); `make test` adds the
# development tools (requirements-dev.txt) and the card renderer.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME := $(VENV)/.runtime
DEV := $(VENV)/.dev

.PHONY: setup test lint demo preview bench clean chromium

setup: $(DEV) node_modules/.installed

$(RUNTIME): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(RUNTIME)

$(DEV): $(RUNTIME) requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(DEV)

# Azurite (storage emulator) is the npm package's dependency; the Adaptive Cards renderer and markdown-it (tests
# and previews) are its devDependencies.
node_modules/.azurite: package.json package-lock.json
	npm ci --omit=dev --no-audit --no-fund --loglevel=error
	touch node_modules/.azurite

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch node_modules/.installed node_modules/.azurite

# Headless Chromium renders the Teams cards in tests and previews (Debian package).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; browser tests will be skipped"; \
	  else echo "warning: chromium missing and cannot be installed; browser tests will be skipped"; fi; }

lint: setup
	$(VENV)/bin/ruff check .

# Two test processes (one per core; tests of one xdist_group run in one of them); the slow tests (a 2 GB copy) run
# in `make bench`.
test: setup chromium
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -m "not slow" -n 2 --dist loadgroup

demo: $(RUNTIME) node_modules/.azurite
	$(PY) -m devtools.demo

preview: setup chromium
	$(PY) -m devtools.preview --out preview

bench: setup
	$(PY) benchmarks/diagnose_large_log.py
	$(PY) benchmarks/sweep_scale.py
	$(PY) benchmarks/sweep_unhealthy_accounts.py
	$(PY) -m pytest -q -s -m slow

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache aib-archive aib-alerts preview .demo .bench

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

# uv resolves and installs the same releases as pip in seconds where pip takes minutes (checkov's tree); pip is
# the fallback where uv cannot be installed or fails. Both leave compiled bytecode, as pip does by default.
define install
	{ $(PY) -m pip install --quiet --disable-pip-version-check uv \
	  && $(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -r $(1); } \
	|| $(PY) -m pip install --quiet --disable-pip-version-check -r $(1)
endef

$(RUNTIME): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(call install,requirements.txt)
	touch $(RUNTIME)

$(DEV): $(RUNTIME) requirements-dev.txt
	$(call install,requirements-dev.txt)
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

# Three test processes on two cores: many tests wait on local servers and subprocesses, so a third process fills
# the idle time (timing tests measure CPU time, not wall time); tests of one xdist_group run in one process. The
# slow tests (a 2 GB copy, the scanner's timing measurements) run in `make bench`.
test: setup chromium
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -m "not slow" -n 3 --dist loadgroup

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

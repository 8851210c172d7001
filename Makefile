# The two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup system browser db demo clean lint lock axe static

# Exactly the versions in requirements.lock (every file checked against its hash), then this project.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

db: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable

demo: db
	$(PY) manage.py demo_world

# `make run` serves as production does (debug off: the app's own error pages, hashed static files
# through whitenoise), over plain HTTP on this machine, with a secret key generated once and kept
# in the virtualenv.
SECRET_KEY_FILE := $(VENV)/secret-key
RUN_ENV = DJANGO_DEBUG=0 DJANGO_HTTPS=0 DJANGO_SECRET_KEY="$$(cat $(SECRET_KEY_FILE))"

$(SECRET_KEY_FILE): | $(STAMP)
	$(PY) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@
	chmod 600 $@

static: $(STAMP) $(SECRET_KEY_FILE)
	$(RUN_ENV) $(PY) manage.py collectstatic --noinput --verbosity 0

## Set everything up and serve the dashboard with the demo world on http://127.0.0.1:8000
# The e-mail sender runs beside the server (its mail printed on the console) and stops with it.
run: demo static
	$(RUN_ENV) $(PY) manage.py send_outbox --loop & sender=$$!; \
	trap 'kill $$sender 2>/dev/null' EXIT INT TERM; \
	$(RUN_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

## Pin the dependencies: requirements.lock from pyproject.toml (extras test and dev), with hashes,
## for Python 3.11 on Linux. Keeps existing pins; LOCK_ARGS=--upgrade moves them to the newest.
lock:
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	@$(PY) -m uv --version >/dev/null 2>&1 || $(PY) -m pip install --quiet uv
	$(PY) -m uv pip compile pyproject.toml --extra test --extra dev --generate-hashes \
		--python-version 3.11 --python-platform linux --custom-compile-command "make lock" \
		--output-file requirements.lock --quiet $(LOCK_ARGS)

## Lint, format check and type check (CI runs it before the tests)
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# System packages the suite uses: a Chromium for the browser journeys, nginx (the production proxy,
# tests/test_slow_clients.py), Node.js and npm (axe-core). What is missing is installed with apt-get
# where it exists and we are root (or have sudo): Debian's `chromium`, `nginx`, `nodejs`, `npm`.
# Elsewhere: Playwright's own Chromium is downloaded, and nginx and npm must be installed by hand
# (the slow-client tests then skip, saying why).
system:
	@missing=""; \
	[ -n "$$CHROMIUM_PATH" ] || [ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if command -v apt-get >/dev/null && { [ "$$(id -u)" = 0 ] || command -v sudo >/dev/null; }; then \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		echo "Installing Debian's$$missing with apt-get"; \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else \
		echo "Missing:$$missing (no apt-get, or no root): install them, or see README.md"; \
	fi

# The browser journeys need Chromium: CHROMIUM_PATH, or Debian's /usr/bin/chromium (installed by
# `make system` where apt-get works); only elsewhere download Playwright's own build.
browser: $(STAMP) system
	@if [ -n "$$CHROMIUM_PATH" ] || [ -x /usr/bin/chromium ]; then \
		echo "Using system Chromium"; \
	else \
		echo "No system Chromium: downloading Playwright's"; \
		$(PY) -m playwright install chromium; \
	fi

# axe-core, which the browser tests inject into every page state (the version is pinned in
# package-lock.json; `npm ci` installs exactly it).
AXE_STAMP := node_modules/.installed
$(AXE_STAMP): package.json package-lock.json | system
	npm ci --no-audit --no-fund --silent
	touch $(AXE_STAMP)

axe: $(AXE_STAMP)

## Set everything up and run the whole test suite (browser journeys included)
test: browser $(AXE_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache node_modules

# Performance (docs/performance.md): on PostgreSQL, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench
.PHONY: world bench load
## Generate the large deterministic world to measure on (gen-* projects; --reset replaces it)
world: db
	$(PY) manage.py generate_world --reset $(WORLD_ARGS)

## Benchmark the production server (gunicorn) against the generated world
bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

## Load test: 50 simulated users for 60 s, then check the shares in the database
load: $(STAMP)
	$(PY) -m bench.load $(LOAD_ARGS)

## Upload benchmark: a generated 1 GiB file through gunicorn into the filesystem store, against md5sum ‖ sha512sum
.PHONY: bench-upload
bench-upload: $(STAMP)
	$(PY) -m bench.upload $(UPLOAD_ARGS)

## Slow clients: health-probe latency under 48 slow clients, gunicorn alone and behind nginx (deploy/nginx.conf)
.PHONY: bench-slow
bench-slow: $(STAMP)
	$(PY) -m bench.slow_clients $(SLOW_ARGS)

## Upstream Glance 33 with the same world, on loopback, for the side-by-side run (bench/glance_server.py):
## its own virtualenv outside the repo (GLANCE_VENV), database `glance`, the pool of gunicorn.conf.py
.PHONY: glance
glance: $(STAMP)
	$(PY) -m bench.glance_server $(GLANCE_ARGS)

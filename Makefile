# The two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup browser db demo clean axe static

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
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
run: demo static
	$(RUN_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

# A system Chromium (Debian's `chromium`) is used when present; elsewhere Playwright's own build.
browser: $(STAMP)
	@if [ -x /usr/bin/chromium ] || [ -n "$$CHROMIUM_PATH" ]; then echo "Using system Chromium"; \
	else $(PY) -m playwright install chromium; fi

# axe-core, which the browser tests inject into every page state (the version is pinned in
# package-lock.json; `npm ci` installs exactly it).
AXE_STAMP := node_modules/.installed
$(AXE_STAMP): package.json package-lock.json
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

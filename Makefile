# The two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup browser db demo clean

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

## Set everything up and serve the dashboard with the demo world on http://127.0.0.1:8000
# The e-mail sender runs beside the server (its mail printed on the console) and stops with it.
run: demo
	$(PY) manage.py send_outbox --loop & sender=$$!; \
	trap 'kill $$sender 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

# A system Chromium (Debian's `chromium`) is used when present; elsewhere Playwright's own build.
browser: $(STAMP)
	@if [ -x /usr/bin/chromium ] || [ -n "$$CHROMIUM_PATH" ]; then echo "Using system Chromium"; \
	else $(PY) -m playwright install chromium; fi

## Set everything up and run the whole test suite (browser journeys included)
test: browser
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache

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

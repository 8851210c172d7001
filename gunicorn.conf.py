"""gunicorn settings for production: `gunicorn dashboard.wsgi` (this file is read from the
working directory). Sized for a small machine (2 cores); every value can be overridden from the
environment (GUNICORN_BIND, GUNICORN_WORKERS, GUNICORN_THREADS, GUNICORN_TIMEOUT,
GUNICORN_FORWARDED_ALLOW_IPS).

In production two of these run behind nginx (deploy/nginx.conf, README "Production"): a pool for
pages and the API, and a pool for image data (uploads and downloads), each on its own address.

Django here is CPU-bound with short database waits: one process per core plus one, each with a
few threads to overlap those waits (threads share a process's GIL, so more do not add CPU).
"""

import os

cores = os.cpu_count() or 2

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", cores + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))  # large uploads stream through a worker
graceful_timeout = 30
keepalive = 5
# The proxies whose X-Forwarded-Proto gunicorn believes (wsgi.url_scheme): the same as Django's
# DJANGO_TRUSTED_PROXIES unless set apart; nobody when neither is set.
forwarded_allow_ips = os.environ.get(
    "GUNICORN_FORWARDED_ALLOW_IPS", os.environ.get("DJANGO_TRUSTED_PROXIES", "")
)
# Import Django once in the master; workers fork with it loaded (no database connection is
# opened at import).
preload_app = True
# Recycle workers now and then, so a slow leak cannot grow for ever.
max_requests = 20_000
max_requests_jitter = 2_000
# The application logs one JSON line per request (dashboard.request_log): no second access log.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Keep database connections across requests (one per thread): opening a PostgreSQL connection
# costs more than most pages.
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "600")
# gunicorn 24+ opens a control socket in $HOME by default; nothing here uses it.
control_socket_disable = True

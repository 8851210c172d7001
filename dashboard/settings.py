"""Settings, all read from the environment.

Development (the default) needs nothing set. Production sets at least
DJANGO_DEBUG=0, DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS and DATABASE_URL;
`manage.py check --deploy` then passes.
"""

import ipaddress
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-used-with-debug-on"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# The reverse proxies in front of the server (addresses or networks, e.g. "127.0.0.1" for nginx on
# the same machine): only a request from one of them may name the client's address
# (X-Forwarded-For, X-Real-IP) and scheme (X-Forwarded-Proto). See dashboard/proxy.py.
TRUSTED_PROXIES = env_list("DJANGO_TRUSTED_PROXIES", [])
try:
    for _proxy in TRUSTED_PROXIES:
        ipaddress.ip_network(_proxy, strict=False)
except ValueError as e:
    raise ImproperlyConfigured(f"DJANGO_TRUSTED_PROXIES: {e}") from None

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "dashboard",
    "images",
]

MIDDLEWARE = [
    # First: everything after it (the request log, the throttles) sees the client's address.
    "dashboard.proxy.ForwardedForMiddleware",
    "dashboard.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "dashboard.middleware.ContentSecurityPolicyMiddleware",
    "dashboard.api_responses.ApiResponseMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # NUL characters and lone surrogates in the path, query or form: 400 before anything reads them.
    "dashboard.hostile.HostileInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # The signed-in user, messages and htmx are the pages' business: the APIs (token only) skip
    # them (dashboard.middleware.pages_only).
    "dashboard.middleware.PageAuthenticationMiddleware",
    "dashboard.middleware.PageMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "dashboard.middleware.PageHtmxMiddleware",
    "dashboard.middleware.ScopeMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

# Jinja2 (dashboard/templating.py): compiled templates, named partials as blocks.
TEMPLATES = [
    {
        "BACKEND": "dashboard.templating.Jinja2",
        "NAME": "jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "dashboard.templating.environment",
            # (`request`, `csrf_input` and `csrf_token` come from the backend itself.)
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context_processors.shell",
            ],
        },
    },
]

# SQLite is the embedded default; DATABASE_URL (postgres://…) switches to PostgreSQL.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent use of the embedded database (docs/security.md): WAL lets readers run beside the one
    # writer; a writer waits for the lock (busy timeout, seconds) instead of failing with "database is
    # locked"; and every transaction takes the write lock when it begins (IMMEDIATE), because a
    # transaction that read first and then wants to write cannot wait: SQLite fails it at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": env_int("SQLITE_BUSY_TIMEOUT", 20),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Pages run short queries. PostgreSQL's JIT compiles a query whenever its *estimated* cost is
    # high (an OR branch that never runs is enough) and can spend hundreds of milliseconds on it.
    database_options = DATABASES["default"].setdefault("OPTIONS", {})
    options = ["-c jit=off"]
    # Prepared statements: with persistent connections (gunicorn.conf.py), a query run twice on a
    # connection is prepared, so PostgreSQL stops planning it anew for each request; planning was
    # most of the database time of a small request (docs/performance.md). Turn off behind a pooler
    # in transaction mode (PgBouncer), which cannot keep prepared statements.
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        database_options.update({"server_side_binding": True, "prepare_threshold": 2})
        # ...and use the statement's one generic plan from then on. Left to itself ("auto"),
        # PostgreSQL keeps planning a statement anew on every run whenever the generic plan's
        # *estimated* cost is a little above the custom plans' (the Images page's first-page UNION:
        # 1.0 ms of planning for 0.2 ms of execution, on every request). Every query here is written
        # for its generic plan (no parameter decides an index: access.py, listing.py), and
        # `python -m bench.explain` times both plans of every endpoint's queries to keep it so.
        options.append("-c plan_cache_mode=force_generic_plan")
    database_options.setdefault("options", " ".join(options))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "images:list"
LOGOUT_REDIRECT_URL = "login"

# Sign-in throttling (dashboard/throttle.py): attempts per (user name, client address) and per client
# address; past a limit one attempt per backoff period, doubling from LOGIN_BACKOFF_SECONDS up to
# LOGIN_BACKOFF_MAX_SECONDS. A counter is forgotten LOGIN_FAILURE_WINDOW seconds after its last attempt.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 50)
LOGIN_BACKOFF_SECONDS = env_int("LOGIN_BACKOFF_SECONDS", 30)
LOGIN_BACKOFF_MAX_SECONDS = env_int("LOGIN_BACKOFF_MAX_SECONDS", 15 * 60)
LOGIN_FAILURE_WINDOW = env_int("LOGIN_FAILURE_WINDOW", 60 * 60)

CACHES = {
    "default": {
        # The database cache is shared by every server process.
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "dashboard_cache",
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Glance's default member limit per image.
IMAGE_MEMBER_QUOTA = env_int("IMAGE_MEMBER_QUOTA", 128)
# Glance's image_property_quota and image_tag_quota: properties and tags per image.
IMAGE_PROPERTY_QUOTA = env_int("IMAGE_PROPERTY_QUOTA", 128)
IMAGE_TAG_QUOTA = env_int("IMAGE_TAG_QUOTA", 128)
IMAGES_PAGE_SIZE = env_int("IMAGES_PAGE_SIZE", 25)

# Django's database sessions, read with the signed-in user and their roles in one compiled query
# (dashboard/sessions.py), which the backend takes instead of reading the user again (dashboard/auth.py).
SESSION_ENGINE = "dashboard.sessions"
AUTHENTICATION_BACKENDS = ["dashboard.auth.SessionUserBackend"]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

if not DEBUG:
    # DJANGO_HTTPS=0 serves plain HTTP on this machine (`make run`): cookies without Secure, no redirect.
    HTTPS = env_bool("DJANGO_HTTPS", True)
    SESSION_COOKIE_SECURE = HTTPS
    CSRF_COOKIE_SECURE = HTTPS
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", HTTPS)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # probes speak plain HTTP to the server itself
    if TRUSTED_PROXIES:
        # The proxy terminates TLS; the header is removed from any other peer's requests.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# The benchmark's server: X-Query-Count and Server-Timing headers on every response.
REQUEST_TIMING_HEADERS = env_bool("DJANGO_REQUEST_TIMING_HEADERS", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
}

# Image data. IMAGE_STORE=filesystem keeps it under IMAGE_STORE_DIR; IMAGE_STORE=s3 in an
# S3-compatible bucket (multipart upload as the data streams).
IMAGE_STORE = os.environ.get("IMAGE_STORE", "filesystem")
if IMAGE_STORE not in {"filesystem", "s3"}:
    raise ImproperlyConfigured(f"IMAGE_STORE must be filesystem or s3, not {IMAGE_STORE!r}")
IMAGE_STORE_DIR = Path(os.environ.get("IMAGE_STORE_DIR") or BASE_DIR / "var" / "images")
IMAGE_STORE_S3_ENDPOINT_URL = os.environ.get("IMAGE_STORE_S3_ENDPOINT_URL", "")
IMAGE_STORE_S3_BUCKET = os.environ.get("IMAGE_STORE_S3_BUCKET", "images")
IMAGE_STORE_S3_ACCESS_KEY_ID = os.environ.get("IMAGE_STORE_S3_ACCESS_KEY_ID", "")
IMAGE_STORE_S3_SECRET_ACCESS_KEY = os.environ.get("IMAGE_STORE_S3_SECRET_ACCESS_KEY", "")
IMAGE_STORE_S3_REGION = os.environ.get("IMAGE_STORE_S3_REGION", "us-east-1")
IMAGE_STORE_S3_PART_SIZE = env_int("IMAGE_STORE_S3_PART_SIZE", 8 * 1024 * 1024)
# How much of a request body is read at a time while an upload streams.
IMAGE_UPLOAD_CHUNK_SIZE = env_int("IMAGE_UPLOAD_CHUNK_SIZE", 1024 * 1024)
# The largest upload accepted, sized or chunked (Glance's image_size_cap: 1 TiB).
IMAGE_UPLOAD_MAX_SIZE = env_int("IMAGE_UPLOAD_MAX_SIZE", 1024**4)
# While data streams, the image records that bytes are still arriving at most this often; an upload
# `saving` with no progress for IMAGE_UPLOAD_STALE_SECONDS is interrupted: the next upload in its
# project, or the recover_uploads command, puts it back to queued and frees its quota and data.
IMAGE_UPLOAD_PROGRESS_SECONDS = env_int("IMAGE_UPLOAD_PROGRESS_SECONDS", 15)
IMAGE_UPLOAD_STALE_SECONDS = env_int("IMAGE_UPLOAD_STALE_SECONDS", 300)
if IMAGE_UPLOAD_STALE_SECONDS < 2 * IMAGE_UPLOAD_PROGRESS_SECONDS:
    raise ImproperlyConfigured(
        "IMAGE_UPLOAD_STALE_SECONDS must be at least twice IMAGE_UPLOAD_PROGRESS_SECONDS"
    )

# Per-project image quotas (defaults; a platform admin overrides them per project). -1: unlimited.
IMAGE_QUOTA_COUNT_TOTAL = env_int("IMAGE_QUOTA_COUNT_TOTAL", 100)
IMAGE_QUOTA_SIZE_TOTAL = env_int("IMAGE_QUOTA_SIZE_TOTAL", 1024**4)
IMAGE_QUOTA_COUNT_UPLOADING = env_int("IMAGE_QUOTA_COUNT_UPLOADING", 5)

# Identity API tokens (the `openstack` client's): seconds from issue to expiry.
API_TOKEN_LIFETIME = env_int("API_TOKEN_LIFETIME", 12 * 60 * 60)

# E-mail (sharing notifications to the affected project's users, queued in the outbox table with the
# change and sent by `manage.py send_outbox`): printed on the console unless EMAIL_BACKEND says
# otherwise (django.core.mail.backends.smtp.EmailBackend + EMAIL_HOST…).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "cloud-dashboard@localhost")
SHARING_EMAILS = env_bool("SHARING_EMAILS", True)
# A message that cannot be sent is tried again after OUTBOX_RETRY_SECONDS, doubling each time, at most
# OUTBOX_MAX_ATTEMPTS times in all.
OUTBOX_RETRY_SECONDS = env_int("OUTBOX_RETRY_SECONDS", 60)
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8)

"""Where a request's time goes: N requests in-process under cProfile, own time grouped by layer.

    DATABASE_URL=postgres://… python -m bench.profile /project/images/            # as the browser
    DATABASE_URL=postgres://… python -m bench.profile /image/v2/images/{image} --api
    python -m bench.profile "/project/images/{shared_image}/?tab=members" --as owner --top 25

Against the generated world (generate_world), signed in as its typical project (`--as browser` or
`owner`); `{image}` and `{shared_image}` in PATH are that project's image and the ~20-member shared
image. Production settings (DEBUG off, persistent connection) and Django's test client: no HTTP or
server process, so the figures are the application's CPU time plus its waits on the database.
"""

import argparse
import cProfile
import json
import os
import pstats
import secrets
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (layer, path fragments): a function's own time goes to the first layer one of whose fragments is
# in its file's path. Order matters: the SQL compiler before the rest of the ORM.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("DB execute (driver, backend)", ("/psycopg", "/sqlite3", "django/db/backends/", "{method 'execute")),
    ("ORM: SQL compilation", ("django/db/models/sql/compiler.py",)),
    ("ORM: model instances", ("django/db/models/base.py", "django/db/models/fields/related_descriptors")),
    ("ORM: queryset building", ("django/db/",)),
    (
        "templates and formatting",
        (
            "django/template/",
            "/jinja2/",
            "/markupsafe/",
            "templates/",
            "dashboard/templating.py",
            "images/template_helpers.py",
            "django/utils/html.py",
            "django/utils/safestring.py",
            "django/utils/formats.py",
            "django/utils/dateformat.py",
            "django/utils/numberformat.py",
            "django/utils/translation/",
            "django/utils/functional.py",
        ),
    ),
    ("JSON", ("/json/", "{built-in method _json", "{method 'encode' of '_json")),
    (
        "middleware and request handling",
        (
            "django/middleware/",
            "django/contrib/sessions/",
            "django/contrib/auth/",
            "django/contrib/messages/",
            "django/core/handlers/",
            "django/http/",
            "django/urls/",
            "django_htmx",
            "whitenoise",
            "dashboard/middleware",
            "dashboard/request_log",
            "django/core/signing",
            "django/test/",
        ),
    ),
    ("view code (this project)", (f"{ROOT}/images/", f"{ROOT}/dashboard/")),
]
OTHER = "other (Python, stdlib, Django core)"


def layer_of(filename: str, function: str) -> str:
    where = f"{filename} {function}" if filename != "~" else function
    for name, fragments in LAYERS:
        if any(fragment in where for fragment in fragments):
            return name
    return OTHER


def setup(database_url: str | None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.update(
        {
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_LOG_LEVEL": "WARNING",
            "DJANGO_REQUEST_TIMING_HEADERS": "1",
        }
    )
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "600")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def signed_in_client(who: str, api: bool):
    """Django's test client signed in as the typical project: a session, or an API token."""
    from django.test import Client

    from images.management.commands.generate_world import PASSWORD, typical_projects

    world = typical_projects()
    user = world[who]
    client = Client()
    if api:
        document = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": user["user"], "domain": {"id": "default"}, "password": PASSWORD}
                    },
                },
                "scope": {"project": {"id": user["project_id"]}},
            }
        }
        response = client.post(
            "/identity/v3/auth/tokens", json.dumps(document), content_type="application/json"
        )
        if response.status_code != 201:
            raise SystemExit(f"token for {user['user']}: {response.status_code}")
        client.defaults["HTTP_X_AUTH_TOKEN"] = response["X-Subject-Token"]
    else:
        response = client.post("/auth/login/", {"username": user["user"], "password": PASSWORD})
        if response.status_code != 302:
            raise SystemExit(f"login of {user['user']} failed: {response.status_code}")
    return client, world


def profile(path: str, *, api: bool, who: str, requests: int, warmup: int) -> tuple[pstats.Stats, dict]:
    """Warm up, time `requests` requests without the profiler (wall and this process's CPU time),
    then profile as many."""
    from django.db import connection

    client, world = signed_in_client(who, api)
    path = path.format(image=world[who]["image_id"], shared_image=world["owner"]["image_id"])
    for _ in range(warmup):
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: {response.status_code}")
    queries = client.get(path).get("X-Query-Count", "?")
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        client.get(path)
    timing = {
        "path": path,
        "vendor": connection.vendor,
        "queries": queries,
        "wall_ms": (time.perf_counter() - wall) / requests * 1000,
        "cpu_ms": (time.process_time() - cpu) / requests * 1000,
    }
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        client.get(path)
    profiler.disable()
    return pstats.Stats(profiler), timing


def by_layer(stats: pstats.Stats) -> dict[str, float]:
    """Own time (seconds) per layer."""
    totals: dict[str, float] = defaultdict(float)
    for (filename, _line, function), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        totals[layer_of(filename, function)] += tottime
    return dict(totals)


def cumulative(stats: pstats.Stats, names: list[str], requests: int) -> list[str]:
    """Cumulative time (callees included) of the functions with these names, e.g. header_counts."""
    profiled = sum(by_layer(stats).values())
    lines = []
    for (filename, line, function), (_cc, nc, _tt, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if function in names:
            short = filename.replace(str(ROOT) + "/", "").split("site-packages/")[-1]
            lines.append(
                f"  {short}:{line} {function}: {cumtime / requests * 1000:.2f} ms per request with callees, "
                f"{cumtime / profiled * 100:.0f} % ({nc / requests:.1f} calls)"
            )
    return lines


def report(stats: pstats.Stats, timing: dict, requests: int, top: int) -> str:
    totals = by_layer(stats)
    profiled = sum(totals.values())
    lines = [
        f"GET {timing['path']} ({timing['vendor']}, {timing['queries']} queries): without the profiler "
        f"{timing['wall_ms']:.2f} ms per request, {timing['cpu_ms']:.2f} ms of it this process's CPU "
        f"(load average {os.getloadavg()[0]:.1f}); under the profiler {profiled / requests * 1000:.2f} ms",
        "",
        "| layer | ms per request | share |",
        "|---|---|---|",
    ]
    for name, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        lines.append(f"| {name} | {seconds / requests * 1000:.2f} | {seconds / profiled * 100:.0f} % |")
    if top:
        lines += ["", f"Top {top} functions by own time (ms per request, layer):"]
        rows = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:top]  # type: ignore[attr-defined]
        for (filename, line, function), (_cc, nc, tottime, _ct, _callers) in rows:
            short = filename.replace(str(ROOT) + "/", "").split("site-packages/")[-1]
            lines.append(
                f"  {tottime / requests * 1000:6.3f}  {nc / requests:7.1f} calls  {short}:{line} {function}"
                f"  [{layer_of(filename, function)}]"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="e.g. /project/images/ or /image/v2/images/{image}")
    parser.add_argument("--api", action="store_true", help="sign in with an API token instead of a session")
    parser.add_argument("--as", dest="who", choices=["browser", "owner"], default="browser")
    parser.add_argument("-n", "--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--top", type=int, default=0, help="also list the top functions by own time")
    parser.add_argument(
        "--cumulative", nargs="*", default=["header_counts"], help="functions to show with their callees"
    )
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args(argv)
    setup(args.database_url)
    stats, timing = profile(args.path, api=args.api, who=args.who, requests=args.requests, warmup=args.warmup)
    print(f"As the typical {args.who}, {args.requests} requests each")
    print(report(stats, timing, args.requests, args.top))
    print("\n".join(cumulative(stats, args.cumulative, args.requests)))


if __name__ == "__main__":
    main()

"""Serve upstream Glance 33 on loopback with this benchmark's world, for the side-by-side run.

    python -m bench.glance_server [--venv DIR] [--port N] [--reload]      # or: make glance

1. a virtualenv outside this repository (`--venv`, default `$GLANCE_VENV` or
   ~/.cache/glance-bench/venv) with `glance==33.0.0`, gunicorn and psycopg2, every version pinned
   by bench/glance-constraints.txt — a benchmark tool only, not part of requirements.lock;
2. a database `glance` on the same PostgreSQL (`--glance-db`), with Glance's schema
   (`glance-manage db_sync`), loaded with this world (bench/glance_world.py: the same image IDs,
   so `--glance-image`/`--glance-shared-image` need not be given) unless it already holds it;
3. its configuration in a temporary directory (removed on exit): a filesystem store there,
   PostgreSQL, and Glance's own paste pipeline for Keystone minus `authtoken` — Glance's
   ContextMiddleware then builds the request context from the identity headers that
   keystonemiddleware would have set (X-Identity-Status, X-Project-Id, X-Roles), which the
   benchmark sends with `--glance-identity-headers`. A real deployment also validates a token per
   request (keystonemiddleware, cached); that only adds to Glance's time, so the ratio measured
   here is conservative. (Glance's `noauth` flavor would make every request an admin's, which
   lists every image of every project: not the same work as a project's catalog.)
4. Glance's WSGI application (`glance.wsgi.api:application`, what Glance ships for uWSGI or
   mod_wsgi) under the same gunicorn as this server, with the same workers and threads
   (gunicorn.conf.py: cores + 1 workers × 4 gthread threads), bound to 127.0.0.1 only.

It stays in the foreground until interrupted, after printing the URL and the benchmark command.
Only this world's database is read (`--database-url`, default `$DATABASE_URL`).
"""

import argparse
import configparser
import os
import runpy
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg

from . import glance_world
from .glance import identity_headers
from .server import HOST, ROOT, free_port, stop_process, typical_world

GLANCE_VERSION = "33.0.0"
CONSTRAINTS = Path(__file__).with_name("glance-constraints.txt")
DEFAULT_VENV = Path(os.environ.get("GLANCE_VENV") or Path.home() / ".cache" / "glance-bench" / "venv")
STORE = "fs"
# Glance's own pipeline for Keystone, without token validation: identity comes from the headers.
FLAVOR = "trusted-headers"


def ensure_venv(venv: Path) -> None:
    """Glance, gunicorn and psycopg2 at the pinned versions in `venv` (created if missing)."""
    python = venv / "bin" / "python"
    check = [
        str(python),
        "-c",
        f"import glance.version as v, sys; sys.exit(v.version_info.version_string() != '{GLANCE_VERSION}')",
    ]
    if python.exists() and subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return
    print(f"Installing Glance {GLANCE_VERSION} into {venv}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run(
        [*pip, "-c", str(CONSTRAINTS), f"glance=={GLANCE_VERSION}", "gunicorn", "psycopg2-binary"], check=True
    )


def sqlalchemy_url(url: str) -> str:
    """postgres://… as SQLAlchemy's psycopg2 dialect names it."""
    parts = urlparse(url)
    return urlunparse(parts._replace(scheme="postgresql+psycopg2"))


def ensure_database(url: str) -> None:
    """CREATE DATABASE for `url` on its server, if it does not exist."""
    parts = urlparse(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunparse(parts._replace(path="/postgres")), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
            print(f"Created database {name}", flush=True)


def paste_ini(venv: Path) -> str:
    """Glance's shipped glance-api-paste.ini with one more flavor: Keystone's pipeline minus authtoken."""
    shipped = next(venv.glob("etc/glance/glance-api-paste.ini"), None) or next(
        venv.glob("lib/python*/site-packages/etc/glance/glance-api-paste.ini")
    )
    ini = configparser.ConfigParser(interpolation=None)
    ini.optionxform = str  # type: ignore[assignment,method-assign]
    ini.read(shipped)
    keystone = ini["composite:api"]["keystone"].split()
    ini["composite:api"][FLAVOR] = " ".join(name for name in keystone if name != "authtoken")
    ini[f"composite:glance-api-{FLAVOR}"] = dict(ini["composite:glance-api-keystone"])
    lines = []
    for section in ini.sections():
        lines.append(f"[{section}]")
        lines += [f"{key} = {value}" for key, value in ini[section].items()]
        lines.append("")
    return "\n".join(lines)


def glance_conf(state: Path, port: int, glance_db: str) -> str:
    return f"""[DEFAULT]
enabled_backends = {STORE}:file
worker_self_reference_url = http://{HOST}:{port}
log_file = {state / "glance-api.log"}
debug = false

[database]
connection = {sqlalchemy_url(glance_db)}

[paste_deploy]
flavor = {FLAVOR}
config_file = {state / "glance-api-paste.ini"}

[glance_store]
default_backend = {STORE}

[{STORE}]
filesystem_store_datadir = {state / "images"}

[os_glance_staging_store]
filesystem_store_datadir = {state / "staging"}

[os_glance_tasks_store]
filesystem_store_datadir = {state / "tasks"}

[oslo_concurrency]
lock_path = {state / "lock"}
"""


def gunicorn_conf(state: Path, port: int, workers: int, threads: int) -> str:
    """This server's gunicorn settings, but not preloaded: Glance opens its database at import."""
    return f"""bind = "{HOST}:{port}"
workers = {workers}
worker_class = "gthread"
threads = {threads}
timeout = 60
keepalive = 5
preload_app = False
accesslog = None
errorlog = "{state / "gunicorn.log"}"
loglevel = "info"
control_socket_disable = True
"""


def our_pool() -> tuple[int, int]:
    """Workers and threads as gunicorn.conf.py (and so the benchmark's server) sets them."""
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return conf["workers"], conf["threads"]


def wait_ready(url: str, headers: dict[str, str], process: subprocess.Popen, timeout: float = 120) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise SystemExit(f"Glance exited with {process.returncode}: see its logs")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def main(argv: list[str] | None = None) -> None:
    workers, threads = our_pool()
    parser = argparse.ArgumentParser(
        prog="python -m bench.glance_server", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--venv", type=Path, default=DEFAULT_VENV, help="Glance's virtualenv (env GLANCE_VENV)"
    )
    parser.add_argument("--port", type=int, default=0, help="on 127.0.0.1 (default: a free one)")
    parser.add_argument("--glance-db", default="postgres://postgres@127.0.0.1:5432/glance")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench"),
        help="this world's database, only read (env DATABASE_URL)",
    )
    parser.add_argument("--reload", action="store_true", help="load the world even if Glance's DB has it")
    parser.add_argument("--workers", type=int, default=workers, help="default: as gunicorn.conf.py")
    parser.add_argument("--threads", type=int, default=threads, help="default: as gunicorn.conf.py")
    args = parser.parse_args(argv)

    venv = args.venv.expanduser().resolve()
    ensure_venv(venv)
    ensure_database(args.glance_db)
    port = args.port or free_port()
    with tempfile.TemporaryDirectory(prefix="glance-bench-") as tmp:
        state = Path(tmp)
        for name in ("images", "staging", "tasks", "lock"):
            (state / name).mkdir()
        conf = state / "glance-api.conf"
        conf.write_text(glance_conf(state, port, args.glance_db))
        (state / "glance-api-paste.ini").write_text(paste_ini(venv))
        (state / "gunicorn.conf.py").write_text(gunicorn_conf(state, port, args.workers, args.threads))
        subprocess.run(
            [str(venv / "bin" / "glance-manage"), "--config-file", str(conf), "db_sync"],
            check=True,
            capture_output=True,
        )
        with (
            psycopg.connect(args.database_url, options=glance_world.READ_ONLY) as source,
            psycopg.connect(args.glance_db, autocommit=True) as target,
        ):
            if args.reload or not glance_world.holds_world(source, target):
                glance_world.load(source, target, store=STORE)
        serve(venv, state, port, args)


def serve(venv: Path, state: Path, port: int, args: argparse.Namespace) -> None:
    env = {**os.environ, "OS_GLANCE_CONFIG_DIR": str(state)}
    command = [
        str(venv / "bin" / "gunicorn"),
        "--config",
        str(state / "gunicorn.conf.py"),
        "glance.wsgi.api:application",
    ]
    process = subprocess.Popen(command, cwd=state, env=env)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        world = typical_world({**os.environ, "DATABASE_URL": args.database_url})
        browser = world["browser"]
        url = f"http://{HOST}:{port}"
        wait_ready(
            f"{url}/v2/images/{browser['image_id']}",
            identity_headers(browser["project_id"], browser["user"]),
            process,
        )
        print(
            f"Glance {GLANCE_VERSION} serves this world at {url} (gunicorn pid {process.pid},"
            f" {args.workers} workers × {args.threads} threads; logs in {state}). Measure side by side with:\n"
            f"  DATABASE_URL={args.database_url} python -m bench --only api"
            f" --glance-url {url} --glance-identity-headers",
            flush=True,
        )
        process.wait()
    finally:
        stop_process(process, timeout=30)


if __name__ == "__main__":
    main()

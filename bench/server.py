"""The production server on loopback, and a small HTTP client for the benchmark and load test.

Only the standard library: http.client with keep-alive, cookies kept by hand, threads.
"""

import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def manage(*args: str, env: dict | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env or os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def typical_world(env: dict | None = None) -> dict:
    """The generated world's typical projects and users (generate_world --typical)."""
    return json.loads(manage("generate_world", "--typical", env=env).strip().splitlines()[-1])


def production_env(database_url: str, **extra: str) -> dict:
    env = os.environ.copy()
    env.update(
        {
            "DATABASE_URL": database_url,
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": env.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": HOST,
            # Plain HTTP on loopback: no redirect to HTTPS (a proxy would terminate TLS).
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_REQUEST_TIMING_HEADERS": "1",
            "DJANGO_LOG_LEVEL": env.get("DJANGO_LOG_LEVEL", "WARNING"),
        }
    )
    env.update(extra)
    return env


def stop_process(process: subprocess.Popen | None, *, timeout: float) -> None:
    """Terminate a server process, killing it if it has not exited after `timeout` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Server:
    """gunicorn with gunicorn.conf.py and production settings, on a free loopback port."""

    database_url: str
    workers: int | None = None
    threads: int | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    log: Path | None = None

    @property
    def base(self) -> tuple[str, int]:
        return HOST, self.port

    def start(self) -> "Server":
        env = production_env(self.database_url, GUNICORN_BIND=f"{HOST}:{self.port}")
        if self.workers:
            env["GUNICORN_WORKERS"] = str(self.workers)
        if self.threads:
            env["GUNICORN_THREADS"] = str(self.threads)
        # The schema as the code expects it (a no-op when up to date), and the static manifest.
        manage("migrate", "--noinput", env=env)
        manage("createcachetable", env=env)
        manage("collectstatic", "--noinput", env=env)
        self.log = Path(tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")[1])
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "dashboard.wsgi"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{self.log.read_text()}")
            try:
                if Client(self.base).get("/healthz").status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit("gunicorn did not become healthy in 30 s")

    @property
    def pid(self) -> int:
        """The gunicorn master's process ID (once started)."""
        if self.process is None:
            raise RuntimeError("the server is not started")
        return self.process.pid

    def stop(self) -> None:
        stop_process(self.process, timeout=20)

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str]
    seconds: float

    @property
    def queries(self) -> int | None:
        value = self.headers.get("x-query-count")
        return int(value) if value is not None else None

    @property
    def server_ms(self) -> float | None:
        match = re.search(r"app;dur=([\d.]+)", self.headers.get("server-timing", ""))
        return float(match.group(1)) if match else None

    def text(self) -> str:
        return self.body.decode()


CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Client:
    """One keep-alive connection with its own cookies (a browser, more or less)."""

    def __init__(self, base: tuple[str, int], headers: dict | None = None):
        self.base = base
        self.cookies: dict[str, str] = {}
        self.headers = headers or {}
        self.conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> Response:
        all_headers = {"Host": f"{self.base[0]}:{self.base[1]}", **self.headers, **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(*self.base, timeout=60)
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=all_headers)
                raw = self.conn.getresponse()
                data = raw.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection: open a new one, once.
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            seconds = time.perf_counter() - started
            break
        for name, value in raw.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        if raw.getheader("Connection", "").lower() == "close" and self.conn is not None:
            self.conn.close()
            self.conn = None
        headers_lower = {k.lower(): v for k, v in raw.getheaders()}
        return Response(raw.status, data, headers_lower, seconds)

    def get(self, path: str, headers: dict | None = None) -> Response:
        return self.request("GET", path, headers=headers)

    def post_form(self, path: str, fields: dict, headers: dict | None = None) -> Response:
        body = urlencode(fields).encode()
        form_headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        if "csrftoken" in self.cookies:
            form_headers.setdefault("X-CSRFToken", self.cookies["csrftoken"])
        return self.request("POST", path, body=body, headers=form_headers)

    def post_json(self, path: str, document: dict) -> Response:
        body = json.dumps(document).encode()
        return self.request("POST", path, body=body, headers={"Content-Type": "application/json"})

    def login(self, username: str, password: str) -> None:
        """Sign in through the real login page: its CSRF cookie and token, then the form post."""
        page = self.get("/auth/login/")
        match = CSRF_INPUT.search(page.text())
        if page.status != 200 or not match:
            raise RuntimeError(f"login page: {page.status}")
        response = self.post_form(
            "/auth/login/",
            {"username": username, "password": password, "csrfmiddlewaretoken": match.group(1)},
        )
        if response.status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"login of {username} failed: {response.status}")

    def api_token(self, username: str, password: str, project_id: str) -> str | None:
        """An Identity API token (POST /identity/v3/auth/tokens), or None without the API."""
        document = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": username, "domain": {"id": "default"}, "password": password}
                    },
                },
                "scope": {"project": {"id": project_id}},
            }
        }
        response = self.post_json("/identity/v3/auth/tokens", document)
        if response.status == 404:
            return None
        if response.status != 201:
            raise RuntimeError(f"token for {username}: {response.status} {response.body[:200]!r}")
        return response.headers["x-subject-token"]

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)

"""The production topology against slow clients: real nginx with deploy/nginx.conf in front of two
real gunicorn pools (pages, image data), on free loopback ports.

Clients come from many loopback addresses (all of 127.0.0.0/8 is this machine), so that one test
can be an attacker with many addresses, a bystander and the proxy at once. The proxy's client
timeout is shortened to 2 s (production: 10 s) to keep the file short.
"""

import hashlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.proxy import Nginx, Tricklers, body_trickle, connect, header_trickle, nginx_binary
from bench.server import HOST, free_port
from tests.api.conftest import token_over_http

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 2  # the proxy's client timeout in these tests, seconds
CONN_LIMIT = 6
MiB = 1024 * 1024

pytestmark = pytest.mark.skipif(
    nginx_binary() is None, reason="nginx is not installed (Debian: apt-get install nginx)"
)


def _database_url(scratch: Path) -> Iterator[str]:
    """A fresh database for the servers: a new PostgreSQL database when the suite runs on
    PostgreSQL (dropped afterwards), an SQLite file otherwise."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{scratch / 'db.sqlite3'}"
        return
    import psycopg

    name = f"slow_clients_{secrets.token_hex(4)}"
    server_url = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server_url}/{name}"
    finally:
        with psycopg.connect(f"{server_url}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


SETUP = """
import json
from django.core.management import call_command
call_command("migrate", "--noinput", verbosity=0)
call_command("createcachetable")
from django.contrib.auth import get_user_model
from dashboard.models import Project, Role, RoleAssignment
from images.models import Image, Status
project = Project.objects.create(name="platform")
user = get_user_model().objects.create_user(username="alice", password="pw-for-the-proxy-0123")
RoleAssignment.objects.create(user=user, project=project, role=Role.MEMBER)
image = Image.objects.create(name="big", owner=project, status=Status.QUEUED, disk_format="raw",
                             container_format="bare")
print(json.dumps({"image": str(image.pk)}))
"""

PROXY_PASSWORD = "pw-for-the-proxy-0123"


class Pools:
    """The two gunicorn pools, their environment, logs and store."""

    def __init__(self, scratch: Path, database_url: str):
        self.scratch = scratch
        self.store = scratch / "store"
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_", "DATABASE_"))
        }
        self.env.update(
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY="a-production-like-secret-key-of-more-than-fifty-characters-0123456789",
            DJANGO_ALLOWED_HOSTS=HOST,
            DJANGO_SECURE_SSL_REDIRECT="0",
            # nginx connects from 127.0.0.1; the test's clients come from other loopback addresses.
            DJANGO_TRUSTED_PROXIES="127.0.0.1",
            DJANGO_LOG_LEVEL="INFO",  # the request log: one JSON line per request, with the address
            DATABASE_URL=database_url,
            IMAGE_STORE="filesystem",
            IMAGE_STORE_DIR=str(self.store),
        )
        self.pages = (HOST, free_port())
        self.data = (HOST, free_port())
        self.processes: list[subprocess.Popen] = []

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def log(self, pool: str) -> list[dict]:
        lines = (self.scratch / f"{pool}.log").read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith('{"method"')]

    def start(self) -> None:
        # One process (each start of Django costs seconds on a busy machine): schema, cache
        # table, and the user, project and queued image the upload test uses.
        self.setup = json.loads(self.manage("shell", "-c", SETUP).strip().splitlines()[-1])
        # Small pools, as a small machine would have: two threads for pages, four for data.
        for name, (host, port), threads in (("pages", self.pages, 2), ("data", self.data, 4)):
            env = {
                **self.env,
                "GUNICORN_BIND": f"{host}:{port}",
                "GUNICORN_WORKERS": "1",
                "GUNICORN_THREADS": str(threads),
            }
            with (self.scratch / f"{name}.log").open("w") as out:
                self.processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "gunicorn", "dashboard.wsgi"],
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=out,
                    )
                )
        for address in (self.pages, self.data):
            for _ in range(150):
                assert all(p.poll() is None for p in self.processes), (self.scratch / "pages.log").read_text()
                try:
                    if get(address, "/healthz", source=HOST)[0] == 200:
                        break
                except OSError:
                    time.sleep(0.1)
            else:
                pytest.fail("gunicorn did not start")

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown
        for process in self.processes:
            process.wait(timeout=20)


def get(
    base: tuple[str, int], path: str, *, source: str, headers: dict | None = None, timeout: float = 10
) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection(*base, timeout=timeout, source_address=(source, 0))
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def pools() -> Iterator[Pools]:
    with tempfile.TemporaryDirectory(prefix="slow-clients-") as scratch:
        for database_url in _database_url(Path(scratch)):
            pools = Pools(Path(scratch), database_url)
            try:
                pools.start()
                yield pools
            finally:
                pools.stop()


@pytest.fixture(scope="module")
def proxy(pools) -> Iterator[Nginx]:
    with Nginx(pools.pages, pools.data, client_timeout=f"{TIMEOUT}s", conn_limit=CONN_LIMIT) as nginx:
        yield nginx


def connections_to(port: int) -> int:
    """Established TCP connections to a loopback port, from the client's side (/proc/net/tcp)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port = int(fields[2].split(":")[1], 16)
        if remote_port == port and fields[3] == "01":
            count += 1
    return count


def wait_closed(sock: socket.socket, *, within: float) -> bool:
    """Whether the server closes the connection within `within` seconds (reading what it sends)."""
    sock.settimeout(within)
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            if sock.recv(4096) == b"":
                return True
    except TimeoutError:
        return False
    except OSError:
        return True  # reset
    return False


def test_health_answers_while_48_slow_clients_hold_connections(proxy, pools):
    with Tricklers(proxy.base, 48, interval=0.3) as slow:
        time.sleep(1)  # every slow client has sent its opening, the bodies some bytes
        statuses = []
        for _ in range(10):
            assert slow.open_now() >= 40
            # A generous bound (the proxy's own client timeout and more), not a timing: the
            # probe must answer at all while the slow connections are open.
            statuses.append(get(proxy.base, "/healthz", source="127.0.0.3", timeout=3 * TIMEOUT)[0])
            time.sleep(0.15)
        assert statuses == [200] * 10
        # nginx holds the slow requests itself: it opened no connection to the pages pool for them
        # (the probes, one at a time, need one or two).
        assert connections_to(pools.pages[1]) <= 4


def test_a_client_trickling_its_header_or_pausing_its_body_is_cut_off(proxy):
    host = f"{proxy.base[0]}:{proxy.base[1]}"
    header_head, header_rest = header_trickle(host)
    trickler = connect(proxy.base, source="127.0.0.4")
    trickler.sendall(header_head)
    body_head, body_rest = body_trickle(host)
    pauser = connect(proxy.base, source="127.0.0.5")
    pauser.sendall(body_head + body_rest[:10])
    # The header trickler keeps sending, a byte every 0.2 s: its header still never completes
    # within the proxy's header time, which is a total, so it is closed all the same.
    closed = False
    deadline = time.monotonic() + 4 * TIMEOUT
    sent = 0
    trickler.settimeout(0.2)
    while time.monotonic() < deadline and not closed:
        try:
            trickler.send(header_rest[sent : sent + 1])
            sent += 1
            closed = trickler.recv(4096) == b""
        except TimeoutError:
            continue
        except OSError:
            closed = True
    assert closed, f"a client sent {sent} header bytes over {4 * TIMEOUT} s and was not cut off"
    assert wait_closed(pauser, within=4 * TIMEOUT), "a body paused longer than the timeout was kept"
    trickler.close()
    pauser.close()


def test_requests_in_progress_are_limited_per_address(proxy):
    host = f"{proxy.base[0]}:{proxy.base[1]}"
    head, rest = body_trickle(host)
    held = []
    for _ in range(CONN_LIMIT):
        sock = connect(proxy.base, source="127.0.0.6")
        sock.sendall(head + rest[:10])  # a request in progress: the body is still arriving
        held.append(sock)
    try:
        time.sleep(0.3)
        assert get(proxy.base, "/healthz", source="127.0.0.6")[0] == 429
        assert get(proxy.base, "/healthz", source="127.0.0.7")[0] == 200  # another address
    finally:
        for sock in held:
            sock.close()


def test_a_large_upload_streams_through_the_proxy_to_the_data_pool(proxy, pools):
    image_id = pools.setup["image"]
    connection = http.client.HTTPConnection(*proxy.base, timeout=30, source_address=("127.0.0.8", 0))
    token = token_over_http(connection, "alice", "platform", PROXY_PASSWORD)
    connection.close()

    # Larger than a page request may be (4 MB), and sent in two halves: the first half must
    # reach the store while the second is still with the client, so the proxy streams it
    # instead of spooling the body first.
    data = os.urandom(12 * MiB + 5)
    upload = connect(proxy.base, source="127.0.0.8", timeout=60)
    upload.sendall(
        (
            f"PUT /image/v2/images/{image_id}/file HTTP/1.1\r\nHost: {HOST}:{proxy.port}\r\n"
            f"X-Auth-Token: {token}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        ).encode()
    )
    half = len(data) // 2
    upload.sendall(data[:half])
    arrived = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and arrived < 2 * MiB:
        arrived = max((p.stat().st_size for p in pools.store.glob(f".{image_id}.*.part")), default=0)
        time.sleep(0.05)
    assert arrived >= 2 * MiB, "the first half of the body did not reach the store before the rest was sent"
    upload.sendall(data[half:])
    answer = b""
    while chunk := upload.recv(65536):
        answer += chunk
    upload.close()
    assert answer.startswith(b"HTTP/1.1 204"), answer[:300]
    assert hashlib.sha256((pools.store / image_id).read_bytes()).digest() == hashlib.sha256(data).digest()
    uploads = [e for e in pools.log("data") if e["method"] == "PUT"]
    assert [(e["path"], e["status"], e["address"]) for e in uploads] == [
        (f"/image/v2/images/{image_id}/file", 204, "127.0.0.8")
    ]
    assert [e for e in pools.log("pages") if e["method"] == "PUT"] == []

    # A page or API request body is bounded by the proxy.
    too_big = http.client.HTTPConnection(*proxy.base, timeout=30, source_address=("127.0.0.8", 0))
    too_big.request(
        "POST",
        "/identity/v3/auth/tokens",
        b"{" + b" " * (5 * MiB) + b"}",
        {"Content-Type": "application/json"},
    )
    assert too_big.getresponse().status == 413
    too_big.close()


def test_the_client_address_is_the_proxy_s_view_never_a_forged_header(proxy, pools):
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9", "X-Forwarded-Proto": "https"}
    # Through nginx from 127.0.0.9: nginx replaces the forged headers with what it saw.
    status, headers, _ = get(proxy.base, "/healthz", source="127.0.0.9", headers=forged)
    assert status == 200
    assert "strict-transport-security" not in headers  # not taken for HTTPS
    # Straight to gunicorn from 127.0.0.9, which is no trusted proxy: the headers are ignored.
    status, headers, _ = get(pools.pages, "/healthz", source="127.0.0.9", headers=forged)
    assert status == 200
    assert "strict-transport-security" not in headers
    # From the trusted proxy's address, they are believed.
    status, headers, _ = get(pools.pages, "/healthz", source=HOST, headers=forged)
    assert status == 200
    assert "strict-transport-security" in headers
    addresses = [e["address"] for e in pools.log("pages") if e["path"] == "/healthz"][-3:]
    assert addresses == ["127.0.0.9", "127.0.0.9", "203.0.113.9"]


def test_the_shipped_configuration_is_valid_with_its_production_values(tmp_path):
    from deploy.nginx import DEFAULTS, render

    assert (DEFAULTS["client_timeout"], DEFAULTS["listen"]) == ("10s", "0.0.0.0:80")
    config = tmp_path / "nginx.conf"
    # Only where it keeps its files (and its workers' account, which must exist here) differ.
    config.write_text(render(run_dir=str(tmp_path), user="root"))
    result = subprocess.run(
        [nginx_binary(), "-t", "-c", str(config), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    with pytest.raises(TypeError):
        render(listen_on="0.0.0.0:80")

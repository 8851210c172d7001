"""nginx with deploy/nginx.conf on a free loopback port, and slow clients to point at a server.

Used by the slow-client benchmark (bench/slow_clients.py) and its tests (tests/test_slow_clients.py).
Only the standard library and the system's nginx (Debian's package `nginx`).
"""

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from deploy.nginx import render

from .server import HOST, free_port, stop_process


def nginx_binary() -> str | None:
    """nginx on PATH, or where Debian puts it (/usr/sbin is not on every user's PATH)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


@dataclass
class Nginx:
    """nginx in front of a pages pool and a data pool (host, port each), in its own directory."""

    pages: tuple[str, int]
    data: tuple[str, int]
    client_timeout: str = "10s"
    conn_limit: int = 32
    port: int = field(default_factory=free_port)
    run_dir: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def base(self) -> tuple[str, int]:
        return HOST, self.port

    def start(self) -> "Nginx":
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed (Debian: apt-get install nginx)")
        if self.run_dir is None:
            self.run_dir = Path(tempfile.mkdtemp(prefix="nginx-"))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # Workers run as the user who starts nginx (when that is root, the template's `user`
        # would otherwise make them nobody, who cannot enter a private temporary directory).
        user = os.environ.get("USER") or "root"
        if os.geteuid() == 0:
            user = "root"
        config = self.run_dir / "nginx.conf"
        config.write_text(
            render(
                listen=f"{HOST}:{self.port}",
                pages=f"{self.pages[0]}:{self.pages[1]}",
                data=f"{self.data[0]}:{self.data[1]}",
                run_dir=str(self.run_dir),
                user=user,
                workers="1",
                client_timeout=self.client_timeout,
                conn_limit=str(self.conn_limit),
            )
        )
        self.process = subprocess.Popen(
            [
                binary,
                "-c",
                str(config),
                "-p",
                str(self.run_dir),
                "-e",
                str(self.run_dir / "error.log"),
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                _, stderr = self.process.communicate()
                raise RuntimeError(f"nginx exited: {stderr.decode()}\n{self.error_log()}")
            try:
                socket.create_connection(self.base, timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not listen in 10 s\n{self.error_log()}")

    def error_log(self) -> str:
        log = self.run_dir / "error.log" if self.run_dir else None
        return log.read_text() if log and log.exists() else ""

    def stop(self) -> None:
        stop_process(self.process, timeout=10)

    def __enter__(self) -> "Nginx":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def connect(base: tuple[str, int], source: str = HOST, timeout: float = 10) -> socket.socket:
    """A TCP connection from a chosen loopback address (all of 127.0.0.0/8 is this machine), so
    that one test can be many clients."""
    return socket.create_connection(base, timeout=timeout, source_address=(source, 0))


def header_trickle(host: str) -> tuple[bytes, bytes]:
    """A request whose header never ends: an opening, then one more header byte at a time."""
    return f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n".encode(), b"X-Slow: " + b"a" * 1_000_000


def body_trickle(host: str, path: str = "/identity/v3/auth/tokens") -> tuple[bytes, bytes]:
    """A request whose body comes one byte at a time, to an endpoint that reads its body before
    anything else, signed in or not (the Identity API's sign-in)."""
    body = b'{"auth": ' + b" " * 100_000 + b"}"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head, body


class Tricklers:
    """`count` connections, each from its own loopback address (127.0.1.x), alternately trickling
    a header and a body, one byte per connection every `interval` seconds. A connection the server
    closes is counted in `cut_off` and, with `reconnect`, opened again (as an attacker would)."""

    def __init__(self, base: tuple[str, int], count: int, *, interval: float = 0.5, reconnect: bool = True):
        self.base = base
        self.count = count
        self.interval = interval
        self.reconnect = reconnect
        self.cut_off = 0
        self.opened = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._conns: list[tuple[socket.socket | None, bytes, int]] = []

    def _open(self, index: int) -> tuple[socket.socket | None, bytes, int]:
        host = f"{self.base[0]}:{self.base[1]}"
        head, rest = header_trickle(host) if index % 2 == 0 else body_trickle(host)
        try:
            sock = connect(self.base, source=f"127.0.1.{1 + index % 250}", timeout=5)
            sock.sendall(head)
            sock.setblocking(False)
        except OSError:
            return None, rest, 0
        with self._lock:
            self.opened += 1
        return sock, rest, 0

    def start(self) -> "Tricklers":
        self._conns = [self._open(i) for i in range(self.count)]
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _closed_by_server(self, sock: socket.socket) -> bool:
        try:
            return sock.recv(4096) == b""  # a response (a 408, a 429) is read and ignored
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for index, (sock, rest, sent) in enumerate(self._conns):
                closed = sock is None
                if sock is not None:
                    try:
                        sock.send(rest[sent : sent + 1])
                        sent += 1
                    except BlockingIOError:
                        pass
                    except OSError:
                        closed = True
                    closed = closed or self._closed_by_server(sock)
                if closed:
                    if sock is not None:
                        sock.close()
                        with self._lock:
                            self.cut_off += 1
                    self._conns[index] = self._open(index) if self.reconnect else (None, rest, sent)
                else:
                    self._conns[index] = (sock, rest, sent)

    def open_now(self) -> int:
        return sum(1 for sock, _, _ in self._conns if sock is not None)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        for sock, _, _ in self._conns:
            if sock is not None:
                sock.close()

    def __enter__(self) -> "Tricklers":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

"""Side by side with a running Glance: the same Image API requests, the same client, alternating rounds.

`python -m bench --glance-url http://glance.example:9292 --glance-token TOKEN` (or the GLANCE_URL and
OS_TOKEN environment variables). Each API endpoint with a Glance counterpart is measured in
`--rounds` rounds; in each round this server and Glance take turns (the order swaps every round),
each for its share of `--seconds`, so both see the same machine load. The ratio is this server's
throughput over Glance's, from all rounds together.

A Glance behind Keystone takes `--glance-token`. A Glance without token validation, as
`python -m bench.glance_server` serves it, takes `--glance-identity-headers` instead: each request
then carries what keystonemiddleware would have passed on for the endpoint's project (the same
project this server is asked as), so Glance does that project's work, not an admin's.

Glance has its own image IDs: `--glance-image` is the image for `GET /v2/images/{id}` and
`--glance-shared-image` the shared image for its members list (both default to this world's IDs,
which fits a Glance loaded with the same world, or this server given as "Glance").
"""

import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

from .server import Client, percentile

# Our API is mounted under /image; Glance serves /v2 at its root (or under the URL's path).
API_PREFIX = "/image"


# The roles a Keystone token of the world's member users carries (member implies reader).
ROLES = "member,reader"


def identity_headers(project_id: str, user: str) -> dict[str, str]:
    """What keystonemiddleware passes on to Glance for a valid project-scoped token of a member."""
    return {"X-Identity-Status": "Confirmed", "X-Project-Id": project_id, "X-User-Id": user, "X-Roles": ROLES}


@dataclass
class Target:
    """A Glance endpoint: base URL (scheme, host, port, optional path), a token or identity headers,
    the images to use."""

    url: str
    token: str | None
    image: str | None = None
    shared_image: str | None = None
    identity: bool = False  # send identity headers (a Glance without keystonemiddleware)

    def client(self, who: dict | None = None) -> "URLClient":
        """A client for Glance, as `who` (a typical-world user: project_id, user) if identity headers."""
        headers = {"X-Auth-Token": self.token} if self.token else {}
        if self.identity:
            if who is None:
                raise ValueError("identity headers need a project")
            headers.update(identity_headers(who["project_id"], who["user"]))
        return URLClient(self.url, headers=headers)

    def path(self, ours: str, image: str, shared_image: str) -> str:
        """Glance's path for one of our API paths: without our prefix, with Glance's image IDs."""
        path, _, query = ours.removeprefix(API_PREFIX).partition("?")
        swap = {image: self.image, shared_image: self.shared_image}
        path = "/".join(swap.get(segment) or segment for segment in path.split("/"))
        return f"{path}?{query}" if query else path


class URLClient(Client):
    """The benchmark's keep-alive client on a base URL: http or https, paths under the URL's path."""

    def __init__(self, url: str, headers: dict | None = None):
        parts = urlparse(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.https = parts.scheme == "https"
        super().__init__((parts.hostname, parts.port or (443 if self.https else 80)), headers)
        self.prefix = parts.path.rstrip("/")

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        if self.conn is None and self.https:
            self.conn = http.client.HTTPSConnection(*self.base, timeout=60)
        return super().request(method, self.prefix + path, body=body, headers=headers)


@dataclass
class Sample:
    """Latencies (ms), wall time and what the responses said, accumulated over rounds."""

    latencies: list[float]
    server_ms: list[float]
    queries: set[int]
    errors: int = 0
    wall: float = 0.0

    @classmethod
    def empty(cls) -> "Sample":
        return cls([], [], set())

    def cell(self) -> dict:
        """The same fields as bench.run.Cell, as a dict."""
        return {
            "requests": len(self.latencies),
            "rps": len(self.latencies) / self.wall if self.wall else 0.0,
            "p50": percentile(self.latencies, 50),
            "p95": percentile(self.latencies, 95),
            "errors": self.errors,
            "queries": sorted(self.queries),
            "server_p50": percentile(self.server_ms, 50) if self.server_ms else None,
        }


def run_into(
    sample: Sample,
    make_client: Callable[[], Client],
    path: str,
    concurrency: int,
    seconds: float,
    max_requests: int,
    warmup: int,
) -> None:
    """`concurrency` keep-alive clients request `path` for `seconds`; results are added to `sample`."""
    clients = [make_client() for _ in range(concurrency)]
    for client in clients:
        for _ in range(warmup):
            client.get(path)
    lock = threading.Lock()
    issued = 0
    deadline = time.perf_counter() + seconds

    def worker(client: Client) -> None:
        nonlocal issued
        while True:
            with lock:
                if issued >= max_requests or time.perf_counter() >= deadline:
                    return
                issued += 1
            response = client.get(path)
            with lock:
                sample.latencies.append(response.seconds * 1000)
                if response.status != 200:
                    sample.errors += 1
                if response.queries is not None:
                    sample.queries.add(response.queries)
                if response.server_ms is not None:
                    sample.server_ms.append(response.server_ms)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sample.wall += time.perf_counter() - started
    for client in clients:
        client.close()


def alternate(
    ours: tuple[Callable[[], Client], str],
    theirs: tuple[Callable[[], Client], str],
    *,
    concurrency: int,
    seconds: float,
    rounds: int,
    max_requests: int,
    warmup: int,
) -> tuple[dict, dict]:
    """Both servers, turn about, `rounds` times (who goes first swaps each round); two Cell dicts."""
    samples = (Sample.empty(), Sample.empty())
    share = seconds / rounds
    per_round = max(1, max_requests // rounds)
    for n in range(rounds):
        order = (0, 1) if n % 2 == 0 else (1, 0)
        for side in order:
            make_client, path = (ours, theirs)[side]
            run_into(samples[side], make_client, path, concurrency, share, per_round, warmup if n == 0 else 1)
    return samples[0].cell(), samples[1].cell()


def ratio(ours: dict, theirs: dict) -> float | None:
    return ours["rps"] / theirs["rps"] if theirs["rps"] else None


def measured_table(rows: list[dict], concurrency: list[int]) -> str:
    """Glance's own figures from this run, next to ours, per endpoint and concurrency."""
    head = ["endpoint"]
    for c in concurrency:
        head += [f"Glance c={c} req/s", f"Glance c={c} p50", f"ours c={c} req/s", f"ratio c={c}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        if not any(f"glance_c{c}" in row for c in concurrency):
            continue
        cells = [f"`{row['endpoint']}`"]
        for c in concurrency:
            theirs, ours = row.get(f"glance_c{c}"), row.get(f"c{c}")
            if not theirs or not ours:
                cells += ["—"] * 4
                continue
            r = ratio(ours, theirs)
            errors = f" ({theirs['errors']} errors)" if theirs["errors"] else ""
            cells += [
                f"{theirs['rps']:.1f}{errors}",
                f"{theirs['p50']:.1f} ms",
                f"{ours['rps']:.1f}",
                f"{r:.2f}×" if r is not None else "—",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)

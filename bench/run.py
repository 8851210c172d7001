"""The benchmark: the production server (gunicorn, production settings) against a generated world,
pages and Image API endpoints at concurrency 1 and 8, next to the hand-written-SQL lower bound and
upstream Glance's figures. `make bench`, or:

    DATABASE_URL=postgres://… python manage.py generate_world          # once
    DATABASE_URL=postgres://… python -m bench [--seconds 5] [--label 200k]
    python -m bench --compare var/bench/20k.json var/bench/200k.json var/bench/1m.json

Every response carries X-Query-Count (the server runs with DJANGO_REQUEST_TIMING_HEADERS=1), so
the queries per request column is what the server really ran, and must be one number.
"""

import argparse
import functools
import json
import os
import re
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from . import glance as glance_mod
from .server import ROOT, Client, Server, percentile, typical_world

# Upstream Glance 33 (uWSGI 2 processes × 4 threads), PostgreSQL, 200k images, from issue 5:
# (c=1 req/s, c=1 p50 ms, c=8 req/s, c=8 p50 ms).
GLANCE = {
    "api list limit=25": (14.4, 67, 21.3, 364),
    "api list limit=1000": (1.4, 671, 2.2, 3300),
    "api community limit=25": (17.5, 55, 34.6, 224),
    "api show": (259, 3.5, 519, 14.5),
    "api members (~20)": (69, 13.8, 138, 56),
}
GLANCE_RAW_MS = 1.4  # Glance's first page of 25 by one hand-written query
SEARCH = "ubuntu"


@dataclass
class Cell:
    requests: int
    rps: float
    p50: float
    p95: float
    errors: int
    queries: list[int]
    server_p50: float | None


@dataclass
class Endpoint:
    label: str
    who: str  # browser | owner
    path: str
    api: bool
    raw: str | None  # key of RAW_SQL


# The raw lower bound: each endpoint's rows by one hand-written query (same columns it shows).
PAGE_COLUMNS = (
    "i.id, i.name, o.name AS owner_name, i.visibility, i.status, i.disk_format, i.size, i.created_at"
)
API_COLUMNS = "i.*"


def _union(columns: str, order: str, outer: str, limit: int, statuses: str = "'accepted', 'pending'") -> str:
    """The catalog (own + public + shares) as three index walks and a merge, by hand."""
    image = "FROM images_image i JOIN dashboard_project o ON o.id = i.owner_id"
    own = f"SELECT {columns}, NULL AS share {image} WHERE i.owner_id = :p AND NOT i.os_hidden ORDER BY {order} LIMIT {limit}"
    public = (
        f"SELECT {columns}, NULL AS share {image} WHERE i.visibility = 'public' AND i.owner_id <> :p"
        f" AND NOT i.os_hidden ORDER BY {order} LIMIT {limit}"
    )
    shares = (
        f"SELECT {columns}, m.status AS share FROM images_imagemember m JOIN images_image i ON i.id = m.image_id"
        f" JOIN dashboard_project o ON o.id = i.owner_id WHERE m.member_id = :p AND m.status IN ({statuses})"
        f" AND i.visibility = 'shared' AND i.owner_id <> :p AND NOT i.os_hidden ORDER BY {order} LIMIT {limit}"
    )
    parts = " UNION ALL ".join(f"SELECT * FROM ({q}) AS part{n}" for n, q in enumerate((own, public, shares)))
    return f"SELECT * FROM ({parts}) AS page ORDER BY {outer} LIMIT {limit}"


RAW_SQL = {
    "catalog": _union(PAGE_COLUMNS, "i.name, i.id", "name, id", 25),
    "shared": (
        f"SELECT {PAGE_COLUMNS}, m.status FROM images_imagemember m JOIN images_image i ON i.id = m.image_id"
        " JOIN dashboard_project o ON o.id = i.owner_id WHERE m.member_id = :p AND i.visibility = 'shared'"
        " AND i.owner_id <> :p AND NOT i.os_hidden ORDER BY i.name, i.id LIMIT 25"
    ),
    "community search": (
        f"SELECT {PAGE_COLUMNS} FROM images_image i JOIN dashboard_project o ON o.id = i.owner_id"
        " WHERE i.visibility = 'community' AND NOT i.os_hidden AND UPPER(i.name) LIKE UPPER(:q)"
        " ORDER BY i.name, i.id LIMIT 25"
    ),
    "detail": f"SELECT {PAGE_COLUMNS} FROM images_image i JOIN dashboard_project o ON o.id = i.owner_id WHERE i.id = :image",
    "members": (
        "SELECT m.member_id, o.name, m.status, m.created_at FROM images_imagemember m"
        " JOIN dashboard_project o ON o.id = m.member_id WHERE m.image_id = :image ORDER BY o.name"
    ),
    "api 25": _union(API_COLUMNS, "i.created_at DESC, i.id DESC", "created_at DESC, id DESC", 25),
    "api 1000": _union(API_COLUMNS, "i.created_at DESC, i.id DESC", "created_at DESC, id DESC", 1000),
    "api community": (
        "SELECT i.* FROM images_image i WHERE i.visibility = 'community' AND NOT i.os_hidden"
        " ORDER BY i.created_at DESC, i.id DESC LIMIT 25"
    ),
    "api show": "SELECT i.* FROM images_image i WHERE i.id = :image",
    "api members": "SELECT m.* FROM images_imagemember m WHERE m.image_id = :image ORDER BY m.member_id",
}


def endpoints(world: dict) -> list[Endpoint]:
    b, o = world["browser"], world["owner"]
    shared_image = o["image_id"]
    return [
        Endpoint("page catalog", "browser", "/project/images/", False, "catalog"),
        Endpoint("page shared with me", "browser", "/project/images/?tab=shared", False, "shared"),
        Endpoint(
            "page community search",
            "browser",
            f"/project/images/?tab=community&q={SEARCH}",
            False,
            "community search",
        ),
        Endpoint("page detail", "browser", f"/project/images/{b['image_id']}/", False, "detail"),
        Endpoint(
            "page members tab (~20)",
            "owner",
            f"/project/images/{shared_image}/?tab=members",
            False,
            "members",
        ),
        Endpoint("api list limit=25", "browser", "/image/v2/images?limit=25", True, "api 25"),
        Endpoint("api list limit=1000", "browser", "/image/v2/images?limit=1000", True, "api 1000"),
        Endpoint(
            "api community limit=25",
            "browser",
            "/image/v2/images?visibility=community&limit=25",
            True,
            "api community",
        ),
        Endpoint("api show", "browser", f"/image/v2/images/{b['image_id']}", True, "api show"),
        Endpoint(
            "api members (~20)", "owner", f"/image/v2/images/{shared_image}/members", True, "api members"
        ),
    ]


def run_cell(
    make_client, path: str, concurrency: int, seconds: float, max_requests: int, warmup: int
) -> Cell:
    """`concurrency` keep-alive clients request `path` for `seconds` (bench/glance.py's runner)."""
    sample = glance_mod.Sample.empty()
    glance_mod.run_into(sample, make_client, path, concurrency, seconds, max_requests, warmup)
    return Cell(**sample.cell())


class RawDatabase:
    """The lower bound: one hand-written query through the database driver, per request."""

    def __init__(self, database_url: str):
        self.url = database_url
        self.sqlite = database_url.startswith("sqlite")

    def connect(self):
        if self.sqlite:
            path = urlparse(self.url).path
            return sqlite3.connect(path[1:] if path.startswith("//") else path, check_same_thread=False)
        import psycopg

        return psycopg.connect(self.url, autocommit=True, options="-c jit=off")  # as the server's

    def statement(self, sql: str, params: dict) -> tuple[str, dict]:
        if self.sqlite:
            params = {k: (v.replace("-", "") if k == "image" else v) for k, v in params.items()}
            return sql, params
        return re.sub(r":(\w+)", r"%(\1)s", sql), params

    def run_cell(self, sql: str, params: dict, concurrency: int, seconds: float, max_requests: int) -> Cell:
        sql, params = self.statement(sql, params)
        connections = [self.connect() for _ in range(concurrency)]
        for conn in connections:
            for _ in range(5):
                conn.execute(sql, params).fetchall()
        latencies: list[float] = []
        lock = threading.Lock()
        deadline = time.perf_counter() + seconds

        def worker(conn) -> None:
            while time.perf_counter() < deadline and len(latencies) < max_requests:
                started = time.perf_counter()
                rows = conn.execute(sql, params).fetchall()
                elapsed = (time.perf_counter() - started) * 1000
                assert rows, f"the lower-bound query found nothing: {sql[:80]}…"
                with lock:
                    latencies.append(elapsed)

        started = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(c,)) for c in connections]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        for conn in connections:
            conn.close()
        return Cell(
            len(latencies),
            len(latencies) / wall,
            percentile(latencies, 50),
            percentile(latencies, 95),
            0,
            [],
            None,
        )

    def count_images(self) -> int:
        conn = self.connect()
        try:
            return conn.execute("SELECT count(*) FROM images_image").fetchone()[0]
        finally:
            conn.close()


def glance_target(args) -> glance_mod.Target | None:
    if not args.glance_url:
        return None
    if not args.glance_token and not args.glance_identity_headers:
        raise SystemExit(
            "--glance-url needs a token (--glance-token or OS_TOKEN) or --glance-identity-headers"
        )
    return glance_mod.Target(
        args.glance_url,
        args.glance_token,
        args.glance_image,
        args.glance_shared_image,
        identity=args.glance_identity_headers,
    )


def measure_endpoint(row: dict, endpoint: Endpoint, make_client, world: dict, args) -> None:
    """One endpoint at each concurrency; API endpoints Glance also has, in rounds alternating with it."""
    target = glance_target(args)
    if target is None or not endpoint.api or endpoint.label not in GLANCE:
        for c in args.concurrency:
            cell = run_cell(make_client, endpoint.path, c, args.seconds, args.max_requests, args.warmup)
            row[f"c{c}"] = asdict(cell)
        return
    theirs = target.path(endpoint.path, world["browser"]["image_id"], world["owner"]["image_id"])
    row["glance_path"] = theirs
    for c in args.concurrency:
        row[f"c{c}"], row[f"glance_c{c}"] = glance_mod.alternate(
            (make_client, endpoint.path),
            (functools.partial(target.client, world[endpoint.who]), theirs),
            concurrency=c,
            seconds=args.seconds,
            rounds=args.rounds,
            max_requests=args.max_requests,
            warmup=args.warmup,
        )


def measure(args) -> dict:
    database_url = args.database_url
    env = {**os.environ, "DATABASE_URL": database_url}
    world = typical_world(env)
    raw = RawDatabase(database_url)
    results = {
        "label": args.label,
        "database": "sqlite" if raw.sqlite else "postgresql",
        "images": raw.count_images(),
        "world": world,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg()[0],
        "rows": [],
        "glance_url": args.glance_url,
    }
    params = {"p": world["browser"]["project_id"], "q": f"%{SEARCH}%", "image": None}
    with Server(database_url, workers=args.workers, threads=args.threads) as server:
        sessions, tokens = {}, {}
        for who in ("browser", "owner"):
            user = world[who]
            client = Client(server.base)
            client.login(user["user"], user["password"])
            sessions[who] = dict(client.cookies)
            tokens[who] = Client(server.base).api_token(user["user"], user["password"], user["project_id"])
        for endpoint in endpoints(world):
            if endpoint.api and tokens[endpoint.who] is None:
                continue
            if args.only and not any(word in endpoint.label for word in args.only):
                continue

            def make_client(endpoint=endpoint) -> Client:
                if endpoint.api:
                    return Client(server.base, headers={"X-Auth-Token": tokens[endpoint.who]})
                client = Client(server.base)
                client.cookies = dict(sessions[endpoint.who])
                return client

            row: dict[str, Any] = {"endpoint": endpoint.label, "path": endpoint.path}
            measure_endpoint(row, endpoint, make_client, world, args)
            if endpoint.raw:
                who = world[endpoint.who]
                raw_params = {
                    **params,
                    "p": who["project_id"],
                    "image": world["owner"]["image_id"]
                    if endpoint.who == "owner"
                    else world["browser"]["image_id"],
                }
                for c in args.concurrency:
                    row[f"raw_c{c}"] = asdict(
                        raw.run_cell(
                            RAW_SQL[endpoint.raw], raw_params, c, min(args.seconds, 3), args.max_requests
                        )
                    )
            results["rows"].append(row)
            print_row(row, args.concurrency)
    results["load_after"] = os.getloadavg()[0]
    return results


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return (
        f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"
    )


def print_row(row: dict, concurrency: list[int]) -> None:
    parts = [f"{row['endpoint']:<26}"]
    for c in concurrency:
        cell = row.get(f"c{c}")
        if cell:
            parts.append(
                f"c={c}: {cell['rps']:7.1f} req/s p50 {_ms(cell['p50']):>8} p95 {_ms(cell['p95']):>8}"
                f"{' ERRORS ' + str(cell['errors']) if cell['errors'] else ''}"
            )
    print("  ".join(parts), flush=True)


def markdown(results: dict) -> str:
    cs = sorted(int(k[1:]) for k in results["rows"][0] if re.fullmatch(r"c\d+", k)) if results["rows"] else []
    head = ["endpoint"]
    for c in cs:
        head += [f"c={c} req/s", f"c={c} p50", f"c={c} p95"]
    head += [
        "queries",
        "server p50 (c=1)",
        "raw SQL p50",
        "p50 / raw",
        "vs Glance req/s (c=1, c=8)",
        "Glance figures",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in results["rows"]:
        cells = [f"`{row['endpoint']}`"]
        for c in cs:
            cell = row[f"c{c}"]
            cells += [f"{cell['rps']:.1f}", _ms(cell["p50"]), _ms(cell["p95"])]
        first = row[f"c{cs[0]}"]
        queries = sorted({q for c in cs for q in row[f"c{c}"]["queries"]})
        cells.append(",".join(map(str, queries)) or "—")
        cells.append(_ms(first["server_p50"]))
        raw = row.get(f"raw_c{cs[0]}")
        cells.append(_ms(raw["p50"]) if raw else "—")
        cells.append(f"{first['p50'] / raw['p50']:.1f}×" if raw else "—")
        cells += glance_ratio(row, cs)
        lines.append("| " + " | ".join(cells) + " |")
    errors = sum(row[f"c{c}"]["errors"] for row in results["rows"] for c in cs)
    lines.append("")
    lines.append(
        f"{results['images']:,} images, {results['database']}, {results['cpus']} CPUs, "
        f"load average {results['load_before']:.1f} before / {results['load_after']:.1f} after, "
        f"{errors} errors, {results['when']}."
    )
    return "\n".join(lines)


def glance_ratio(row: dict, cs: list[int]) -> list[str]:
    """Our throughput over Glance's at each concurrency: measured in this run, or the recorded figures."""
    if all(f"glance_c{c}" in row for c in cs):
        ratios = [glance_mod.ratio(row[f"c{c}"], row[f"glance_c{c}"]) for c in cs]
        return [", ".join(f"{r:.2f}×" if r is not None else "—" for r in ratios), "(measured)"]
    glance = GLANCE.get(row["endpoint"])
    if glance and cs[:2] == [1, 8]:
        return [f"{row['c1']['rps'] / glance[0]:.1f}×, {row['c8']['rps'] / glance[2]:.1f}×", "(recorded)"]
    return ["—", "—"]


def glance_table() -> str:
    lines = [
        "| Glance 33 (uWSGI 2 × 4) | c=1 req/s | c=1 p50 | c=8 req/s | c=8 p50 |",
        "|---|---|---|---|---|",
    ]
    for name, (r1, p1, r8, p8) in GLANCE.items():
        lines.append(f"| `{name}` | {r1} | {_ms(p1)} | {r8} | {_ms(p8)} |")
    lines.append(f"\nGlance's raw first page of 25: {GLANCE_RAW_MS} ms.")
    return "\n".join(lines)


def compare(paths: list[str]) -> str:
    """p50 at c=1 of each endpoint across worlds of different sizes, and the growth ratio."""
    runs = [json.loads(Path(p).read_text()) for p in paths]
    head = ["endpoint (c=1 p50)"] + [f"{r['images']:,} images" for r in runs] + ["growth first → last"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in runs[0]["rows"]:
        name = row["endpoint"]
        values = []
        for run in runs:
            match = next((r for r in run["rows"] if r["endpoint"] == name), None)
            values.append(match["c1"]["p50"] if match else None)
        growth = f"{values[-1] / values[0]:.2f}×" if values[0] and values[-1] else "—"
        lines.append("| " + " | ".join([f"`{name}`", *map(_ms, values), growth]) + " |")
    return "\n".join(lines)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", f"sqlite:///{ROOT / 'db.sqlite3'}")
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="per endpoint and concurrency")
    parser.add_argument("--max-requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=5, help="requests per client before measuring")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py)")
    parser.add_argument("--threads", type=int, help="gunicorn threads per worker")
    parser.add_argument("--only", nargs="*", help="only endpoints whose label contains one of these")
    parser.add_argument("--label", default="latest", help="results go to var/bench/<label>.json")
    parser.add_argument("--compare", nargs="+", metavar="JSON", help="print the growth between saved runs")
    parser.add_argument(
        "--glance-url",
        default=os.environ.get("GLANCE_URL"),
        help="a running Glance's base URL (env GLANCE_URL): measure the API side by side with it",
    )
    parser.add_argument("--glance-token", default=os.environ.get("OS_TOKEN"), help="its token (env OS_TOKEN)")
    parser.add_argument(
        "--glance-identity-headers",
        action="store_true",
        help="send Glance the endpoint's project as keystonemiddleware's headers, for a Glance without"
        " token validation (python -m bench.glance_server); no token needed",
    )
    parser.add_argument("--glance-image", help="Glance's image ID for show (default: this world's)")
    parser.add_argument("--glance-shared-image", help="Glance's shared image ID for members (default: ours)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds with Glance per cell")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = make_parser().parse_args(argv)
    if args.compare:
        print(compare(args.compare))
        return
    results = measure(args)
    out = ROOT / "var" / "bench" / f"{args.label}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print()
    print(markdown(results))
    print()
    if any(k.startswith("glance_c") for row in results["rows"] for k in row):
        print(f"Glance at {results['glance_url']}, measured in this run ({args.rounds} alternating rounds):")
        print(glance_mod.measured_table(results["rows"], args.concurrency))
        print()
    print("Recorded Glance figures (docs/performance.md):")
    print(glance_table())
    print(f"\nSaved to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

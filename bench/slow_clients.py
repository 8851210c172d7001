"""The slow-client benchmark: health-probe latency with and without the proxy under N slow
clients. `make bench-slow`, or:

    python -m bench.slow_clients [--clients 48] [--probes 20] [--probe-timeout 5]

It starts the production topology on loopback (deploy/nginx.conf in front of a pages pool and a
data pool of gunicorn, production settings), then, once straight at the pages pool and once at
nginx: probes GET /healthz on a quiet server, then again while N slow clients (from as many
loopback addresses) trickle request headers and bodies, a byte each per half second. A probe that
gets no answer within --probe-timeout counts as that long, and as failed. It prints p50/p99 of
each, how much the slow clients slowed each down, and how much the proxy spares the probes.
The database is a throwaway SQLite file unless DATABASE_URL is set.
"""

import argparse
import http.client
import os
import sys
import tempfile
import time
from pathlib import Path

from .proxy import Nginx, Tricklers, nginx_binary
from .server import HOST, Server, percentile


def probe(base: tuple[str, int], timeout: float) -> tuple[float, bool]:
    """One health probe on a new connection, as a load balancer makes it: seconds, answered 200."""
    started = time.perf_counter()
    try:
        connection = http.client.HTTPConnection(*base, timeout=timeout, source_address=("127.0.0.3", 0))
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        connection.close()
        ok = response.status == 200
    except OSError:
        ok = False
    seconds = time.perf_counter() - started
    return (seconds if ok else max(seconds, timeout)), ok


def measure(base: tuple[str, int], probes: int, timeout: float) -> tuple[list[float], int]:
    results = [probe(base, timeout) for _ in range(probes)]
    return [seconds for seconds, _ in results], sum(1 for _, ok in results if not ok)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.slow_clients", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--clients", type=int, default=48, help="slow clients (default 48)")
    parser.add_argument("--probes", type=int, default=20, help="health probes per measurement (default 20)")
    parser.add_argument("--probe-timeout", type=float, default=5.0, help="seconds (default 5)")
    parser.add_argument("--workers", type=int, help="gunicorn workers per pool (default: gunicorn.conf.py)")
    parser.add_argument("--threads", type=int, help="gunicorn threads per worker")
    args = parser.parse_args(argv)
    if nginx_binary() is None:
        raise SystemExit("nginx is not installed (Debian: apt-get install nginx)")

    with tempfile.TemporaryDirectory(prefix="bench-slow-") as scratch:
        database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(scratch) / 'bench.sqlite3'}"
        os.environ["DJANGO_TRUSTED_PROXIES"] = HOST
        os.environ["IMAGE_STORE_DIR"] = str(Path(scratch) / "store")
        pages = Server(database_url, workers=args.workers, threads=args.threads)
        data = Server(database_url, workers=args.workers, threads=args.threads)
        nginx = None
        rows = {}
        try:
            pages.start()
            data.start()
            nginx = Nginx(pages.base, data.base, run_dir=Path(scratch) / "nginx").start()
            for label, base in (("gunicorn alone", pages.base), ("nginx + gunicorn", nginx.base)):
                print(f"{label}: probing quiet, then under {args.clients} slow clients…", file=sys.stderr)
                quiet, quiet_failed = measure(base, args.probes, args.probe_timeout)
                with Tricklers(base, args.clients, interval=0.5):
                    time.sleep(1)
                    slow, slow_failed = measure(base, args.probes, args.probe_timeout)
                rows[label] = (quiet, quiet_failed, slow, slow_failed)
        finally:
            if nginx:
                nginx.stop()
            data.stop()
            pages.stop()

    ms = 1000
    print(
        f"\nGET /healthz, {args.probes} probes each, {args.clients} slow clients, timeout {args.probe_timeout} s"
    )
    print(
        f"{'':18} {'quiet p50':>10} {'p99':>8} {'slow p50':>10} {'p99':>8} {'failed':>7} {'p50 ×':>7} {'p99 ×':>7}"
    )
    for label, (quiet, quiet_failed, slow, slow_failed) in rows.items():
        q50, q99, s50, s99 = (
            percentile(quiet, 50),
            percentile(quiet, 99),
            percentile(slow, 50),
            percentile(slow, 99),
        )
        print(
            f"{label:18} {q50 * ms:>8.1f}ms {q99 * ms:>6.1f}ms {s50 * ms:>8.1f}ms {s99 * ms:>6.1f}ms "
            f"{quiet_failed + slow_failed:>7} {s50 / q50:>7.1f} {s99 / q99:>7.1f}"
        )
    direct, proxied = rows["gunicorn alone"][2], rows["nginx + gunicorn"][2]
    print(
        f"\nUnder slow clients, gunicorn alone / behind nginx: p50 {percentile(direct, 50) / percentile(proxied, 50):.1f}×, "
        f"p99 {percentile(direct, 99) / percentile(proxied, 99):.1f}× "
        f"(failed probes: {rows['gunicorn alone'][3]} alone, {rows['nginx + gunicorn'][3]} behind nginx)"
    )


if __name__ == "__main__":
    main()

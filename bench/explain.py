"""The SQL of each benchmark endpoint, timed by PostgreSQL itself: how it grows with the world.

    DATABASE_URL=postgres://…/bench20k python -m bench.explain --label 20k
    DATABASE_URL=postgres://…/bench1m  python -m bench.explain --label 1m --plans
    python -m bench.explain --compare var/explain/20k.json var/explain/200k.json var/explain/1m.json

Runs each endpoint of bench/run.py once in-process (Django's test client, signed in as the
generated world's typical project, as bench.profile does), records every query it sends, and runs
each one again under `EXPLAIN (ANALYZE, BUFFERS)`: twice as the server may plan it — with its
parameters (a custom plan) and as a prepared statement's generic plan (the server prepares a query
a connection runs twice, and PostgreSQL may switch such a statement to a generic plan) — and keeps
the best of `--repeat` runs of each. Server-side execution time does not depend on Python or HTTP,
so it is the robust measure of growth on a noisy machine. Everything runs in one transaction that
is rolled back: the world is left as it was (the sign-in's session included).
"""

import argparse
import json
import re
from pathlib import Path

from psycopg.adapt import PyFormat, Transformer
from psycopg.sql import Literal

from .profile import ROOT, setup, signed_in_client

ENDPOINTS = [
    # (label as in bench/run.py, who, path, api)
    ("page catalog", "browser", "/project/images/", False),
    ("page shared with me", "browser", "/project/images/?tab=shared", False),
    ("page community search", "browser", "/project/images/?tab=community&q=ubuntu", False),
    ("page detail", "browser", "/project/images/{image}/", False),
    ("page members tab (~20)", "owner", "/project/images/{shared_image}/?tab=members", False),
    ("api list limit=25", "browser", "/image/v2/images?limit=25", True),
    ("api list limit=1000", "browser", "/image/v2/images?limit=1000", True),
    ("api community limit=25", "browser", "/image/v2/images?visibility=community&limit=25", True),
    ("api show", "browser", "/image/v2/images/{image}", True),
    ("api members (~20)", "owner", "/image/v2/images/{shared_image}/members", True),
]

EXECUTION = re.compile(r"Execution Time: ([0-9.]+) ms")


def _numbered(sql: str) -> str:
    """Django's %s placeholders as $1, $2… (for PREPARE), a literal %% as %."""
    counter = iter(range(1, 10_000))
    return re.sub(r"%%|%s", lambda m: "%" if m.group() == "%%" else f"${next(counter)}", sql)


def _explain(cursor, sql: str, params, *, generic: bool, repeat: int) -> tuple[float, str]:
    """(best execution ms, plan text) of the query, planned with its values or generically."""
    best, plan = float("inf"), ""
    for _ in range(repeat):
        if generic:
            # Prepared as psycopg prepares it (parameter types left to the server), so EXECUTE
            # can then be explained under a forced generic plan.
            pgconn = cursor.connection.pgconn
            transformer = Transformer(cursor.connection)
            transformer.dump_sequence(params, [PyFormat.AUTO] * len(params))
            prepared = pgconn.prepare(b"explained", _numbered(sql).encode(), transformer.types or None)
            if prepared.error_message:
                raise RuntimeError(prepared.error_message.decode())
            oids = [pgconn.describe_prepared(b"explained").param_type(i) for i in range(len(params))]
            cursor.execute("SELECT " + ", ".join(["format_type(%s, NULL)"] * len(oids) or ["1"]), oids)
            types = cursor.fetchone() if oids else ()
            cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            # EXECUTE's arguments as literals: a utility statement takes no bound parameters.
            values = [Literal(value).as_string(cursor.connection) for value in params]
            marks = (
                f"({', '.join(f'{v}::{t}' for v, t in zip(values, types, strict=True))})" if params else ""
            )
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE explained{marks}")
        else:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        text = "\n".join(row[0] for row in cursor.fetchall())
        if generic:
            cursor.execute("SET LOCAL plan_cache_mode = auto")
            cursor.execute("DEALLOCATE explained")
        found = EXECUTION.search(text)
        ms = float(found.group(1)) if found else float("nan")
        if ms < best:
            best, plan = ms, text
    return best, plan


def measure(repeat: int, only: str | None) -> dict:
    from django.db import connection, transaction

    results: dict = {}
    with transaction.atomic():
        clients = {}
        for label, who, path, api in ENDPOINTS:
            if only and only not in label:
                continue
            if (who, api) not in clients:
                clients[who, api] = signed_in_client(who, api)
            client, world = clients[who, api]
            path = path.format(image=world[who]["image_id"], shared_image=world["owner"]["image_id"])
            client.get(path)  # warm: compiled queries, caches
            captured: list[tuple[str, tuple]] = []

            def record(execute, sql, params, many, context, captured=captured):
                captured.append((sql, tuple(params or ())))
                return execute(sql, params, many, context)

            with connection.execute_wrapper(record):
                response = client.get(path)
            if response.status_code != 200:
                raise SystemExit(f"GET {path}: {response.status_code}")
            queries = []
            with connection.cursor() as cursor:
                for sql, params in captured:
                    if not sql.lstrip().upper().startswith(("SELECT", "(", "WITH")):
                        queries.append({"sql": sql, "skipped": True})
                        continue
                    custom_ms, custom_plan = _explain(cursor, sql, params, generic=False, repeat=repeat)
                    generic_ms, generic_plan = _explain(cursor, sql, params, generic=True, repeat=repeat)
                    queries.append(
                        {
                            "sql": sql,
                            "params": [str(p) for p in params],
                            "custom_ms": custom_ms,
                            "generic_ms": generic_ms,
                            "custom_plan": custom_plan,
                            "generic_plan": generic_plan,
                        }
                    )
            results[label] = {
                "path": path,
                "queries": queries,
                "custom_ms": sum(q.get("custom_ms", 0) for q in queries),
                "generic_ms": sum(q.get("generic_ms", 0) for q in queries),
            }
        transaction.set_rollback(True)
    return results


def compare(paths: list[str]) -> str:
    runs = [(Path(p).stem, json.loads(Path(p).read_text())) for p in paths]
    head = " | ".join(f"{name} custom / generic" for name, _ in runs)
    lines = [
        f"| endpoint | {head} | growth {runs[0][0]} → {runs[-1][0]} (worse plan) |",
        "|---|" + "---|" * (len(runs) + 1),
    ]
    for label, *_ in ENDPOINTS:
        cells: list[str] = []
        worst: list[float | None] = []
        for _, run in runs:
            if label not in run:
                cells.append("—")
                worst.append(None)
                continue
            r = run[label]
            cells.append(f"{r['custom_ms']:.2f} / {r['generic_ms']:.2f} ms")
            worst.append(max(r["custom_ms"], r["generic_ms"]))
        growth = f"{worst[-1] / worst[0]:.1f}×" if worst[0] and worst[-1] else "—"
        lines.append(f"| `{label}` | {' | '.join(cells)} | {growth} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url")
    parser.add_argument("--label", help="save to var/explain/LABEL.json")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each EXPLAIN ANALYZE; the best counts")
    parser.add_argument("--only", help="endpoints whose label contains this")
    parser.add_argument("--plans", action="store_true", help="print each query's plans")
    parser.add_argument("--compare", nargs="+", metavar="JSON")
    args = parser.parse_args(argv)
    if args.compare:
        print(compare(args.compare))
        return
    setup(args.database_url)
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("bench.explain needs PostgreSQL (DATABASE_URL)")
    results = measure(args.repeat, args.only)
    for label, result in results.items():
        print(
            f"{label}: {len(result['queries'])} queries, custom {result['custom_ms']:.2f} ms, generic {result['generic_ms']:.2f} ms"
        )
        for q in result["queries"]:
            if q.get("skipped"):
                continue
            print(f"  {q['custom_ms']:8.3f} / {q['generic_ms']:8.3f} ms  {q['sql'][:150]}")
            if args.plans:
                print("    custom:\n      " + q["custom_plan"].replace("\n", "\n      "))
                print("    generic:\n      " + q["generic_plan"].replace("\n", "\n      "))
    if args.label:
        out = ROOT / "var" / "explain" / f"{args.label}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1))
        print(f"saved {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

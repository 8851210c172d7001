"""The benchmark's side-by-side comparison with Glance (bench/glance.py), run against this server as
both sides: it measures both in alternating rounds and prints the measured ratio."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from bench import glance, run
from bench.server import Client
from images.management.commands.generate_world import PASSWORD, typical_projects


@pytest.mark.django_db(transaction=True)
def test_the_glance_comparison_runs_against_this_server_as_glance(live_server):
    call_command("generate_world", projects=6, images=120, members=100, seed=5, stdout=io.StringIO())
    world = typical_projects()
    base = (live_server.thread.host, live_server.thread.port)
    tokens = {
        who: Client(base).api_token(world[who]["user"], PASSWORD, world[who]["project_id"])
        for who in ("browser", "owner")
    }
    # The in-memory SQLite test database is one connection shared with the server thread: c=1 only.
    concurrency = ["1", "2"] if connection.vendor == "postgresql" else ["1"]
    args = run.make_parser().parse_args(
        ["--seconds", "0.4", "--rounds", "2", "--warmup", "1", "--concurrency", *concurrency]
        + ["--glance-url", f"{live_server.url}/image", "--glance-token", tokens["browser"]]
    )
    rows = []
    for endpoint in run.endpoints(world):
        if not endpoint.api or endpoint.who != "browser":
            continue

        def make_client(endpoint=endpoint) -> Client:
            return Client(base, headers={"X-Auth-Token": tokens[endpoint.who]})

        row = {"endpoint": endpoint.label, "path": endpoint.path}
        run.measure_endpoint(row, endpoint, make_client, world, args)
        rows.append(row)

    assert {row["glance_path"] for row in rows} == {
        "/v2/images?limit=25",
        "/v2/images?limit=1000",
        "/v2/images?visibility=community&limit=25",
        f"/v2/images/{world['browser']['image_id']}",
    }
    for row in rows:
        for c in args.concurrency:
            ours, theirs = row[f"c{c}"], row[f"glance_c{c}"]
            assert ours["requests"] > 0 and theirs["requests"] > 0
            assert ours["errors"] == 0 and theirs["errors"] == 0
            assert glance.ratio(ours, theirs) > 0
    table = run.markdown(
        {
            "rows": rows,
            "images": 120,
            "database": connection.vendor,
            "cpus": 1,
            "load_before": 0.0,
            "load_after": 0.0,
            "when": "now",
        }
    )
    assert table.count("(measured)") == len(rows)
    assert "(recorded)" not in table
    measured = glance.measured_table(rows, args.concurrency)
    assert measured.count("×") == len(rows) * len(args.concurrency)


def test_glance_paths_drop_our_prefix_and_use_glance_image_ids():
    target = glance.Target("https://glance.example:9292/", "t", image="g-1", shared_image="g-2")
    assert target.path("/image/v2/images?limit=25", "a", "b") == "/v2/images?limit=25"
    assert target.path("/image/v2/images/a", "a", "b") == "/v2/images/g-1"
    assert target.path("/image/v2/images/b/members", "a", "b") == "/v2/images/g-2/members"
    client = target.client()
    assert client.base == ("glance.example", 9292) and client.https and client.prefix == ""
    assert glance.URLClient("http://h/glance/").prefix == "/glance"
    with pytest.raises(ValueError):
        glance.URLClient("glance.example:9292")


def test_identity_headers_ask_glance_as_the_endpoints_project(monkeypatch):
    monkeypatch.delenv("OS_TOKEN", raising=False)
    who = {"project_id": "p1", "user": "gen-0001"}
    plain = glance.Target("http://127.0.0.1:9292", "t").client(who)
    assert plain.headers == {"X-Auth-Token": "t"}
    trusted = glance.Target("http://127.0.0.1:9292", None, identity=True).client(who)
    assert trusted.headers == {
        "X-Identity-Status": "Confirmed",
        "X-Project-Id": "p1",
        "X-User-Id": "gen-0001",
        "X-Roles": "member,reader",
    }
    with pytest.raises(ValueError):
        glance.Target("http://127.0.0.1:9292", None, identity=True).client()
    args = run.make_parser().parse_args(
        ["--glance-url", "http://127.0.0.1:9292", "--glance-identity-headers"]
    )
    assert run.glance_target(args) == glance.Target("http://127.0.0.1:9292", None, identity=True)
    with pytest.raises(SystemExit):
        run.glance_target(run.make_parser().parse_args(["--glance-url", "http://127.0.0.1:9292"]))

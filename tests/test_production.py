"""Production concerns: the health endpoint, the request log, static files, deploy checks, gunicorn."""

import json
import logging
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

ROOT = Path(__file__).resolve().parent.parent


def test_it_reports_a_healthy_database_without_signing_in(db):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_it_logs_one_json_line_per_request_with_its_query_count(client_bob, app_team, caplog):
    client_bob.get("/project/images/")  # the session settles its current project
    caplog.clear()
    with (
        caplog.at_level(logging.INFO, logger="dashboard.requests"),
        CaptureQueriesContext(connection) as queries,
    ):
        client_bob.get("/project/images/?tab=shared")
    lines = [r.getMessage() for r in caplog.records if r.name == "dashboard.requests"]
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["method"] == "GET"
    assert entry["path"] == "/project/images/"
    assert entry["status"] == 200
    assert entry["queries"] == len(queries.captured_queries) > 0
    assert entry["duration_ms"] > 0
    assert entry["project"] == app_team.pk


def test_it_adds_timing_headers_only_when_asked(client_bob, settings):
    assert "X-Query-Count" not in client_bob.get("/project/images/")
    settings.REQUEST_TIMING_HEADERS = True
    response = client_bob.get("/project/images/")
    assert int(response["X-Query-Count"]) > 0
    assert response["Server-Timing"].startswith("app;dur=")


def _production_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_"))}
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="a-production-like-secret-key-of-more-than-fifty-characters-0123456789",
        DJANGO_ALLOWED_HOSTS="images.example.org",
        **extra,
    )
    return env


def test_the_deploy_checks_pass_in_production():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_collectstatic_writes_hashed_and_compressed_files(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())
    hashed = manifest["paths"]["css/app.css"]
    assert hashed != "css/app.css"
    assert (tmp_path / f"{hashed}.gz").exists()


def test_gunicorn_is_sized_for_the_machine_and_overridable(monkeypatch):
    monkeypatch.setenv("DATABASE_CONN_MAX_AGE", "7")  # an explicit value wins over the config's
    for name in ("GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_THREADS"):
        monkeypatch.delenv(name, raising=False)
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["bind"] == "127.0.0.1:8000"
    assert config["workers"] == (os.cpu_count() or 2) + 1
    assert config["worker_class"] == "gthread" and config["threads"] >= 2
    assert os.environ["DATABASE_CONN_MAX_AGE"] == "7"
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:9001")
    monkeypatch.setenv("GUNICORN_WORKERS", "3")
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (config["bind"], config["workers"]) == ("127.0.0.1:9001", 3)


def test_postgresql_sessions_run_without_jit(db):
    if connection.vendor != "postgresql":
        pytest.skip("JIT is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_postgresql_prepares_a_query_the_connection_runs_again(platform):
    """Server-side binding with a prepare threshold: a request's queries stop being planned anew."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    from dashboard.models import Project

    for _ in range(3):
        assert Project.objects.filter(pk=platform.pk, name="platform").exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%FROM "dashboard_project"%"dashboard_project"."name" = $2%'],
        )
        assert cursor.fetchone()[0] == 1

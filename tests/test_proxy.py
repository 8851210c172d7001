"""Behind a reverse proxy: the client's address and scheme are taken from the forwarding headers
only when the request comes from a trusted proxy (dashboard/proxy.py, DJANGO_TRUSTED_PROXIES)."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, RequestFactory

from dashboard.proxy import ForwardedForMiddleware

ROOT = Path(__file__).resolve().parent.parent


def seen(settings, proxies: list[str], **meta) -> dict:
    """What the application sees of a request with this META after the middleware."""
    settings.TRUSTED_PROXIES = proxies
    captured = {}

    def view(request):
        captured.update(request.META)
        return None

    ForwardedForMiddleware(view)(RequestFactory().get("/", **meta))
    return captured


def test_without_trusted_proxies_the_headers_are_ignored_and_removed(settings):
    meta = seen(
        settings,
        [],
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        HTTP_X_REAL_IP="203.0.113.9",
        HTTP_X_FORWARDED_PROTO="https",
    )
    assert meta["REMOTE_ADDR"] == "127.0.0.1"
    assert not {"HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_X_FORWARDED_PROTO"} & set(meta)


def test_a_peer_that_is_not_a_trusted_proxy_cannot_name_an_address_or_scheme(settings):
    meta = seen(
        settings,
        ["10.0.0.5"],
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        HTTP_X_FORWARDED_PROTO="https",
    )
    assert meta["REMOTE_ADDR"] == "198.51.100.7"
    assert "HTTP_X_FORWARDED_PROTO" not in meta


def test_a_trusted_proxy_names_the_client(settings):
    meta = seen(settings, ["10.0.0.5"], REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert meta["REMOTE_ADDR"] == "203.0.113.9"
    meta = seen(settings, ["10.0.0.0/8"], REMOTE_ADDR="10.1.2.3", HTTP_X_REAL_IP="203.0.113.10")
    assert meta["REMOTE_ADDR"] == "203.0.113.10"
    meta = seen(settings, ["::1"], REMOTE_ADDR="::1", HTTP_X_FORWARDED_FOR="[2001:db8::7]:4711")
    assert meta["REMOTE_ADDR"] == "2001:db8::7"
    meta = seen(settings, ["10.0.0.5"], REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9:4711")
    assert meta["REMOTE_ADDR"] == "203.0.113.9"


def test_the_right_most_untrusted_hop_is_the_client_whatever_the_client_prepended(settings):
    # The client sent "X-Forwarded-For: 192.0.2.1"; a load balancer (10.0.0.9) appended the client's
    # real address, nginx (10.0.0.5) appended the balancer's.
    meta = seen(
        settings,
        ["10.0.0.5", "10.0.0.9"],
        REMOTE_ADDR="10.0.0.5",
        HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.9, 10.0.0.9",
    )
    assert meta["REMOTE_ADDR"] == "203.0.113.9"
    # Only trusted hops: the furthest one is the best known.
    meta = seen(settings, ["10.0.0.0/8"], REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="10.0.0.8, 10.0.0.9")
    assert meta["REMOTE_ADDR"] == "10.0.0.8"


@pytest.mark.parametrize("header", ["", " , ", "unknown", "203.0.113.9, not-an-address", "2001:db8::zz"])
def test_a_header_that_names_no_address_leaves_the_proxy_s(settings, header):
    meta = seen(settings, ["10.0.0.5"], REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR=header)
    assert meta["REMOTE_ADDR"] == "10.0.0.5"


def test_an_ipv4_mapped_peer_is_matched_as_ipv4(settings):
    meta = seen(settings, ["10.0.0.5"], REMOTE_ADDR="::ffff:10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert meta["REMOTE_ADDR"] == "203.0.113.9"


def test_the_request_log_and_the_https_check_see_the_client_behind_the_proxy(db, settings, caplog):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    with caplog.at_level(logging.INFO, logger="dashboard.requests"):
        trusted = Client(REMOTE_ADDR="127.0.0.1").get("/healthz", headers=headers)
        untrusted = Client(REMOTE_ADDR="198.51.100.7").get("/healthz", headers=headers)
    assert "Strict-Transport-Security" in trusted  # taken for HTTPS: the proxy says so
    assert "Strict-Transport-Security" not in untrusted
    addresses = [
        json.loads(r.getMessage())["address"] for r in caplog.records if r.name == "dashboard.requests"
    ]
    assert addresses == ["203.0.113.9", "198.51.100.7"]


def test_the_middleware_runs_first():
    from django.conf import settings

    assert settings.MIDDLEWARE[0] == "dashboard.proxy.ForwardedForMiddleware"


def _settings_in(env: dict) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_"))}
    code = (
        "from django.conf import settings; import runpy; "
        "c = runpy.run_path('gunicorn.conf.py'); "
        "print(settings.TRUSTED_PROXIES, getattr(settings, 'SECURE_PROXY_SSL_HEADER', None), "
        "repr(c['forwarded_allow_ips']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={
            **base,
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "x" * 60,
            **env,
        },
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() or result.stderr.strip().splitlines()[-1]


def test_the_proxy_settings_come_from_the_environment():
    assert _settings_in({}) == "[] None ''"
    assert _settings_in({"DJANGO_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"}) == (
        "['127.0.0.1', '10.0.0.0/8'] ('HTTP_X_FORWARDED_PROTO', 'https') '127.0.0.1, 10.0.0.0/8'"
    )
    assert _settings_in(
        {"DJANGO_TRUSTED_PROXIES": "127.0.0.1", "GUNICORN_FORWARDED_ALLOW_IPS": "::1"}
    ).endswith("'::1'")
    assert "DJANGO_TRUSTED_PROXIES" in _settings_in({"DJANGO_TRUSTED_PROXIES": "nginx.local"})

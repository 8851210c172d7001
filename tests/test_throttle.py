"""Sign-in throttling (dashboard/throttle.py) on the sign-in page and POST /identity/v3/auth/tokens."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from dashboard.models import LoginFailure
from tests.api.conftest import TOKENS_URL, password_auth
from tests.conftest import PASSWORD

HERE, ELSEWHERE = "203.0.113.5", "198.51.100.7"


def sign_in(client: Client, username: str, password: str, address: str = HERE):
    return client.post("/auth/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def token(client: Client, username: str, password: str, address: str = HERE):
    body = json.dumps(password_auth(username, "platform", password=password))
    return client.post(TOKENS_URL, body, content_type="application/json", REMOTE_ADDR=address)


ENDPOINTS = {"page": sign_in, "api": token}


def _pass_the_backoff() -> None:
    """What waiting out the current backoff does, without waiting."""
    LoginFailure.objects.filter(blocked_until__isnull=False).update(
        blocked_until=timezone.now() - timedelta(seconds=1)
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_40_parallel_wrong_passwords_get_at_most_the_limit_checked(alice, platform, endpoint):
    attempt = ENDPOINTS[endpoint]
    barrier = threading.Barrier(40, timeout=30)
    statuses: list[int | Exception] = []

    def guess() -> None:
        try:
            client = Client()
            barrier.wait()
            statuses.append(attempt(client, "alice", "wrong").status_code)
        except Exception as e:  # noqa: BLE001 - reported by the assertion
            statuses.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=guess) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert not any(t.is_alive() for t in threads)
    assert sorted(statuses, key=str) == [401] * 5 + [429] * 35


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_another_address_can_sign_in_while_one_is_throttled(client, alice, platform, endpoint):
    attempt = ENDPOINTS[endpoint]
    for _ in range(5):
        assert attempt(client, "alice", "wrong").status_code == 401
    assert attempt(client, "alice", PASSWORD).status_code == 429

    answer = attempt(Client(), "alice", PASSWORD, address=ELSEWHERE)

    assert answer.status_code in (201, 302)


def test_the_backoff_doubles_up_to_its_cap(client, alice, settings):
    settings.LOGIN_BACKOFF_MAX_SECONDS = 200
    for _ in range(5):
        assert sign_in(client, "alice", "wrong").status_code == 401
    waits = []
    for _ in range(4):
        refused = sign_in(client, "alice", "wrong")
        assert refused.status_code == 429
        waits.append(int(refused["Retry-After"]))
        _pass_the_backoff()
        # One attempt is checked after each backoff, then the next backoff starts.
        assert sign_in(client, "alice", "wrong").status_code == 401
    assert waits == [30, 60, 120, 200]


def test_the_right_password_after_the_backoff_signs_in_and_clears_the_count(client, alice):
    for _ in range(5):
        sign_in(client, "alice", "wrong")
    _pass_the_backoff()

    assert sign_in(client, "alice", PASSWORD).status_code == 302
    # A fresh count: five more attempts are checked.
    assert [sign_in(Client(), "alice", "wrong").status_code for _ in range(5)] == [401] * 5


def test_an_address_trying_many_names_is_throttled_for_every_name(client, alice, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 8
    for n in range(8):
        assert sign_in(client, f"user{n}", "wrong").status_code == 401

    assert sign_in(client, "alice", PASSWORD).status_code == 429
    assert sign_in(Client(), "alice", PASSWORD, address=ELSEWHERE).status_code == 302


def test_successful_sign_ins_do_not_use_up_the_address_limit(client, alice, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    for _ in range(6):
        assert sign_in(Client(), "alice", PASSWORD).status_code == 302
    assert sign_in(client, "bob", "wrong").status_code == 401


def test_an_ipv6_client_is_counted_by_its_64_network(client, alice, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 2
    sign_in(client, "x1", "wrong", address="2001:db8:1:2::1")
    sign_in(client, "x2", "wrong", address="2001:db8:1:2::ffff")

    assert sign_in(client, "alice", PASSWORD, address="2001:db8:1:2::abcd").status_code == 429
    assert sign_in(client, "alice", PASSWORD, address="2001:db8:1:3::1").status_code == 302


def test_it_keeps_no_name_or_address_in_clear(client, alice):
    sign_in(client, "alice", "wrong")

    keys = list(LoginFailure.objects.values_list("key", flat=True))
    assert len(keys) == 2 and not any("alice" in k or HERE in k for k in keys)

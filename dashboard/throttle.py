"""Sign-in throttling, counted atomically in the database (shared by every server process).

Every attempt, from the sign-in page or POST /identity/v3/auth/tokens, counts against two counters:
its (user name, client address) pair, limit LOGIN_FAILURE_LIMIT, and its client address (an IPv6
address by its /64), limit LOGIN_ADDRESS_FAILURE_LIMIT, against one address trying many names. An
attempt is counted *before* its password is checked, in a transaction that locks both counters, so
of any number of parallel attempts at most the limit get their password checked. Past the limit,
one attempt is let through per backoff period, which doubles from LOGIN_BACKOFF_SECONDS up to
LOGIN_BACKOFF_MAX_SECONDS. A success clears its (user, address) counter and gives its attempt back
to the address counter; a counter is forgotten LOGIN_FAILURE_WINDOW seconds after its last attempt.

Nobody locks a user out by naming them: attempts from another address have counters of their own.
"""

import ipaddress
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .models import LoginFailure


class Throttled(Exception):
    """Too many attempts: none is checked for retry_after seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"Too many failed sign-ins: try again in {retry_after} seconds.")
        self.retry_after = retry_after


def wait_in_words(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _network(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _key(*parts: str) -> str:
    # Keyed, so the table does not hold guessable hashes of addresses and names.
    return salted_hmac("dashboard.throttle", "\0".join(parts), algorithm="sha256").hexdigest()


def _counters(username: str, address: str) -> dict[str, int]:
    """{key: limit} for the attempt's pair and address counters."""
    network = _network(address)
    return {
        _key("pair", username.strip().lower(), network): settings.LOGIN_FAILURE_LIMIT,
        _key("address", network): settings.LOGIN_ADDRESS_FAILURE_LIMIT,
    }


def _backoff(attempts: int, limit: int) -> timedelta:
    doublings = min(attempts - limit, 32)
    return timedelta(
        seconds=min(settings.LOGIN_BACKOFF_SECONDS * 2**doublings, settings.LOGIN_BACKOFF_MAX_SECONDS)
    )


def _is_stale(row: LoginFailure, now: datetime) -> bool:
    return row.last_attempt_at <= now - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW) and (
        row.blocked_until is None or row.blocked_until <= now
    )


def attempt(username: str, address: str) -> None:
    """Count a sign-in attempt before its password is checked; Throttled if it must not be."""
    counters = _counters(username, address)
    now = timezone.now()
    with transaction.atomic():
        LoginFailure.objects.bulk_create(
            [LoginFailure(key=key, last_attempt_at=now) for key in counters], ignore_conflicts=True
        )
        # Locked in key order, so two attempts never wait for each other's second row.
        rows = list(LoginFailure.objects.select_for_update().filter(key__in=counters).order_by("key"))
        for row in rows:
            if _is_stale(row, now):
                row.attempts, row.blocked_until = 0, None
        waits = [row.blocked_until - now for row in rows if row.blocked_until and row.blocked_until > now]
        if waits:
            raise Throttled(math.ceil(max(waits).total_seconds()))
        for row in rows:
            row.attempts += 1
            row.last_attempt_at = now
            if row.attempts >= counters[row.key]:
                row.blocked_until = now + _backoff(row.attempts, counters[row.key])
        LoginFailure.objects.bulk_update(rows, ["attempts", "last_attempt_at", "blocked_until"])


def succeeded(username: str, address: str) -> None:
    """The attempt's password was right: clear its pair counter, give its address counter the
    attempt back, and forget counters nobody has used for the window."""
    pair, by_address = _counters(username, address)
    now = timezone.now()
    with transaction.atomic():
        LoginFailure.objects.filter(key=pair).delete()
        row = LoginFailure.objects.select_for_update().filter(key=by_address).first()
        if row is not None and row.attempts > 0:
            row.attempts -= 1
            if row.attempts < settings.LOGIN_ADDRESS_FAILURE_LIMIT:
                row.blocked_until = None
            row.save(update_fields=["attempts", "blocked_until"])
    LoginFailure.objects.filter(
        last_attempt_at__lte=now - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)
    ).exclude(blocked_until__gt=now).delete()

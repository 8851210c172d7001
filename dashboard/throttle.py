"""Failed-login throttling, per user name and per client address, in the shared cache."""

import hashlib

from django.conf import settings
from django.core.cache import cache


def _keys(username: str, address: str) -> list[str]:
    digest = lambda s: hashlib.sha256(s.encode()).hexdigest()[:32]  # noqa: E731
    return [f"login-fail:user:{digest(username.lower())}", f"login-fail:addr:{digest(address)}"]


def is_locked(username: str, address: str) -> bool:
    counts = cache.get_many(_keys(username, address))
    return any(n >= settings.LOGIN_FAILURE_LIMIT for n in counts.values())


def record_failure(username: str, address: str) -> None:
    for key in _keys(username, address):
        if cache.add(key, 1, settings.LOGIN_FAILURE_WINDOW):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, settings.LOGIN_FAILURE_WINDOW)


def clear(username: str) -> None:
    cache.delete(_keys(username, "")[0])

"""Sign-in by session with the user read together with the session (dashboard.sessions).

Django's own get_user still decides who is signed in — the backend named in the session, the
active-user check, the session's auth hash (a password change signs out the other sessions), flush
on a mismatch — only the backend, asked for the user the session names, takes the one the session's
read found instead of reading it again.
"""

from contextvars import ContextVar

from django.contrib import auth
from django.contrib.auth import middleware
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .sessions import signed_in

# The user read with the session of the request being signed in, while get_user runs.
_session_user: ContextVar[User | None] = ContextVar("session_user", default=None)


class SessionUserBackend(ModelBackend):
    """ModelBackend, but get_user takes the user read with the session when that is the one asked for."""

    def get_user(self, user_id: int) -> User | None:
        user = _session_user.get()
        if user is None or user.pk != user_id:
            return super().get_user(user_id)
        return user if self.user_can_authenticate(user) else None


def get_user(request: HttpRequest) -> User | AnonymousUser:
    """django.contrib.auth.get_user, with the user the session's read found at hand."""
    if not hasattr(request, "_cached_user"):
        found = signed_in(request.session)
        token = _session_user.set(found.user if found else None)
        try:
            request._cached_user = auth.get_user(request)  # type: ignore[attr-defined]
        finally:
            _session_user.reset(token)
    return request._cached_user  # type: ignore[attr-defined]


class AuthenticationMiddleware(middleware.AuthenticationMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: get_user(request))  # type: ignore[assignment]

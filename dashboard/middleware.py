from collections.abc import Callable
from typing import Any

from django.contrib.messages.middleware import MessageMiddleware
from django.http import HttpRequest, HttpResponse
from django_htmx.middleware import HtmxMiddleware

from .auth import AuthenticationMiddleware
from .hostile import is_api
from .identity import scopes_for
from .sessions import role_assignments
from .typing import SessionRequest

SESSION_PROJECT_KEY = "project_id"


def pages_only(middleware: type) -> type:
    """`middleware` for the HTML pages only: a request to the OpenStack APIs passes through untouched.

    The APIs authenticate by X-Auth-Token alone and never read the signed-in user, a message or an
    htmx header: for them these middlewares are only cost, and a session sent to the API must not
    act for anyone anyway. (Sessions and CSRF keep Django's own middleware, which costs an API
    request nothing, so that `check --deploy` still finds and checks them.)"""

    # Only __call__ is skipped: a view, exception or template hook would still run for the APIs.
    hooks = ("process_view", "process_exception", "process_template_response")
    if any(hasattr(middleware, hook) for hook in hooks):
        raise TypeError(f"{middleware.__name__} has hooks that pages_only would not skip")

    class PagesOnly(middleware):
        def __call__(self, request: HttpRequest) -> Any:
            if is_api(request):
                return self.get_response(request)
            return super().__call__(request)

    PagesOnly.__name__ = PagesOnly.__qualname__ = f"PagesOnly{middleware.__name__}"
    return PagesOnly


PageAuthenticationMiddleware = pages_only(AuthenticationMiddleware)
PageMessageMiddleware = pages_only(MessageMiddleware)
PageHtmxMiddleware = pages_only(HtmxMiddleware)


class ScopeMiddleware:
    """Attach request.scope: the signed-in user acting for the session's current project."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: SessionRequest) -> HttpResponse:
        request.scope = None
        if is_api(request):
            # The APIs act for the token's project (images.api, dashboard.keystone), not a session's.
            return self.get_response(request)
        if request.user.is_authenticated:
            # The role assignments were read with the session (dashboard.sessions): no query here.
            assignments = role_assignments(request.session, request.user)
            request.scope = scopes_for(request.user, request.session.get(SESSION_PROJECT_KEY), assignments)
            if request.scope and request.session.get(SESSION_PROJECT_KEY) != request.scope.project_id:
                request.session[SESSION_PROJECT_KEY] = request.scope.project_id
        return self.get_response(request)


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Only this server's own scripts, styles and forms: no inline script, no third party."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response

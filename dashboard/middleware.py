from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .identity import scopes_for
from .typing import SessionRequest

SESSION_PROJECT_KEY = "project_id"


class ScopeMiddleware:
    """Attach request.scope: the signed-in user acting for the session's current project."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: SessionRequest) -> HttpResponse:
        request.scope = None
        if request.user.is_authenticated:
            request.scope = scopes_for(request.user, request.session.get(SESSION_PROJECT_KEY))
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

"""Request types for view signatures: what the middleware and decorators attach to a request.

`HttpRequest` does not know about `request.scope` (dashboard.middleware.ScopeMiddleware, or the
Image API's token check) nor `request.htmx` (django-htmx); these subclasses declare them so that
views are type-checked. They are annotations only: Django still passes a plain `HttpRequest`.
"""

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from .identity import Scope


class SessionRequest(HttpRequest):
    """Any request that went through the middleware: maybe anonymous, maybe without a project."""

    user: User | AnonymousUser
    scope: Scope | None
    htmx: HtmxDetails


class SignedInRequest(SessionRequest):
    """Behind `login_required`: a signed-in user, who may still have no project."""

    user: User


class ScopedRequest(SignedInRequest):
    """Behind `project_required` (pages) or a valid X-Auth-Token (API): acting for one project."""

    scope: Scope

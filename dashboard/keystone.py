"""The subset of the Identity API v3 (Keystone) that the `openstack` client needs.

Password authentication scoped to a project (POST /v3/auth/tokens), token validation and
revocation, version discovery, and read-only views of the caller's own projects and user. A
token's catalog points the client at this server's Image API. JSON only, CSRF-exempt: a request
is authenticated by its X-Auth-Token, never by a cookie.
"""

from collections.abc import Callable
from typing import Any

from django.contrib.auth import authenticate, get_user_model
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods

from . import api_responses, hostile, throttle
from .models import ApiToken, Project, RoleAssignment
from .tokens import token_find, token_issue, token_revoke

DOMAIN = {"id": "default", "name": "Default"}
VERSION_ID = "v3.14"


class IdentityError(Exception):
    def __init__(self, status: int, message: str, *, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def _error(request: HttpRequest, status: int, message: str, retry_after: int | None = None) -> HttpResponse:
    """Keystone's JSON error, unless the client prefers HTML or text (dashboard.api_responses)."""
    response = api_responses.error_response(
        request,
        status,
        message,
        offers=api_responses.IDENTITY_API_TYPES,
        json_body=api_responses.keystone_json,
    )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    if status == 401:
        response["WWW-Authenticate"] = f'Keystone uri="{_absolute(request, "identity:versions")}"'
    return response


def api_view(*methods: str) -> Callable:
    """A JSON endpoint: these methods only, no CSRF (no cookie is used), IdentityError → JSON."""

    def decorate(view: Callable) -> Callable:
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except IdentityError as e:
                return _error(request, e.status, str(e), e.retry_after)

        wrapper.__name__ = view.__name__
        wrapper.__doc__ = view.__doc__
        return csrf_exempt(never_cache(require_http_methods(list(methods))(wrapper)))

    return decorate


def _absolute(request: HttpRequest, name: str, *args: Any) -> str:
    return request.build_absolute_uri(reverse(name, args=args))


def _timestamp(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def _caller(request: HttpRequest) -> ApiToken:
    token = token_find(request.headers.get("X-Auth-Token"))
    if token is None:
        raise IdentityError(401, "Authenticate first: X-Auth-Token is missing, expired or revoked.")
    return token


def _version(request: HttpRequest) -> dict:
    return {
        "id": VERSION_ID,
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": _absolute(request, "identity:version") + "/"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    }


@api_view("GET", "HEAD")
def versions(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"versions": {"values": [_version(request)]}}, status=300)


@api_view("GET", "HEAD")
def version(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"version": _version(request)})


# Tokens


def _in_default_domain(reference: Any) -> bool:
    """No domain, or the Default domain by id or name (the only domain here)."""
    if reference is None:
        return True
    if not isinstance(reference, dict):
        return False
    if "id" in reference:
        return str(reference["id"]).lower() == DOMAIN["id"]
    return str(reference.get("name", "")).lower() == DOMAIN["id"]


def _client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


@sensitive_variables("password", "body")
def _authenticate(request: HttpRequest, identity: dict):
    methods = identity.get("methods")
    if methods != ["password"] or not isinstance(identity.get("password"), dict):
        raise IdentityError(401, 'Only the password method is supported: methods must be ["password"].')
    user_ref = identity["password"].get("user")
    if not isinstance(user_ref, dict) or not isinstance(user_ref.get("password"), str):
        raise IdentityError(400, "Give the user (name and domain, or id) and the password.")
    password = user_ref["password"]
    if "id" in user_ref:
        number = hostile.whole_number(str(user_ref["id"]))
        username = (
            get_user_model().objects.filter(pk=number).values_list("username", flat=True).first()
            if number is not None
            else None
        ) or f"id:{user_ref['id']}"
    elif isinstance(user_ref.get("name"), str) and _in_default_domain(user_ref.get("domain")):
        username = user_ref["name"]
    else:
        raise IdentityError(401, "The user is unknown, or not in the Default domain.")
    address = _client_address(request)
    try:
        throttle.attempt(username, address)
    except throttle.Throttled as e:
        raise IdentityError(
            429,
            f"Too many failed authentications. Wait {throttle.wait_in_words(e.retry_after)} and try again.",
            retry_after=e.retry_after,
        ) from None
    user = authenticate(request, username=username, password=password)
    if user is None:
        raise IdentityError(401, "The user name or password is wrong, or the user is disabled.")
    throttle.succeeded(username, address)
    return user


def _scoped_project(scope: Any) -> Project:
    if not isinstance(scope, dict) or not isinstance(scope.get("project"), dict):
        raise IdentityError(
            401, "This server issues project-scoped tokens only: give a project (--os-project-name)."
        )
    ref = scope["project"]
    projects = Project.objects.filter(domain_id=DOMAIN["id"])
    if "id" in ref:
        project = projects.filter(pk=str(ref["id"])).first()
    elif isinstance(ref.get("name"), str) and _in_default_domain(ref.get("domain")):
        project = projects.filter(name=ref["name"]).first()
    else:
        project = None
    if project is None:
        raise IdentityError(401, "You have no role on that project in the Default domain.")
    return project


def _token_body(request: HttpRequest, token: ApiToken, *, catalog: bool = True) -> dict:
    user, project = token.user, token.project
    body = {
        "methods": ["password"],
        "audit_ids": [token.audit_id],
        "issued_at": _timestamp(token.issued_at),
        "expires_at": _timestamp(token.expires_at),
        "user": {
            "id": str(user.pk),
            "name": user.get_username(),
            "domain": DOMAIN,
            "password_expires_at": None,
        },
        "project": {"id": project.pk, "name": project.name, "domain": DOMAIN},
        "is_domain": False,
        "roles": [{"id": role, "name": role} for role in token.roles],
    }
    if catalog:
        body["catalog"] = _catalog(request)
    return {"token": body}


def _catalog(request: HttpRequest) -> list[dict]:
    def service(kind: str, name: str, url: str) -> dict:
        endpoints = [
            {
                "id": f"{name}-{interface}",
                "interface": interface,
                "region": "RegionOne",
                "region_id": "RegionOne",
                "url": url,
            }
            for interface in ("public", "internal", "admin")
        ]
        return {"id": name, "type": kind, "name": name, "endpoints": endpoints}

    return [
        service("image", "glance", _absolute(request, "image-api:versions")),
        service("identity", "keystone", _absolute(request, "identity:version")),
    ]


def _subject(request: HttpRequest, caller: ApiToken) -> ApiToken:
    subject = token_find(request.headers.get("X-Subject-Token"))
    if subject is None:
        raise IdentityError(404, "Could not find the token given in X-Subject-Token (expired or revoked?).")
    if subject.user_id != caller.user_id and not caller.is_admin:
        raise IdentityError(403, "You can validate or revoke only your own tokens.")
    return subject


@sensitive_variables("body")
@api_view("POST", "GET", "HEAD", "DELETE")
def auth_tokens(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _token_issue(request)
    caller = _caller(request)
    subject = _subject(request, caller)
    if request.method == "DELETE":
        token_revoke(token=subject)
        return HttpResponse(status=204)
    if request.method == "HEAD":
        response = HttpResponse(status=200)
    else:
        body = _token_body(request, subject, catalog="nocatalog" not in request.GET)
        response = JsonResponse(body)
    response["X-Subject-Token"] = request.headers["X-Subject-Token"]
    return response


@sensitive_variables("body")
def _token_issue(request: HttpRequest) -> HttpResponse:
    try:
        body = hostile.loads_json(request.body)
    except hostile.HostileInput as e:
        raise IdentityError(400, str(e)) from None
    auth = body.get("auth") if isinstance(body, dict) else None
    if not isinstance(auth, dict) or "identity" not in auth:
        raise IdentityError(400, 'Expected JSON: {"auth": {"identity": {...}, "scope": {...}}}.')
    identity = auth["identity"]
    if not isinstance(identity, dict):
        raise IdentityError(400, "auth.identity must be an object.")
    user = _authenticate(request, identity)
    project = _scoped_project(auth.get("scope"))
    issued = token_issue(user=user, project=project)
    if issued is None:
        raise IdentityError(401, "You have no role on that project in the Default domain.")
    response = JsonResponse(_token_body(request, issued.token), status=201)
    response["X-Subject-Token"] = issued.secret
    return response


# Projects and users: a caller sees the projects it has a role on, and itself; an admin, all.


def _project_body(request: HttpRequest, project: Project) -> dict:
    return {
        "id": project.pk,
        "name": project.name,
        "description": project.description,
        "enabled": project.enabled,
        "domain_id": project.domain_id,
        "parent_id": project.domain_id,
        "is_domain": False,
        "tags": [],
        "options": {},
        "links": {"self": _absolute(request, "identity:project", project.pk)},
    }


def _projects_of(caller: ApiToken):
    if caller.is_admin:
        return Project.objects.all()
    mine = RoleAssignment.objects.filter(user_id=caller.user_id).values("project_id")
    return Project.objects.filter(pk__in=mine, enabled=True)


@api_view("GET", "HEAD")
def projects(request: HttpRequest) -> HttpResponse:
    """Projects the caller has a role on (all of them for an admin), filtered by name and domain.

    Keystone refuses non-admins a project list; here a non-admin may list its own projects, and a
    filter matching none of them is refused the same way (403), which is what the client expects
    before it uses a project ID it cannot look up.
    """
    caller = _caller(request)
    rows = _projects_of(caller)
    filtered = False
    for key in ("name", "domain_id"):
        if key in request.GET:
            rows = rows.filter(**{key: request.GET[key]})
            filtered = True
    if "enabled" in request.GET:
        rows = rows.filter(enabled=request.GET["enabled"].lower() in ("1", "true", "yes"))
        filtered = True
    rows = list(rows.order_by("name"))
    if filtered and not rows and not caller.is_admin:
        raise IdentityError(
            403, "You can list only the projects you have a role on, and none of them matches."
        )
    links = {"self": request.build_absolute_uri(), "next": None, "previous": None}
    return JsonResponse({"projects": [_project_body(request, p) for p in rows], "links": links})


@api_view("GET", "HEAD")
def project(request: HttpRequest, project_id: str) -> HttpResponse:
    caller = _caller(request)
    found = _projects_of(caller).filter(pk=project_id).first()
    if found is None:
        if caller.is_admin:
            raise IdentityError(404, f"Could not find project: {project_id}.")
        raise IdentityError(403, "You can see only the projects you have a role on.")
    return JsonResponse({"project": _project_body(request, found)})


@api_view("GET", "HEAD")
def user(request: HttpRequest, user_id: str) -> HttpResponse:
    caller = _caller(request)
    if user_id != str(caller.user_id) and not caller.is_admin:
        raise IdentityError(403, "You can see only your own user.")
    number = hostile.whole_number(user_id)
    found = get_user_model().objects.filter(pk=number).first() if number is not None else None
    if found is None:
        raise IdentityError(404, f"Could not find user: {user_id}.")
    body = {
        "id": str(found.pk),
        "name": found.get_username(),
        "domain_id": DOMAIN["id"],
        "enabled": found.is_active,
        "email": found.email,
        "password_expires_at": None,
        "options": {},
        "links": {"self": _absolute(request, "identity:user", found.pk)},
    }
    return JsonResponse({"user": body})


app_name = "identity"

# Mounted at "identity/"; the client asks for /identity/v3 exactly, so no pattern ends in a slash
# that the client would not send.
urlpatterns = [
    path("", versions, name="versions"),
    path("v3", version, name="version"),
    path("v3/", version),
    path("v3/auth/tokens", auth_tokens, name="tokens"),
    path("v3/projects", projects, name="projects"),
    path("v3/projects/<str:project_id>", project, name="project"),
    path("v3/users/<str:user_id>", user, name="user"),
]

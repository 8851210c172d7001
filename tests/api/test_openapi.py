"""The OpenAPI description (images/openapi.py, served at /image/openapi.json) against the server.

The document is valid OpenAPI 3.1; real requests through the Django client, errors included, get
responses that match what it says for their path, method and status (openapi-core), and the
successful requests match what it says they take. Every response it describes is produced here,
and every API route and method the server answers is described, so the two cannot drift apart.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pytest
from django.http import HttpRequest
from django.test import Client, RequestFactory
from django.urls import URLResolver, get_resolver, resolve
from openapi_core import Config, OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse
from openapi_core.validation.response.exceptions import InvalidData
from openapi_spec_validator import validate as validate_spec

from dashboard.tokens import token_issue
from images.api import PATCH_TYPES
from images.models import Image, MemberStatus, Status, Visibility
from images.openapi import DOCUMENT

from .conftest import PATCH, TOKENS_URL, password_auth

# nocatalog is a flag (`?nocatalog`), which only allowEmptyValue describes; openapi-core warns it is deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:Use of allowEmptyValue:DeprecationWarning")
# The JSON patch media types are JSON, which openapi-core cannot tell from their names.
SPEC = OpenAPI.from_dict(
    DOCUMENT, config=Config(extra_media_type_deserializers=dict.fromkeys(PATCH_TYPES, json.loads))
)
METHODS = ("get", "head", "post", "put", "patch", "delete")
API_NAMESPACES = {"identity", "image-api"}
JSON = "application/json"


def described_operations() -> dict[str, dict]:
    """{"GET /image/v2/images": the operation, …}"""
    return {
        f"{method.upper()} {path}": item[method]
        for path, item in DOCUMENT["paths"].items()
        for method in METHODS
        if method in item
    }


class Answered(DjangoOpenAPIRequest):
    """The request a response answered: its path and method find the operation. Its body is not
    needed (and a view that streamed it, an upload, leaves none to read)."""

    @property
    def body(self) -> bytes:
        return b""


def checked(response) -> str:
    """Validate the response against the description; the operation it answered, as
    "METHOD /path/{param}"."""
    if response.wsgi_request.resolver_match is None:  # refused before routing (dashboard.hostile)
        response.wsgi_request.resolver_match = resolve(response.wsgi_request.path_info)
    request = Answered(response.wsgi_request)
    SPEC.validate_response(request, DjangoOpenAPIResponse(response))
    return f"{request.method.upper()} {request.path_pattern}"


# The world every request meets: the personas with a token each, and images of every kind.


@dataclass
class Call:
    url: str
    user: str | None = None  # whose token goes in X-Auth-Token
    body: Any = None
    content_type: str = JSON
    headers: dict = field(default_factory=dict)
    environ: dict = field(default_factory=dict)


class World:
    def __init__(self, request, settings, tmp_path, make_image):
        fixture = request.getfixturevalue
        self.users = {name: fixture(name) for name in ("alice", "bob", "dave", "carol", "root")}
        self.projects = {
            p.name: p for p in (fixture(n) for n in ("platform", "app_team", "data_team", "ops"))
        }
        self.homes = {
            "alice": "platform",
            "bob": "app-team",
            "dave": "app-team",
            "carol": "data-team",
            "root": "ops",
        }
        self.settings = settings
        settings.IMAGE_STORE_DIR = tmp_path / "store"
        self.client = Client()
        self.private = make_image("private-base", properties={"os_distro": "ubuntu"})
        pending = {self.app_team: MemberStatus.PENDING}
        self.shared = make_image("shared-base", visibility=Visibility.SHARED, members=pending)
        self.queued = make_image("queued-raw", status=Status.QUEUED, disk_format="raw")
        self.queued_qcow2 = make_image("queued-qcow2", status=Status.QUEUED, disk_format="qcow2")
        self.protected = make_image("protected", protected=True)
        self.no_data = make_image("lost-data", size=3, checksum="0" * 32)  # active, its data gone
        self.tagged = make_image("tagged", tags=[f"t{i}" for i in range(128)])

    @property
    def app_team(self):
        return self.projects["app-team"]

    @cached_property
    def _tokens(self) -> dict[str, str]:
        return {
            name: token_issue(user=user, project=self.projects[self.homes[name]]).secret
            for name, user in self.users.items()
        }

    def token(self, user: str) -> str:
        return self._tokens[user]

    def _arguments(self, method: str, call: Call) -> dict[str, Any]:
        headers = {"Accept": JSON, **call.headers}  # JSON errors, checked against their schema
        if call.user:
            headers["X-Auth-Token"] = self.token(call.user)
        arguments = {"headers": headers, **call.environ}
        if method in ("post", "put", "patch", "delete"):
            body = (
                call.body
                if isinstance(call.body, (str, bytes)) or call.body is None
                else json.dumps(call.body)
            )
            arguments.update(data=body or "", content_type=call.content_type)
        return arguments

    def send(self, method: str, call: Call):
        return getattr(self.client, method)(call.url, **self._arguments(method, call))

    def request(self, method: str, call: Call) -> HttpRequest:
        """The request send() makes, unsent: the view may stream a body that then cannot be read."""
        request = getattr(RequestFactory(), method)(call.url, **self._arguments(method, call))
        request.resolver_match = resolve(request.path_info)
        return request

    def image(self, image: Image, suffix: str = "", user: str = "alice", **kwargs) -> Call:
        return Call(f"/image/v2/images/{image.pk}{suffix}", user, **kwargs)

    def upload(self, image: Image, data: bytes, user: str = "alice"):
        return self.send(
            "put", self.image(image, "/file", user, body=data, content_type="application/octet-stream")
        )


@pytest.fixture
def world(request, settings, tmp_path, make_image) -> World:
    return World(request, settings, tmp_path, make_image)


# The requests: (operation, status, a short name, how to build it in the world).


@dataclass(frozen=True)
class Case:
    operation: str
    status: int
    name: str
    build: Callable[[World], Call]

    @property
    def method(self) -> str:
        return self.operation.split()[0].lower()


def subject(w: World, caller: str, token_of: str | None = None, query: str = "") -> Call:
    secret = w.token(token_of) if token_of else "not-a-token"
    return Call(TOKENS_URL + query, caller, headers={"X-Subject-Token": secret})


def throttled(w: World) -> Call:
    w.settings.LOGIN_FAILURE_LIMIT = 1
    w.send("post", Call(TOKENS_URL, body=password_auth("alice", "platform", password="wrong")))
    return Call(TOKENS_URL, body=password_auth("alice", "platform"))


def unscoped(w: World) -> Call:
    body = password_auth("alice", "platform")
    del body["auth"]["scope"]
    return Call(TOKENS_URL, body=body)


def uploaded(w: World) -> Call:
    assert w.upload(w.queued, b"\0" * 4096).status_code == 204
    return w.image(w.queued, "/file")


def over_storage_quota(w: World) -> Call:
    w.settings.IMAGE_QUOTA_SIZE_TOTAL = 10
    return w.image(w.queued, "/file", body=b"\0" * 100, content_type="application/octet-stream")


def store_cannot_save(w: World) -> Call:
    (w.settings.IMAGE_STORE_DIR / str(w.queued.pk)).mkdir(parents=True)  # the data's name is taken
    return w.image(w.queued, "/file", body=b"\0" * 100, content_type="application/octet-stream")


def over_image_count(w: World) -> Call:
    w.settings.IMAGE_QUOTA_COUNT_TOTAL = Image.objects.filter(owner__name="platform").count()
    return Call("/image/v2/images", "alice", body={"name": "one-too-many"})


def over_member_limit(w: World) -> Call:
    w.settings.IMAGE_MEMBER_QUOTA = 1
    return w.image(w.shared, "/members", body={"member": w.projects["data-team"].pk})


def deactivated(w: World) -> Call:
    assert w.send("post", w.image(w.private, "/actions/deactivate", "root")).status_code == 204
    return w.image(w.private, "/actions/reactivate", "root")


def project(w: World, name: str) -> str:
    return w.projects[name].pk


TOKENS, IMAGES = "/identity/v3/auth/tokens", "/image/v2/images"
IMAGE, FILE = f"{IMAGES}/{{image_id}}", f"{IMAGES}/{{image_id}}/file"
ACTION, TAG = f"{IMAGES}/{{image_id}}/actions/{{action}}", f"{IMAGES}/{{image_id}}/tags/{{tag}}"
MEMBERS, MEMBER = f"{IMAGES}/{{image_id}}/members", f"{IMAGES}/{{image_id}}/members/{{member_id}}"
NOT_JSON = "{not json"

CASES = [
    # Identity: discovery, tokens, projects, users
    Case("GET /identity/", 300, "versions", lambda w: Call("/identity/")),
    Case("GET /identity/v3", 200, "version", lambda w: Call("/identity/v3")),
    Case("GET /identity/v3/", 200, "version", lambda w: Call("/identity/v3/")),
    Case(f"POST {TOKENS}", 201, "issue", lambda w: Call(TOKENS_URL, body=password_auth("alice", "platform"))),
    Case(
        f"POST {TOKENS}",
        201,
        "issue-by-ids",
        lambda w: Call(TOKENS_URL, body=password_auth("alice", "", id=project(w, "platform"))),
    ),
    Case(f"POST {TOKENS}", 400, "not-json", lambda w: Call(TOKENS_URL, body=NOT_JSON)),
    Case(
        f"POST {TOKENS}",
        401,
        "wrong-password",
        lambda w: Call(TOKENS_URL, body=password_auth("alice", "platform", password="wrong")),
    ),
    Case(
        f"POST {TOKENS}",
        401,
        "wrong-scope",
        lambda w: Call(TOKENS_URL, body=password_auth("alice", "data-team")),
    ),
    Case(f"POST {TOKENS}", 401, "unscoped", unscoped),
    Case(f"POST {TOKENS}", 429, "throttled", throttled),
    Case(f"GET {TOKENS}", 200, "validate", lambda w: subject(w, "alice", "alice")),
    Case(f"GET {TOKENS}", 200, "validate-nocatalog", lambda w: subject(w, "root", "alice", "?nocatalog")),
    Case(f"GET {TOKENS}", 403, "another-users", lambda w: subject(w, "bob", "alice")),
    Case(f"GET {TOKENS}", 404, "unknown", lambda w: subject(w, "alice")),
    Case(f"DELETE {TOKENS}", 204, "revoke", lambda w: subject(w, "alice", "alice")),
    Case(f"DELETE {TOKENS}", 403, "another-users", lambda w: subject(w, "bob", "alice")),
    Case(f"DELETE {TOKENS}", 404, "unknown", lambda w: subject(w, "alice")),
    Case(
        "GET /identity/v3/projects",
        200,
        "by-name",
        lambda w: Call("/identity/v3/projects?name=app-team", "bob"),
    ),
    Case("GET /identity/v3/projects", 200, "all-for-admin", lambda w: Call("/identity/v3/projects", "root")),
    Case(
        "GET /identity/v3/projects",
        403,
        "not-mine",
        lambda w: Call("/identity/v3/projects?name=platform", "bob"),
    ),
    Case(
        "GET /identity/v3/projects/{project_id}",
        200,
        "mine",
        lambda w: Call(f"/identity/v3/projects/{project(w, 'app-team')}", "bob"),
    ),
    Case(
        "GET /identity/v3/projects/{project_id}",
        403,
        "not-mine",
        lambda w: Call(f"/identity/v3/projects/{project(w, 'platform')}", "bob"),
    ),
    Case(
        "GET /identity/v3/projects/{project_id}",
        404,
        "unknown-to-admin",
        lambda w: Call("/identity/v3/projects/nope", "root"),
    ),
    Case(
        "GET /identity/v3/users/{user_id}",
        200,
        "myself",
        lambda w: Call(f"/identity/v3/users/{w.users['bob'].pk}", "bob"),
    ),
    Case(
        "GET /identity/v3/users/{user_id}",
        403,
        "another",
        lambda w: Call(f"/identity/v3/users/{w.users['alice'].pk}", "bob"),
    ),
    Case(
        "GET /identity/v3/users/{user_id}",
        404,
        "unknown-to-admin",
        lambda w: Call("/identity/v3/users/999999", "root"),
    ),
    # Image: discovery and this document
    Case("GET /image/", 300, "versions", lambda w: Call("/image/")),
    Case("GET /image/versions", 200, "versions", lambda w: Call("/image/versions")),
    Case("GET /image/openapi.json", 200, "document", lambda w: Call("/image/openapi.json")),
    # Images
    Case(f"GET {IMAGES}", 200, "catalog-with-pending-share", lambda w: Call(IMAGES, "bob")),
    Case(
        f"GET {IMAGES}",
        200,
        "first-page",
        lambda w: Call(f"{IMAGES}?limit=1&sort_key=name&sort_dir=asc", "alice"),
    ),
    Case(
        f"GET {IMAGES}",
        200,
        "next-page",
        lambda w: Call(f"{IMAGES}?limit=2&sort=name:asc,created_at:desc&marker={w.private.pk}", "alice"),
    ),
    Case(
        f"GET {IMAGES}",
        200,
        "property-filter",
        lambda w: Call(
            f"{IMAGES}?visibility=private&os_distro=ubuntu&status=active&protected=false", "alice"
        ),
    ),
    Case(
        f"GET {IMAGES}",
        200,
        "size-filter",
        lambda w: Call(f"{IMAGES}?size_min=1&size_max=10&os_hidden=false", "alice"),
    ),
    Case(
        f"GET {IMAGES}", 200, "tags", lambda w: Call(f"{IMAGES}?tag=t1&tag=t2&name=in:tagged,other", "alice")
    ),
    Case(
        f"GET {IMAGES}",
        200,
        "pending-shares",
        lambda w: Call(f"{IMAGES}?visibility=shared&member_status=pending", "bob"),
    ),
    Case(f"GET {IMAGES}", 400, "bad-sort-key", lambda w: Call(f"{IMAGES}?sort_key=colour", "alice")),
    Case(f"GET {IMAGES}", 400, "negative-limit", lambda w: Call(f"{IMAGES}?limit=-1", "alice")),
    Case(f"GET {IMAGES}", 400, "unknown-marker", lambda w: Call(f"{IMAGES}?marker={w.private.pk}", "carol")),
    Case(
        f"POST {IMAGES}",
        201,
        "create",
        lambda w: Call(
            IMAGES,
            "alice",
            body={
                "name": "new",
                "disk_format": "qcow2",
                "container_format": "bare",
                "tags": ["gpu"],
                "os_distro": "ubuntu",
                "min_ram": 512,
            },
        ),
    ),
    Case(
        f"POST {IMAGES}",
        400,
        "bad-format",
        lambda w: Call(IMAGES, "alice", body={"name": "x", "disk_format": "floppy"}),
    ),
    Case(
        f"POST {IMAGES}",
        403,
        "read-only-field",
        lambda w: Call(IMAGES, "alice", body={"name": "x", "status": "active"}),
    ),
    Case(f"POST {IMAGES}", 403, "reader", lambda w: Call(IMAGES, "dave", body={"name": "x"})),
    Case(f"POST {IMAGES}", 413, "image-count-quota", over_image_count),
    Case(f"GET {IMAGE}", 200, "owner", lambda w: w.image(w.private)),
    Case(f"GET {IMAGE}", 200, "pending-member", lambda w: w.image(w.shared, user="bob")),
    Case(f"GET {IMAGE}", 404, "invisible", lambda w: w.image(w.private, user="carol")),
    Case(f"GET {IMAGE}", 404, "malformed-id", lambda w: Call(f"{IMAGES}/not-a-uuid", "alice")),
    Case(
        f"PATCH {IMAGE}",
        200,
        "update",
        lambda w: w.image(
            w.private,
            body=[
                {"op": "replace", "path": "/name", "value": "renamed"},
                {"op": "add", "path": "/hw_disk_bus", "value": "scsi"},
                {"op": "remove", "path": "/os_distro"},
            ],
            content_type=PATCH,
        ),
    ),
    Case(
        f"PATCH {IMAGE}",
        400,
        "malformed",
        lambda w: w.image(w.private, body=[{"op": "move", "path": "/name"}], content_type=PATCH),
    ),
    Case(
        f"PATCH {IMAGE}",
        403,
        "read-only-field",
        lambda w: w.image(
            w.private, body=[{"op": "replace", "path": "/status", "value": "x"}], content_type=PATCH
        ),
    ),
    Case(
        f"PATCH {IMAGE}",
        403,
        "public-by-non-admin",
        lambda w: w.image(
            w.private, body=[{"op": "replace", "path": "/visibility", "value": "public"}], content_type=PATCH
        ),
    ),
    Case(
        f"PATCH {IMAGE}",
        404,
        "invisible",
        lambda w: w.image(w.private, user="carol", body=[], content_type=PATCH),
    ),
    Case(
        f"PATCH {IMAGE}",
        409,
        "missing-property",
        lambda w: w.image(w.private, body=[{"op": "remove", "path": "/nope"}], content_type=PATCH),
    ),
    Case(
        f"PATCH {IMAGE}",
        413,
        "too-many-tags",
        lambda w: w.image(
            w.tagged,
            body=[{"op": "replace", "path": "/tags", "value": [*w.tagged.tags, "one-more"]}],
            content_type=PATCH,
        ),
    ),
    Case(f"PATCH {IMAGE}", 415, "plain-json", lambda w: w.image(w.private, body=[])),
    Case(f"DELETE {IMAGE}", 204, "delete", lambda w: w.image(w.private)),
    Case(f"DELETE {IMAGE}", 403, "protected", lambda w: w.image(w.protected)),
    Case(f"DELETE {IMAGE}", 404, "invisible", lambda w: w.image(w.private, user="carol")),
    # Image data
    Case(
        f"PUT {FILE}",
        204,
        "upload",
        lambda w: w.image(w.queued, "/file", body=b"\0" * 4096, content_type="application/octet-stream"),
    ),
    Case(
        f"PUT {FILE}",
        400,
        "not-its-format",
        lambda w: w.image(
            w.queued_qcow2, "/file", body=b"\0" * 4096, content_type="application/octet-stream"
        ),
    ),
    Case(
        f"PUT {FILE}",
        403,
        "member",
        lambda w: w.image(w.shared, "/file", "bob", body=b"x", content_type="application/octet-stream"),
    ),
    Case(
        f"PUT {FILE}",
        404,
        "invisible",
        lambda w: w.image(w.queued, "/file", "carol", body=b"x", content_type="application/octet-stream"),
    ),
    Case(
        f"PUT {FILE}",
        409,
        "has-data",
        lambda w: w.image(w.private, "/file", body=b"x", content_type="application/octet-stream"),
    ),
    Case(
        f"PUT {FILE}",
        411,
        "no-length",
        lambda w: w.image(
            w.queued,
            "/file",
            body=b"x",
            environ={"CONTENT_LENGTH": ""},
            content_type="application/octet-stream",
        ),
    ),
    Case(f"PUT {FILE}", 413, "storage-quota", over_storage_quota),
    Case(
        f"PUT {FILE}",
        415,
        "not-octet-stream",
        lambda w: w.image(w.queued, "/file", body="x", content_type="text/plain"),
    ),
    Case(f"PUT {FILE}", 503, "store-fails", store_cannot_save),
    Case(f"GET {FILE}", 200, "download", uploaded),
    Case(f"GET {FILE}", 403, "pending-member", lambda w: w.image(w.shared, "/file", "bob")),
    Case(f"GET {FILE}", 404, "invisible", lambda w: w.image(w.private, "/file", "carol")),
    Case(f"GET {FILE}", 409, "no-data-yet", lambda w: w.image(w.queued, "/file")),
    Case(f"GET {FILE}", 503, "data-gone", lambda w: w.image(w.no_data, "/file")),
    # Actions and tags
    Case(f"POST {ACTION}", 204, "deactivate", lambda w: w.image(w.private, "/actions/deactivate", "root")),
    Case(f"POST {ACTION}", 204, "reactivate", deactivated),
    Case(f"POST {ACTION}", 403, "not-owner", lambda w: w.image(w.shared, "/actions/deactivate", "bob")),
    Case(f"POST {ACTION}", 404, "unknown-action", lambda w: w.image(w.private, "/actions/explode", "root")),
    Case(
        f"POST {ACTION}", 409, "not-deactivated", lambda w: w.image(w.private, "/actions/reactivate", "root")
    ),
    Case(f"PUT {TAG}", 204, "add", lambda w: w.image(w.private, "/tags/gpu")),
    Case(f"PUT {TAG}", 400, "too-long", lambda w: w.image(w.private, "/tags/" + "x" * 256)),
    Case(f"PUT {TAG}", 403, "member", lambda w: w.image(w.shared, "/tags/gpu", "bob")),
    Case(f"PUT {TAG}", 404, "invisible", lambda w: w.image(w.private, "/tags/gpu", "carol")),
    Case(f"PUT {TAG}", 413, "too-many", lambda w: w.image(w.tagged, "/tags/one-more")),
    Case(f"DELETE {TAG}", 204, "remove", lambda w: w.image(w.tagged, "/tags/t0")),
    Case(f"DELETE {TAG}", 403, "member", lambda w: w.image(w.shared, "/tags/gpu", "bob")),
    Case(f"DELETE {TAG}", 404, "not-tagged", lambda w: w.image(w.private, "/tags/gpu")),
    # Members
    Case(f"GET {MEMBERS}", 200, "owner", lambda w: w.image(w.shared, "/members")),
    Case(f"GET {MEMBERS}", 200, "member", lambda w: w.image(w.shared, "/members", "bob")),
    Case(f"GET {MEMBERS}", 403, "not-shared", lambda w: w.image(w.private, "/members")),
    Case(f"GET {MEMBERS}", 404, "invisible", lambda w: w.image(w.private, "/members", "carol")),
    Case(
        f"POST {MEMBERS}",
        200,
        "share",
        lambda w: w.image(w.shared, "/members", body={"member": project(w, "data-team")}),
    ),
    Case(
        f"POST {MEMBERS}",
        400,
        "not-a-project",
        lambda w: w.image(w.shared, "/members", body={"member": "0" * 32}),
    ),
    Case(
        f"POST {MEMBERS}",
        403,
        "not-shared",
        lambda w: w.image(w.private, "/members", body={"member": project(w, "app-team")}),
    ),
    Case(
        f"POST {MEMBERS}",
        404,
        "invisible",
        lambda w: w.image(w.private, "/members", "carol", body={"member": project(w, "app-team")}),
    ),
    Case(
        f"POST {MEMBERS}",
        409,
        "duplicate",
        lambda w: w.image(w.shared, "/members", body={"member": project(w, "app-team")}),
    ),
    Case(f"POST {MEMBERS}", 413, "member-limit", over_member_limit),
    Case(
        f"GET {MEMBER}",
        200,
        "own-share",
        lambda w: w.image(w.shared, f"/members/{project(w, 'app-team')}", "bob"),
    ),
    Case(
        f"GET {MEMBER}", 403, "not-shared", lambda w: w.image(w.private, f"/members/{project(w, 'app-team')}")
    ),
    Case(
        f"GET {MEMBER}",
        404,
        "not-a-member",
        lambda w: w.image(w.shared, f"/members/{project(w, 'data-team')}"),
    ),
    Case(
        f"PUT {MEMBER}",
        200,
        "accept",
        lambda w: w.image(w.shared, f"/members/{project(w, 'app-team')}", "bob", body={"status": "accepted"}),
    ),
    Case(
        f"PUT {MEMBER}",
        400,
        "bad-status",
        lambda w: w.image(w.shared, f"/members/{project(w, 'app-team')}", "bob", body={"status": "maybe"}),
    ),
    Case(
        f"PUT {MEMBER}",
        403,
        "owner-answers",
        lambda w: w.image(w.shared, f"/members/{project(w, 'app-team')}", body={"status": "accepted"}),
    ),
    Case(
        f"PUT {MEMBER}",
        404,
        "not-a-member",
        lambda w: w.image(w.shared, f"/members/{project(w, 'data-team')}", body={"status": "accepted"}),
    ),
    Case(
        f"DELETE {MEMBER}", 204, "remove", lambda w: w.image(w.shared, f"/members/{project(w, 'app-team')}")
    ),
    Case(
        f"DELETE {MEMBER}",
        403,
        "member",
        lambda w: w.image(w.shared, f"/members/{project(w, 'app-team')}", "bob"),
    ),
    Case(
        f"DELETE {MEMBER}",
        404,
        "not-a-member",
        lambda w: w.image(w.shared, f"/members/{project(w, 'data-team')}"),
    ),
    # Schemas and usage
    *[
        Case(
            "GET /image/v2/schemas/{name}",
            200,
            name,
            lambda w, name=name: Call(f"/image/v2/schemas/{name}", "bob"),
        )
        for name in ("image", "images", "member", "members")
    ],
    Case("GET /image/v2/schemas/{name}", 404, "unknown", lambda w: Call("/image/v2/schemas/task", "bob")),
    Case("GET /image/v2/info/usage", 200, "usage", lambda w: Call("/image/v2/info/usage", "alice")),
]


def _derived() -> list[Case]:
    """HEAD for every GET case where HEAD is described; for every operation that needs a token,
    its first case without one (401); and for every operation without a 400 case, its first case
    with a NUL character in the query string (400)."""
    operations = described_operations()
    derived = [
        Case(f"HEAD {case.operation.split()[1]}", case.status, case.name, case.build)
        for case in CASES
        if case.method == "get" and f"HEAD {case.operation.split()[1]}" in operations
    ]
    first = {}
    for case in CASES + derived:
        first.setdefault(case.operation, case)
    for operation, case in first.items():
        if operations[operation].get("security") != [] and "401" in operations[operation]["responses"]:
            derived.append(Case(operation, 401, "no-token", lambda w, build=case.build: _anonymous(build(w))))
    for operation in operations:
        if not any(case.operation == operation and case.status == 400 for case in CASES + derived):
            derived.append(
                Case(operation, 400, "nul-in-query", lambda w, build=first[operation].build: _nul(build(w)))
            )
    return derived


def _nul(call: Call) -> Call:
    """The same call with a NUL character in its query string (dashboard.hostile refuses it)."""
    call.url += ("&" if "?" in call.url else "?") + "x=%00"
    return call


def _anonymous(call: Call) -> Call:
    call.user = None
    return call


ALL_CASES = CASES + _derived()


# The document


def test_it_is_a_valid_openapi_3_1_document():
    validate_spec(DOCUMENT)

    assert DOCUMENT["openapi"].startswith("3.1")


def test_it_is_served_at_a_stable_url(client):
    response = client.get("/image/openapi.json")

    assert response.status_code == 200
    assert response["Content-Type"] == JSON
    assert response.json() == json.loads(json.dumps(DOCUMENT))


# Live responses


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda case: f"{case.operation} {case.status} {case.name}")
def test_the_response_is_the_described_one(world, case):
    call = case.build(world)
    if case.status < 400:  # a request that works is one the description says the operation takes
        SPEC.validate_request(DjangoOpenAPIRequest(world.request(case.method, call)))

    response = world.send(case.method, call)

    assert response.status_code == case.status, response.content
    assert checked(response) == case.operation


LIST_CASES = [case for case in CASES if case.operation == f"GET {IMAGES}" and case.status == 200]


@pytest.mark.parametrize("case", LIST_CASES, ids=lambda case: case.name)
def test_the_list_requests_list_images_to_check(world, case):
    assert world.send("get", case.build(world)).json()["images"]


def test_the_check_refuses_a_response_that_departs_from_the_description(world):
    response = world.send("get", world.image(world.private))
    assert checked(response) == f"GET {IMAGE}"

    body = response.json()
    body["min_ram"] = "lots"
    response.content = json.dumps(body).encode()

    with pytest.raises(InvalidData):
        checked(response)


def test_every_described_response_is_produced():
    described = {
        (operation, int(status))
        for operation, spec in described_operations().items()
        for status in spec["responses"]
    }

    assert {(case.operation, case.status) for case in ALL_CASES} == described


def test_the_error_statuses_issue_4_names_are_all_exercised():
    errors = {case.status for case in ALL_CASES if case.status >= 400}

    assert {400, 401, 403, 404, 409, 413, 415} <= errors


# Routes and methods


def _api_routes(patterns=None, prefix: str = "", namespace: str | None = None):
    """("/image/v2/images/{image_id}", namespace) for every route the server has."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from _api_routes(
                pattern.url_patterns, prefix + str(pattern.pattern), pattern.namespace or namespace
            )
        else:
            yield "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", prefix + str(pattern.pattern)), namespace


def test_every_api_route_is_described_and_nothing_else():
    served = {route for route, namespace in _api_routes() if namespace in API_NAMESPACES}

    assert served == set(DOCUMENT["paths"])


@pytest.mark.parametrize("path", sorted(DOCUMENT["paths"]))
def test_the_server_answers_exactly_the_described_methods(client, path):
    url = re.sub(r"\{\w+\}", "6d1c4f0e-0000-4000-8000-000000000000", path)
    described = {method for method in METHODS if method in DOCUMENT["paths"][path]}

    answered = {method for method in METHODS if getattr(client, method)(url).status_code != 405}

    assert answered == described

"""The subset of the Image API v2 (Glance) that the `openstack` client, scripts, Terraform and
Packer use: images, their data, tags and members, schemas and quota usage.

Every view: the token's Scope → find through images.access → one images.services call → JSON.
The API adds no rule of its own; services' errors become Glance-shaped errors (HTML, JSON or text, as the client asks) with the
services' status codes, and an image the project may not see is 404.
"""

import json
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import F, Q, QuerySet, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
    UnreadablePostError,
)
from django.urls import reverse
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from dashboard import api_responses, hostile
from dashboard.identity import Scope
from dashboard.tokens import scope_of, token_find
from dashboard.typing import ScopedRequest, SessionRequest

from . import access, quotas, request_body, services
from . import properties as well_known
from .listing import first_rows
from .models import ContainerFormat, DiskFormat, Image, ImageMember, MemberStatus, ProjectQuota, Status

PATCH_TYPES = ("application/openstack-images-v2.1-json-patch", "application/openstack-images-v2.0-json-patch")
# Glance's limit_param_default and api_limit_max.
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000


# What django.views.decorators.cache.never_cache sends, written once instead of merged per response.
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


def _json(body: Any, status: int = 200) -> HttpResponse:
    """The body as JSON (json.dumps' own encoder: API documents hold only JSON types)."""
    return HttpResponse(json.dumps(body), content_type="application/json", status=status)


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _error(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """An error as Glance answers it: HTML by default, JSON or plain text if asked for
    (dashboard.api_responses)."""
    response = api_responses.error_response(request, status, message)
    if status == 401:
        response["WWW-Authenticate"] = (
            f'Keystone uri="{request.build_absolute_uri(reverse("identity:versions"))}"'
        )
    if status == 415:
        response["Accept-Patch"] = PATCH_TYPES[0]
    return response


def api_view(*methods: str, authenticated: bool = True) -> Callable:
    """A JSON endpoint: these methods only, the caller's Scope from X-Auth-Token (401 without),
    and every refusal (ServiceError, 404, 403, bad input) as a Glance-shaped error."""

    def decorate(view: Callable) -> Callable:
        def answer(request: SessionRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            try:
                if authenticated:
                    token = token_find(request.META.get("HTTP_X_AUTH_TOKEN"))
                    if token is None:
                        raise ApiError(
                            401, "Authenticate first: X-Auth-Token is missing, expired or revoked."
                        )
                    request.scope = scope_of(token)
                return view(request, *args, **kwargs)
            except ApiError as e:
                return _error(request, e.status, str(e))
            except services.ServiceError as e:
                return _error(request, e.status_code, str(e))
            except Http404 as e:
                return _error(request, 404, str(e) or "Not found.")
            except PermissionDenied as e:
                return _error(request, 403, str(e) or "Forbidden.")

        checked = require_http_methods(list(methods))(answer)

        def wrapper(request: SessionRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            response = checked(request, *args, **kwargs)
            # never_cache's headers: Expires now (unless set) and Cache-Control.
            if "Expires" not in response.headers:
                response.headers["Expires"] = http_date()
            response.headers["Cache-Control"] = NEVER_CACHE
            return response

        wrapper.__name__ = view.__name__
        wrapper.__doc__ = view.__doc__
        return csrf_exempt(wrapper)

    return decorate


def _json_body(request: HttpRequest) -> Any:
    try:
        return hostile.loads_json(request.body or b"null")
    except hostile.HostileInput as e:
        raise ApiError(400, str(e)) from None


def _image(scope: Scope, image_id: str) -> Image:
    """The image if the project may see it; 404 for anything else, malformed IDs included."""
    try:
        uuid.UUID(image_id)
    except ValueError:
        raise Http404(f"No image found with ID {image_id}.") from None
    try:
        return access.get_image_for(scope, image_id)
    except Http404:
        raise Http404(f"No image found with ID {image_id}.") from None


def _time(moment) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def image_document(image: Image) -> dict:
    """An image as Glance shows it: its fields, then its free properties at the top level."""
    document = dict(image.properties.items())
    document.update(
        {
            "id": str(image.pk),
            "name": image.name or None,
            "status": image.status,
            "visibility": image.visibility,
            "protected": image.protected,
            "os_hidden": image.os_hidden,
            "owner": image.owner_id,
            "disk_format": image.disk_format or None,
            "container_format": image.container_format or None,
            "size": image.size,
            "virtual_size": image.virtual_size,
            "checksum": image.checksum or None,
            "os_hash_algo": image.os_hash_algo or None,
            "os_hash_value": image.os_hash_value or None,
            "min_disk": image.min_disk,
            "min_ram": image.min_ram,
            "tags": list(image.tags),
            "created_at": _time(image.created_at),
            "updated_at": _time(image.updated_at),
            "self": f"/v2/images/{image.pk}",
            "file": f"/v2/images/{image.pk}/file",
            "schema": "/v2/schemas/image",
        }
    )
    return document


def member_document(share: ImageMember) -> dict:
    return {
        "image_id": str(share.image_id),
        "member_id": share.member_id,
        "status": share.status,
        "created_at": _time(share.created_at),
        "updated_at": _time(share.updated_at),
        "schema": "/v2/schemas/member",
    }


# Version discovery


def _versions(request: HttpRequest) -> dict:
    href = request.build_absolute_uri(reverse("image-api:versions")) + "v2/"
    return {
        "versions": [
            {"id": "v2.16", "status": "CURRENT", "links": [{"rel": "self", "href": href}]},
            {"id": "v2.0", "status": "SUPPORTED", "links": [{"rel": "self", "href": href}]},
        ]
    }


@api_view("GET", "HEAD", authenticated=False)
def versions(request: HttpRequest) -> HttpResponse:
    return _json(_versions(request), status=300)


@api_view("GET", "HEAD", authenticated=False)
def versions_list(request: HttpRequest) -> HttpResponse:
    return _json(_versions(request))


# Images


# Glance's sort keys; nullable columns sort as the smallest value.
SORT_KEYS = {
    "name": F("name"),
    "status": F("status"),
    "container_format": F("container_format"),
    "disk_format": F("disk_format"),
    "size": Coalesce(F("size"), Value(-1)),
    "virtual_size": Coalesce(F("virtual_size"), Value(-1)),
    "id": F("id"),
    "created_at": F("created_at"),
    "updated_at": F("updated_at"),
    "visibility": F("visibility"),
    "min_disk": F("min_disk"),
    "min_ram": F("min_ram"),
    "owner": F("owner_id"),
}
LIST_PARAMS = {
    "limit",
    "marker",
    "sort_key",
    "sort_dir",
    "sort",
    "visibility",
    "member_status",
    "owner",
    "name",
    "status",
    "os_hidden",
    "tag",
    "size_min",
    "size_max",
    "protected",
    "id",
}


def _boolean(name: str, raw: str) -> bool:
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise ApiError(400, f"{name} must be true or false, not {raw!r}.")


# The largest value a size column (a 64-bit integer) holds.
MAX_INTEGER = 2**63 - 1


def _integer(name: str, raw: str, *, minimum: int = 0) -> int:
    """A whole number in ASCII digits ("²" is a digit to str.isdigit, not to a database)."""
    digits = raw[1:] if raw.startswith("-") else raw
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
        raise ApiError(400, f"{name} must be a whole number, not {raw[:40]!r}.")
    value = int(raw)
    if value < minimum:
        raise ApiError(400, f"{name} must be {minimum} or more, not {value}.")
    if value > MAX_INTEGER:
        raise ApiError(400, f"{name} must be at most {MAX_INTEGER}.")
    return value


def _sort_order(request: HttpRequest) -> list[tuple[str, str]]:
    """[(key, direction)] from `sort=name:asc,…` or `sort_key`/`sort_dir`; default newest first."""
    get = request.GET
    if "sort" in get:
        if "sort_key" in get or "sort_dir" in get:
            raise ApiError(400, "Use either sort or sort_key/sort_dir, not both.")
        order = []
        for part in get["sort"].split(","):
            key, _, direction = part.strip().partition(":")
            order.append((key, direction or "desc"))
    else:
        keys = get.getlist("sort_key") or ["created_at"]
        dirs = get.getlist("sort_dir") or ["desc"]
        if len(dirs) == 1:
            dirs = dirs * len(keys)
        if len(dirs) != len(keys):
            raise ApiError(400, "Give one sort_dir, or one for each sort_key.")
        order = list(zip(keys, dirs, strict=False))
    for key, direction in order:
        if key not in SORT_KEYS:
            raise ApiError(
                400, f"Invalid sort key: {key}. It must be one of: {', '.join(sorted(SORT_KEYS))}."
            )
        if direction not in ("asc", "desc"):
            raise ApiError(400, f"Invalid sort direction: {direction}. It must be asc or desc.")
    if "id" not in [key for key, _ in order]:
        order.append(("id", order[-1][1]))
    return order


def _tag_filter(tag: str) -> Q:
    if connection.vendor == "postgresql":
        return Q(tags__contains=[tag])
    # SQLite has no JSON containment: match the tag as a quoted JSON string in the stored list.
    return Q(tags__icontains=json.dumps(tag))


def _filtered(request: HttpRequest, scope: Scope) -> list[QuerySet[Image]]:
    """The list's disjoint parts (access.api_listed_image_parts), each narrowed by the filters."""
    get = request.GET
    visibility = get.get("visibility")
    if visibility is not None and visibility not in access.API_VISIBILITIES:
        raise ApiError(
            400, f"Invalid visibility value: {visibility}. Use {', '.join(access.API_VISIBILITIES)}."
        )
    member_status = get.get("member_status")
    if member_status is not None and member_status not in access.API_MEMBER_STATUSES:
        raise ApiError(
            400, f"Invalid member_status: {member_status}. Use {', '.join(access.API_MEMBER_STATUSES)}."
        )
    hidden = _boolean("os_hidden", get["os_hidden"]) if "os_hidden" in get else False
    parts = access.api_listed_image_parts(
        scope, visibility=visibility, member_status=member_status, hidden=hidden
    )
    return [_narrowed(request, qs) for qs in parts]


def _narrowed(request: HttpRequest, qs: QuerySet[Image]) -> QuerySet[Image]:
    get = request.GET
    for name in ("name", "status", "owner", "id"):
        if name in get:
            values = get[name][3:].split(",") if get[name].startswith("in:") else [get[name]]
            if name == "id":
                values = [_image_id("id", value) for value in values]
            qs = qs.filter(**{f"{'owner_id' if name == 'owner' else name}__in": values})
    if "protected" in get:
        qs = qs.filter(protected=_boolean("protected", get["protected"]))
    if "size_min" in get:
        qs = qs.filter(size__gte=_integer("size_min", get["size_min"]))
    if "size_max" in get:
        qs = qs.filter(size__lte=_integer("size_max", get["size_max"]))
    for tag in get.getlist("tag"):
        qs = qs.filter(_tag_filter(tag))
    for key in get:
        if key not in LIST_PARAMS:
            # Any other parameter names a free property (Glance's property filter), matched exactly
            # as a JSON key: never read as a lookup such as foo__regex.
            if "__" in key or well_known.key_problem(key):
                raise ApiError(
                    400,
                    f"Unknown filter {key[:80]!r}: use {', '.join(sorted(LIST_PARAMS))}, "
                    "or the name of a property.",
                )
            qs = qs.filter(Exact(KeyTextTransform(key, "properties"), get[key]))
    return qs


def _image_id(name: str, raw: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise ApiError(400, f"{name} must be an image ID (a UUID), not {raw[:40]!r}.") from None


def _sort_annotations(order: list[tuple[str, str]], part: QuerySet[Image] | None = None) -> dict:
    """sort_0, sort_1…: the sort keys as columns (the UNION of the list's parts orders by them);
    for a part of the list, as that part is read in order (access.share_sort_key)."""

    def key_of(key: str):
        return (part is not None and access.share_sort_key(part, key)) or SORT_KEYS[key]

    return {f"sort_{i}": key_of(key) for i, (key, _) in enumerate(order)}


def _after_marker(
    scope: Scope, parts: list[QuerySet[Image]], marker: str, order: list[tuple[str, str]]
) -> list[QuerySet[Image]]:
    """Keyset pagination: the rows after the marker image in this sort order (parts annotated
    with _sort_annotations)."""
    try:
        uuid.UUID(marker)
    except ValueError:
        raise ApiError(400, f"Invalid marker: {marker} is not an image ID.") from None
    annotations = _sort_annotations(order)
    names = list(annotations)
    position = access.readable_images(scope).filter(pk=marker).annotate(**annotations).values(*names).first()
    if position is None:
        raise ApiError(400, f"Marker not found: no image with ID {marker} is visible to you.")
    after = Q()
    for i, (name, (_, direction)) in enumerate(zip(names, order, strict=False)):
        beyond = Q(**{f"{name}__{'gt' if direction == 'asc' else 'lt'}": position[name]})
        equal_before = Q(**{earlier: position[earlier] for earlier in names[:i]})
        after |= equal_before & beyond
    return [qs.filter(after) for qs in parts]


@api_view("GET", "POST")
def images(request: ScopedRequest) -> HttpResponse:
    scope = request.scope
    if request.method == "POST":
        image = services.image_create_from_document(scope=scope, document=_json_body(request))
        response = _json(image_document(image), status=201)
        response["Location"] = request.build_absolute_uri(reverse("image-api:image", args=[image.pk]))
        return response
    limit = (
        min(_integer("limit", request.GET["limit"]), MAX_LIMIT) if "limit" in request.GET else DEFAULT_LIMIT
    )
    order = _sort_order(request)
    annotations = _sort_annotations(order)
    parts = [qs.annotate(**_sort_annotations(order, qs)) for qs in _filtered(request, scope)]
    if "marker" in request.GET:
        parts = _after_marker(scope, parts, request.GET["marker"], order)
    by = [
        name if direction == "asc" else f"-{name}"
        for name, (_, direction) in zip(annotations, order, strict=False)
    ]
    rows = first_rows(parts, by, limit + 1)
    # As Glance: `first` is the same query without the marker, `next` the same query after the
    # page's last image (repeated parameters such as tag kept).
    params = [(k, v) for k, values in request.GET.lists() if k != "marker" for v in values]
    body: dict[str, Any] = {
        "images": [image_document(image) for image in rows[:limit]],
        "first": "/v2/images" + (f"?{urlencode(params)}" if params else ""),
        "schema": "/v2/schemas/images",
    }
    if len(rows) > limit and limit > 0:
        body["next"] = "/v2/images?" + urlencode([*params, ("marker", str(rows[limit - 1].pk))])
    return _json(body)


@api_view("GET", "PATCH", "DELETE")
def image(request: ScopedRequest, image_id: str) -> HttpResponse:
    scope = request.scope
    found = _image(scope, image_id)
    if request.method == "DELETE":
        services.image_delete(scope=scope, image=found)
        return HttpResponse(status=204)
    if request.method == "PATCH":
        content_type = request.content_type or ""
        if content_type not in PATCH_TYPES:
            raise ApiError(
                415, f"Unsupported Content-Type {content_type!r}: send a JSON patch as {PATCH_TYPES[0]}."
            )
        found = services.image_patch(scope=scope, image=found, operations=_json_body(request))
    return _json(image_document(found))


@api_view("GET", "PUT")
def image_file(request: ScopedRequest, image_id: str) -> HttpResponseBase:
    """PUT streams the request body into a queued image; GET streams its data back."""
    scope = request.scope
    found = _image(scope, image_id)
    if request.method == "PUT":
        services.image_upload_check(scope=scope, image=found)  # 409 before the body is looked at
        if request.content_type != "application/octet-stream":
            raise ApiError(415, "Send the image data as application/octet-stream.")
        max_size = settings.IMAGE_UPLOAD_MAX_SIZE
        try:
            length = request_body.declared_length(request, max_size=max_size)
            chunks = request_body.body_chunks(
                request, chunk_size=settings.IMAGE_UPLOAD_CHUNK_SIZE, max_size=max_size
            )
            services.image_upload(scope=scope, image=found, chunks=chunks, declared_length=length)
        except request_body.LengthRequired as e:
            raise ApiError(411, str(e)) from None
        except request_body.MalformedBody as e:
            raise ApiError(400, f"{e} The image is still queued.") from None
        except request_body.BodyTooLarge as e:
            raise ApiError(413, str(e)) from None
        except UnreadablePostError:
            raise ApiError(400, "The upload was interrupted; the image is still queued. Try again.") from None
        return HttpResponse(status=204)
    download = services.image_download(scope=scope, image=found)
    response = StreamingHttpResponse(download.chunks, content_type="application/octet-stream")
    response["Content-Length"] = str(found.size)
    response["Content-MD5"] = found.checksum
    return response


@api_view("POST")
def image_action(request: ScopedRequest, image_id: str, action: str) -> HttpResponse:
    scope = request.scope
    found = _image(scope, image_id)
    if action == "deactivate":
        services.image_deactivate(scope=scope, image=found)
    elif action == "reactivate":
        services.image_reactivate(scope=scope, image=found)
    else:
        raise Http404(f"Unknown action {action}: use deactivate or reactivate.")
    return HttpResponse(status=204)


@api_view("PUT", "DELETE")
def image_tag(request: ScopedRequest, image_id: str, tag: str) -> HttpResponse:
    scope = request.scope
    found = _image(scope, image_id)
    if request.method == "PUT":
        services.image_tag_add(scope=scope, image=found, tag=tag)
    else:
        services.image_tag_remove(scope=scope, image=found, tag=tag)
    return HttpResponse(status=204)


# Members


def _share(scope: Scope, image: Image, member_id: str) -> ImageMember:
    share = access.visible_members(scope, image).filter(member_id=member_id).first()
    if share is None:
        raise Http404(f"Project {member_id} is not a member of image {image.pk}.")
    return share


@api_view("GET", "POST")
def members(request: ScopedRequest, image_id: str) -> HttpResponse:
    scope = request.scope
    found = _image(scope, image_id)
    if request.method == "POST":
        body = _json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("member"), str):
            raise ApiError(400, 'Give the project to share with: {"member": "<project ID>"}.')
        share = services.image_share(scope=scope, image=found, project_id=body["member"], make_shared=False)
        return _json(member_document(share))
    rows = [member_document(share) for share in access.visible_member_list(scope, found)]
    return _json({"members": rows, "schema": "/v2/schemas/members"})


@api_view("GET", "PUT", "DELETE")
def member(request: ScopedRequest, image_id: str, member_id: str) -> HttpResponse:
    scope = request.scope
    found = _image(scope, image_id)
    if request.method == "DELETE":
        services.member_remove(scope=scope, image=found, project_id=member_id)
        return HttpResponse(status=204)
    share = _share(scope, found, member_id)
    if request.method == "PUT":
        body = _json_body(request)
        if not isinstance(body, dict) or "status" not in body:
            raise ApiError(400, 'Give the new status: {"status": "accepted" | "rejected" | "pending"}.')
        share = services.member_set_status(
            scope=scope, image=found, project_id=share.member_id, status=str(body["status"])
        )
    return _json(member_document(share))


# Quota usage


@api_view("GET")
def usage(request: ScopedRequest) -> HttpResponse:
    project_id = request.scope.project_id
    limits = quotas.limits_from(ProjectQuota.objects.filter(project_id=project_id).first())
    used = quotas.usage_of(project_id)
    body = {key: {"limit": limits[key], "usage": used[key]} for key in quotas.NAMES}
    return _json({"usage": body})


# Schemas


def _image_schema() -> dict:
    string_or_null = {"type": ["null", "string"]}
    return {
        "name": "image",
        "additionalProperties": {"type": "string"},
        "properties": {
            "id": {"type": "string", "readOnly": True, "format": "uuid"},
            "name": {**string_or_null, "maxLength": 255},
            "status": {"type": "string", "readOnly": True, "enum": Status.values},
            "visibility": {"type": "string", "enum": ["public", "private", "shared", "community"]},
            "protected": {"type": "boolean"},
            "os_hidden": {"type": "boolean"},
            "owner": {**string_or_null, "readOnly": True},
            "disk_format": {"type": ["null", "string"], "enum": [None, *DiskFormat.values]},
            "container_format": {"type": ["null", "string"], "enum": [None, *ContainerFormat.values]},
            "size": {"type": ["null", "integer"], "readOnly": True},
            "virtual_size": {"type": ["null", "integer"], "readOnly": True},
            "checksum": {**string_or_null, "readOnly": True},
            "os_hash_algo": {**string_or_null, "readOnly": True},
            "os_hash_value": {**string_or_null, "readOnly": True},
            "min_disk": {"type": "integer", "minimum": 0},
            "min_ram": {"type": "integer", "minimum": 0},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
            "created_at": {"type": "string", "readOnly": True},
            "updated_at": {"type": "string", "readOnly": True},
            "self": {"type": "string", "readOnly": True},
            "file": {"type": "string", "readOnly": True},
            "schema": {"type": "string", "readOnly": True},
        },
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }


def _member_schema() -> dict:
    return {
        "name": "member",
        "properties": {
            "image_id": {"type": "string", "readOnly": True},
            "member_id": {"type": "string", "readOnly": True},
            "status": {"type": "string", "enum": MemberStatus.values},
            "created_at": {"type": "string", "readOnly": True},
            "updated_at": {"type": "string", "readOnly": True},
            "schema": {"type": "string", "readOnly": True},
        },
    }


@api_view("GET")
def schema(request: ScopedRequest, name: str) -> HttpResponse:
    if name == "image":
        return _json(_image_schema())
    if name == "member":
        return _json(_member_schema())
    if name == "images":
        body = {
            "name": "images",
            "properties": {
                "images": {"type": "array", "items": _image_schema()},
                "schema": {"type": "string"},
                "first": {"type": "string"},
                "next": {"type": "string"},
            },
            "links": [
                {"rel": "first", "href": "{first}"},
                {"rel": "next", "href": "{next}"},
                {"rel": "describedby", "href": "{schema}"},
            ],
        }
        return _json(body)
    if name == "members":
        body = {
            "name": "members",
            "properties": {
                "members": {"type": "array", "items": _member_schema()},
                "schema": {"type": "string"},
            },
        }
        return _json(body)
    raise Http404(f"No schema named {name}.")

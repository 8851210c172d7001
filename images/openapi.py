"""The OpenAPI 3.1 description of the OpenStack APIs this server speaks, served at
/image/openapi.json: the Identity v3 subset (dashboard/keystone.py) and the Image v2 subset
(images/api.py), every path, parameter, request body and response, error bodies included.

The document is built once, at import. Its enums come from the same constants the views use
(models' choices, the list's sort keys and filters, the quota names), and tests/api/test_openapi.py
checks live responses against it, every described operation exercised and every served route
described, so the description and the server cannot drift apart.
"""

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from dashboard.keystone import VERSION_ID

from . import access, quotas
from .api import MAX_LIMIT, PATCH_TYPES, SORT_KEYS
from .models import ContainerFormat, DiskFormat, MemberStatus, Status, Visibility

JSON = "application/json"
PROJECT_ID = {
    "type": "string",
    "pattern": "^[0-9a-f]{32}$",
    "description": "A project ID: 32 lowercase hex digits.",
}
STRING_OR_NULL = {"type": ["string", "null"]}
TIMESTAMP = {"type": "string", "format": "date-time"}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def closed(properties: dict, *, optional: tuple[str, ...] = ()) -> dict:
    """An object with exactly these properties, all required but the optional ones."""
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


def json_body(schema: dict, description: str, **extra: Any) -> dict:
    return {"description": description, "content": {JSON: {"schema": schema}}, **extra}


def header(description: str, *, required: bool = True) -> dict:
    return {"description": description, "required": required, "schema": {"type": "string"}}


# Errors: Keystone's {"error": {…}} and Glance's {"message", "code", "title"} as JSON, or webob's
# HTML page or plain text, as the client's Accept prefers (dashboard.api_responses).

ERROR_MEANINGS = {
    400: "The request is malformed or a value is invalid; the message says which. Any operation "
    "answers 400 to a NUL character or a lone surrogate in its path, query or body, and to JSON "
    "nested deeper than 32 levels.",
    401: "No valid token (or, for a token request, wrong credentials or scope).",
    403: "The caller may see this but not do that; the message says why.",
    404: "No such thing, or the caller's project may not know it exists.",
    409: "The request conflicts with the current state (a duplicate member, a missing property…).",
    411: "An upload with neither a Content-Length header nor a chunked body.",
    413: "A limit would be passed (members, tags, properties, image count or storage quota).",
    415: "The body is not of the media type this operation takes.",
    429: "Too many failed authentications from this user or address.",
    503: "The image store could not read or save the data; try again later.",
}


def error_body(schema: dict, description: str, **extra: Any) -> dict:
    text = {"schema": {"type": "string"}}
    content = {JSON: {"schema": schema}, "text/html": text, "text/plain": text}
    return {"description": description, "content": content, **extra}


def identity_errors(*codes: int) -> dict:
    responses = {}
    for code in codes:
        extra = {"headers": {"WWW-Authenticate": header('Keystone uri="…/identity"')}} if code == 401 else {}
        responses[str(code)] = error_body(ref("IdentityError"), ERROR_MEANINGS[code], **extra)
    return responses


def image_errors(*codes: int) -> dict:
    responses = {}
    for code in (401, *codes):
        extra = {}
        if code == 401:
            extra = {"headers": {"WWW-Authenticate": header('Keystone uri="…/identity"')}}
        elif code == 415:
            extra = {"headers": {"Accept-Patch": header("The patch media type to use.", required=False)}}
        responses[str(code)] = error_body(ref("ImageError"), ERROR_MEANINGS[code], **extra)
    return responses


def without_bodies(responses: dict) -> dict:
    """HEAD: the same statuses and headers as GET, never a body."""
    return {
        code: {key: value for key, value in answer.items() if key != "content"}
        for code, answer in responses.items()
    }


def operation(summary: str, responses: dict, *, tags: list[str], public: bool = False, **fields: Any) -> dict:
    described = {"summary": summary, "tags": tags, **fields, "responses": responses}
    if public:
        described["security"] = []
    return described


def get_and_head(summary: str, responses: dict, **fields: Any) -> dict:
    return {
        "get": operation(summary, responses, **fields),
        "head": operation(f"{summary} (headers only)", without_bodies(responses), **fields),
    }


def path_parameter(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


def query(name: str, schema: dict, description: str, **extra: Any) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
        **extra,
    }


# Components


def _identity_schemas() -> dict:
    link = closed({"rel": {"type": "string"}, "href": {"type": "string", "format": "uri"}})
    domain = closed(
        {"id": {"type": "string", "const": "default"}, "name": {"type": "string", "const": "Default"}}
    )
    version = closed(
        {
            "id": {"type": "string", "const": VERSION_ID},
            "status": {"type": "string"},
            "updated": TIMESTAMP,
            "links": {"type": "array", "items": link},
            "media-types": {
                "type": "array",
                "items": closed({"base": {"type": "string"}, "type": {"type": "string"}}),
            },
        }
    )
    endpoint = closed(
        {
            "id": {"type": "string"},
            "interface": {"enum": ["public", "internal", "admin"]},
            "region": {"type": "string"},
            "region_id": {"type": "string"},
            "url": {"type": "string", "format": "uri"},
        }
    )
    service = closed(
        {
            "id": {"type": "string"},
            "type": {"enum": ["image", "identity"]},
            "name": {"type": "string"},
            "endpoints": {"type": "array", "items": endpoint},
        }
    )
    named = {"type": "string", "minLength": 1}
    reference_by_name_or_id: dict[str, Any] = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "domain": ref("DomainReference"),
        },
        "anyOf": [{"required": ["id"]}, {"required": ["name"]}],
    }
    return {
        "IdentityError": closed(
            {
                "error": closed({"code": {"type": "integer"}, "title": {"type": "string"}, "message": named}),
            }
        ),
        "Domain": domain,
        "DomainReference": {
            "type": "object",
            "description": "The one domain, Default, by id or name.",
            "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
        },
        "IdentityVersion": version,
        "IdentityVersions": closed(
            {"versions": closed({"values": {"type": "array", "items": ref("IdentityVersion")}})}
        ),
        "IdentityVersionDocument": closed({"version": ref("IdentityVersion")}),
        "AuthRequest": {
            "type": "object",
            "description": "Password authentication scoped to a project (Keystone's POST /v3/auth/tokens body).",
            "required": ["auth"],
            "properties": {
                "auth": {
                    "type": "object",
                    "required": ["identity", "scope"],
                    "properties": {
                        "identity": {
                            "type": "object",
                            "required": ["methods", "password"],
                            "properties": {
                                "methods": {
                                    "type": "array",
                                    "items": {"const": "password"},
                                    "minItems": 1,
                                    "maxItems": 1,
                                },
                                "password": {
                                    "type": "object",
                                    "required": ["user"],
                                    "properties": {
                                        "user": {
                                            **reference_by_name_or_id,
                                            "required": ["password"],
                                            "properties": {
                                                **reference_by_name_or_id["properties"],
                                                "password": {"type": "string", "format": "password"},
                                            },
                                        },
                                    },
                                },
                            },
                        },
                        "scope": {
                            "type": "object",
                            "required": ["project"],
                            "properties": {"project": reference_by_name_or_id},
                        },
                    },
                },
            },
        },
        "Token": closed(
            {
                "token": closed(
                    {
                        "methods": {"type": "array", "items": {"const": "password"}},
                        "audit_ids": {"type": "array", "items": {"type": "string"}},
                        "issued_at": TIMESTAMP,
                        "expires_at": TIMESTAMP,
                        "user": closed(
                            {
                                "id": {"type": "string"},
                                "name": {"type": "string"},
                                "domain": ref("Domain"),
                                "password_expires_at": {"type": "null"},
                            }
                        ),
                        "project": closed(
                            {"id": PROJECT_ID, "name": {"type": "string"}, "domain": ref("Domain")}
                        ),
                        "is_domain": {"type": "boolean", "const": False},
                        "roles": {
                            "type": "array",
                            "items": closed(
                                {"id": {"type": "string"}, "name": {"enum": ["reader", "member", "admin"]}}
                            ),
                        },
                        "catalog": {
                            "type": "array",
                            "items": service,
                            "description": "The image service (this server's /image/) and identity. "
                            "Left out with ?nocatalog.",
                        },
                    },
                    optional=("catalog",),
                ),
            }
        ),
        "Project": closed(
            {
                "id": PROJECT_ID,
                "name": {"type": "string"},
                "description": {"type": "string"},
                "enabled": {"type": "boolean"},
                "domain_id": {"type": "string"},
                "parent_id": {"type": "string"},
                "is_domain": {"type": "boolean", "const": False},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 0},
                "options": closed({}),
                "links": closed({"self": {"type": "string", "format": "uri"}}),
            }
        ),
        "ProjectDocument": closed({"project": ref("Project")}),
        "ProjectList": closed(
            {
                "projects": {"type": "array", "items": ref("Project")},
                "links": closed(
                    {"self": {"type": "string"}, "next": {"type": "null"}, "previous": {"type": "null"}}
                ),
            }
        ),
        "UserDocument": closed(
            {
                "user": closed(
                    {
                        "id": {"type": "string"},
                        "name": {"type": "string"},
                        "domain_id": {"type": "string"},
                        "enabled": {"type": "boolean"},
                        "email": {"type": "string"},
                        "password_expires_at": {"type": "null"},
                        "options": closed({}),
                        "links": closed({"self": {"type": "string", "format": "uri"}}),
                    }
                ),
            }
        ),
    }


def _writable_image_fields() -> dict:
    return {
        "name": {**STRING_OR_NULL, "maxLength": 255},
        "visibility": {
            "enum": Visibility.values,
            "description": "Default private. Only a platform admin sets public.",
        },
        "protected": {"type": "boolean", "description": "A protected image cannot be deleted."},
        "os_hidden": {"type": "boolean", "description": "Left out of default lists."},
        "disk_format": {"enum": [None, "", *DiskFormat.values]},
        "container_format": {"enum": [None, "", *ContainerFormat.values]},
        "min_disk": {"type": "integer", "minimum": 0},
        "min_ram": {"type": "integer", "minimum": 0},
        "tags": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 255},
            "maxItems": 128,
        },
    }


def _image_schemas() -> dict:
    free_property = {
        "type": "string",
        "maxLength": 65535,
        "description": "A free image property (e.g. os_distro).",
    }
    image = {
        "type": "object",
        "description": "An image: its fields, then its free properties at the top level.",
        "properties": {
            "id": {"type": "string", "format": "uuid", "readOnly": True},
            "name": STRING_OR_NULL,
            "status": {"enum": Status.values, "readOnly": True},
            "visibility": {"enum": Visibility.values},
            "protected": {"type": "boolean"},
            "os_hidden": {"type": "boolean"},
            "owner": {**PROJECT_ID, "readOnly": True},
            "disk_format": {"enum": [None, *DiskFormat.values]},
            "container_format": {"enum": [None, *ContainerFormat.values]},
            "size": {"type": ["integer", "null"], "minimum": 0, "readOnly": True},
            "virtual_size": {"type": ["integer", "null"], "minimum": 0, "readOnly": True},
            "checksum": {**STRING_OR_NULL, "readOnly": True},
            "os_hash_algo": {**STRING_OR_NULL, "readOnly": True},
            "os_hash_value": {**STRING_OR_NULL, "readOnly": True},
            "min_disk": {"type": "integer", "minimum": 0},
            "min_ram": {"type": "integer", "minimum": 0},
            "tags": {"type": "array", "items": {"type": "string"}},
            "created_at": {**TIMESTAMP, "readOnly": True},
            "updated_at": {**TIMESTAMP, "readOnly": True},
            "self": {"type": "string", "pattern": "^/v2/images/[0-9a-f-]{36}$", "readOnly": True},
            "file": {"type": "string", "pattern": "^/v2/images/[0-9a-f-]{36}/file$", "readOnly": True},
            "schema": {"const": "/v2/schemas/image", "readOnly": True},
        },
        "additionalProperties": free_property,
    }
    image["required"] = list(image["properties"])
    member = closed(
        {
            "image_id": {"type": "string", "format": "uuid"},
            "member_id": PROJECT_ID,
            "status": {"enum": MemberStatus.values},
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
            "schema": {"const": "/v2/schemas/member"},
        }
    )
    limit_and_usage = closed(
        {
            "limit": {"type": "integer", "minimum": -1, "description": "-1: unlimited."},
            "usage": {"type": "integer", "minimum": 0},
        }
    )
    return {
        "ImageError": closed(
            {
                "message": {
                    "type": "string",
                    "minLength": 1,
                    "description": "What went wrong, for a person to act on.",
                },
                "code": {"type": "string", "pattern": "^[0-9]{3} ", "examples": ["403 Forbidden"]},
                "title": {"type": "string"},
            }
        ),
        "ImageVersions": closed(
            {
                "versions": {
                    "type": "array",
                    "items": closed(
                        {
                            "id": {"type": "string", "pattern": "^v2\\.[0-9]+$"},
                            "status": {"enum": ["CURRENT", "SUPPORTED"]},
                            "links": {
                                "type": "array",
                                "items": closed(
                                    {"rel": {"const": "self"}, "href": {"type": "string", "format": "uri"}}
                                ),
                            },
                        }
                    ),
                },
            }
        ),
        "Image": image,
        "ImageList": closed(
            {
                "images": {"type": "array", "items": ref("Image")},
                "first": {
                    "type": "string",
                    "pattern": "^/v2/images(\\?.*)?$",
                    "description": "The first page: this request's query without marker.",
                },
                "schema": {"const": "/v2/schemas/images"},
                "next": {
                    "type": "string",
                    "pattern": "^/v2/images\\?.*marker=",
                    "description": "The next page: the same query with the last image as marker.",
                },
            },
            optional=("next",),
        ),
        "ImageCreate": {
            "type": "object",
            "description": "The new image's fields; any other key is a free property (a string). "
            "Read-only fields (id, owner, status, size…) are refused with 403.",
            "properties": _writable_image_fields(),
            "additionalProperties": free_property,
        },
        "ImagePatch": {
            "type": "array",
            "description": "A JSON patch of top-level attributes. Free properties can be added, replaced and "
            "removed; built-in fields only set; read-only fields are refused (403), all or nothing.",
            "items": {
                "type": "object",
                "required": ["op", "path"],
                "properties": {
                    "op": {"enum": ["add", "replace", "remove"]},
                    "path": {"type": "string", "pattern": "^/[^/]+$"},
                    "value": {},
                },
                "additionalProperties": False,
            },
        },
        "Member": member,
        "MemberList": closed(
            {"members": {"type": "array", "items": ref("Member")}, "schema": {"const": "/v2/schemas/members"}}
        ),
        "MemberCreate": closed(
            {"member": {**PROJECT_ID, "description": "The ID of an existing, enabled project."}}
        ),
        "MemberUpdate": closed({"status": {"enum": MemberStatus.values}}),
        "Usage": closed({"usage": closed(dict.fromkeys(quotas.NAMES, limit_and_usage))}),
        "JsonSchema": {
            "type": "object",
            "description": "A Glance-style JSON schema of an image, images, a member or members.",
            "required": ["name", "properties"],
            "properties": {
                "name": {"enum": ["image", "images", "member", "members"]},
                "properties": {"type": "object"},
            },
        },
    }


# Paths

IDENTITY, IMAGES, MEMBERS, DISCOVERY = ["identity"], ["images"], ["members"], ["discovery"]
IMAGE_ID = path_parameter(
    "image_id", {"type": "string", "format": "uuid"}, "The image's ID (anything else is 404)."
)
MEMBER_ID = path_parameter("member_id", PROJECT_ID, "The member project's ID.")
SUBJECT_TOKEN = {
    "name": "X-Subject-Token",
    "in": "header",
    "required": True,
    "schema": {"type": "string"},
    "description": "The token to validate or revoke.",
}


def _identity_paths() -> dict:
    versions = {"300": json_body(ref("IdentityVersions"), "The versions of the Identity API (v3 only).")}
    version = {"200": json_body(ref("IdentityVersionDocument"), "Identity API v3.")}
    validated = {
        "200": json_body(
            ref("Token"), "The subject token.", headers={"X-Subject-Token": header("The subject token.")}
        ),
        **identity_errors(401, 403, 404),
    }
    projects_query = [
        query("name", {"type": "string"}, "Only the project with this name."),
        query("domain_id", {"type": "string"}, "Only projects of this domain (there is one: default)."),
        query("enabled", {"type": "string"}, "true/false."),
    ]
    return {
        "/identity/": get_and_head("Identity version discovery", versions, tags=DISCOVERY, public=True),
        "/identity/v3": get_and_head("Identity API v3", version, tags=DISCOVERY, public=True),
        "/identity/v3/": get_and_head(
            "Identity API v3 (the version's self link)", version, tags=DISCOVERY, public=True
        ),
        "/identity/v3/auth/tokens": {
            "post": operation(
                "Issue a project-scoped token (password method)",
                {
                    "201": json_body(
                        ref("Token"),
                        "The token, its secret in X-Subject-Token.",
                        headers={"X-Subject-Token": header("The token to send as X-Auth-Token.")},
                    ),
                    **identity_errors(400, 401, 429),
                },
                tags=IDENTITY,
                public=True,
                requestBody={"required": True, "content": {JSON: {"schema": ref("AuthRequest")}}},
            ),
            **get_and_head(
                "Validate a token (the caller's own, or any for an admin)",
                validated,
                tags=IDENTITY,
                parameters=[
                    SUBJECT_TOKEN,
                    query(
                        "nocatalog",
                        {"type": "string"},
                        "A flag (no value needed): leave the catalog out.",
                        allowEmptyValue=True,
                    ),
                ],
            ),
            "delete": operation(
                "Revoke a token",
                {"204": {"description": "Revoked."}, **identity_errors(401, 403, 404)},
                tags=IDENTITY,
                parameters=[SUBJECT_TOKEN],
            ),
        },
        "/identity/v3/projects": get_and_head(
            "The projects the caller has a role on (all for an admin); a filter matching none of them is 403",
            {"200": json_body(ref("ProjectList"), "The projects."), **identity_errors(401, 403)},
            tags=IDENTITY,
            parameters=projects_query,
        ),
        "/identity/v3/projects/{project_id}": get_and_head(
            "A project the caller has a role on (any for an admin)",
            {"200": json_body(ref("ProjectDocument"), "The project."), **identity_errors(401, 403, 404)},
            tags=IDENTITY,
            parameters=[path_parameter("project_id", {"type": "string"}, "The project's ID.")],
        ),
        "/identity/v3/users/{user_id}": get_and_head(
            "The caller's own user (any for an admin)",
            {"200": json_body(ref("UserDocument"), "The user."), **identity_errors(401, 403, 404)},
            tags=IDENTITY,
            parameters=[path_parameter("user_id", {"type": "string"}, "The user's ID (a number).")],
        ),
    }


def _list_parameters() -> list[dict]:
    boolean = {"type": "string", "enum": ["true", "false", "True", "False", "1", "0", "yes", "no"]}
    sort_keys = sorted(SORT_KEYS)
    one_sort = f"({'|'.join(sort_keys)})(:(asc|desc))?"
    return [
        query("limit", {"type": "integer", "minimum": 0}, f"Page size (default 25, at most {MAX_LIMIT})."),
        query(
            "marker",
            {"type": "string", "format": "uuid"},
            "Start after this image (the `next` link sets it).",
        ),
        query(
            "sort_key",
            {"type": "array", "items": {"enum": sort_keys}},
            "Sort keys (repeatable); default created_at.",
            style="form",
            explode=True,
        ),
        query(
            "sort_dir",
            {"type": "array", "items": {"enum": ["asc", "desc"]}},
            "One direction, or one per sort_key; default desc.",
            style="form",
            explode=True,
        ),
        query(
            "sort",
            {"type": "string", "pattern": f"^{one_sort}(,{one_sort})*$"},
            "`key:dir,key:dir…` instead of sort_key/sort_dir (not both).",
        ),
        query(
            "visibility",
            {"enum": list(access.API_VISIBILITIES)},
            "Without it: the project's catalog (own, public, and accepted or pending shares).",
        ),
        query(
            "member_status", {"enum": list(access.API_MEMBER_STATUSES)}, "With shared images: which shares."
        ),
        query("owner", {"type": "string"}, "Owner project ID, or `in:id1,id2`."),
        query("name", {"type": "string"}, "Exact name, or `in:name1,name2`."),
        query("status", {"type": "string"}, "Image status, or `in:queued,active`."),
        query("id", {"type": "string"}, "Image ID, or `in:id1,id2`."),
        query("os_hidden", boolean, "true: only hidden images (left out by default)."),
        query("protected", boolean, "Only (un)protected images."),
        query(
            "tag",
            {"type": "array", "items": {"type": "string"}},
            "Images with every one of these tags.",
            style="form",
            explode=True,
        ),
        query("size_min", {"type": "integer", "minimum": 0}, "Size in bytes at least."),
        query("size_max", {"type": "integer", "minimum": 0}, "Size in bytes at most."),
        query(
            "property_filters",
            {"type": "object", "additionalProperties": {"type": "string"}},
            "Any other query parameter filters on that free property, e.g. `os_distro=ubuntu`.",
            style="form",
            explode=True,
        ),
    ]


def _image_paths() -> dict:
    versions = json_body(ref("ImageVersions"), "The versions of the Image API (v2).")
    image = json_body(ref("Image"), "The image.")
    done = {"204": {"description": "Done."}}
    patch_schema = {"schema": ref("ImagePatch")}
    return {
        "/image/": get_and_head("Image version discovery", {"300": versions}, tags=DISCOVERY, public=True),
        "/image/versions": get_and_head("Image API versions", {"200": versions}, tags=DISCOVERY, public=True),
        "/image/openapi.json": {
            "get": operation(
                "This document",
                {
                    "200": json_body(
                        {"type": "object", "required": ["openapi", "info", "paths"]}, "OpenAPI 3.1."
                    )
                },
                tags=DISCOVERY,
                public=True,
            ),
        },
        "/image/v2/images": {
            "get": operation(
                "List images (keyset pages with a `next` link)",
                {"200": json_body(ref("ImageList"), "A page of images."), **image_errors(400)},
                tags=IMAGES,
                parameters=_list_parameters(),
            ),
            "post": operation(
                "Create an image (queued, private by default, owned by the token's project)",
                {
                    "201": json_body(
                        ref("Image"), "The new image.", headers={"Location": header("The image's URL.")}
                    ),
                    **image_errors(400, 403, 413),
                },
                tags=IMAGES,
                requestBody={"required": True, "content": {JSON: {"schema": ref("ImageCreate")}}},
            ),
        },
        "/image/v2/images/{image_id}": {
            "parameters": [IMAGE_ID],
            "get": operation("Show an image", {"200": image, **image_errors(404)}, tags=IMAGES),
            "patch": operation(
                "Update an image with a JSON patch",
                {"200": image, **image_errors(400, 403, 404, 409, 413, 415)},
                tags=IMAGES,
                requestBody={"required": True, "content": dict.fromkeys(PATCH_TYPES, patch_schema)},
            ),
            "delete": operation(
                "Delete an image (not while protected)", {**done, **image_errors(403, 404)}, tags=IMAGES
            ),
        },
        "/image/v2/images/{image_id}/file": {
            "parameters": [IMAGE_ID],
            "get": operation(
                "Download the image data (the owner, or an accepted member)",
                {
                    "200": {
                        "description": "The data.",
                        "headers": {"Content-MD5": header("The MD5 checksum of the data.")},
                        "content": {"application/octet-stream": {}},
                    },
                    **image_errors(403, 404, 409, 503),
                },
                tags=IMAGES,
            ),
            "put": operation(
                "Upload the data of a queued image, sized or chunked (exact quotas; the image becomes active)",
                {**done, **image_errors(400, 403, 404, 409, 411, 413, 415, 503)},
                tags=IMAGES,
                requestBody={"required": True, "content": {"application/octet-stream": {}}},
            ),
        },
        "/image/v2/images/{image_id}/actions/{action}": {
            "parameters": [
                IMAGE_ID,
                path_parameter(
                    "action",
                    {"enum": ["deactivate", "reactivate"]},
                    "The owner project's members and platform admins.",
                ),
            ],
            "post": operation(
                "Deactivate an active image, or reactivate a deactivated one",
                {**done, **image_errors(403, 404, 409)},
                tags=IMAGES,
            ),
        },
        "/image/v2/images/{image_id}/tags/{tag}": {
            "parameters": [
                IMAGE_ID,
                path_parameter(
                    "tag", {"type": "string", "minLength": 1, "maxLength": 255}, "The tag (longer: 400)."
                ),
            ],
            "put": operation(
                "Add a tag (adding one it has changes nothing)",
                {**done, **image_errors(400, 403, 404, 413)},
                tags=IMAGES,
            ),
            "delete": operation("Remove a tag", {**done, **image_errors(403, 404)}, tags=IMAGES),
        },
        "/image/v2/images/{image_id}/members": {
            "parameters": [IMAGE_ID],
            "get": operation(
                "List members: all for the owner, its own for a member (only shared images have members)",
                {"200": json_body(ref("MemberList"), "The members."), **image_errors(403, 404)},
                tags=MEMBERS,
            ),
            "post": operation(
                "Share the image with a project (pending until it accepts)",
                {"200": json_body(ref("Member"), "The new member."), **image_errors(400, 403, 404, 409, 413)},
                tags=MEMBERS,
                requestBody={"required": True, "content": {JSON: {"schema": ref("MemberCreate")}}},
            ),
        },
        "/image/v2/images/{image_id}/members/{member_id}": {
            "parameters": [IMAGE_ID, MEMBER_ID],
            "get": operation(
                "Show a member",
                {"200": json_body(ref("Member"), "The member."), **image_errors(403, 404)},
                tags=MEMBERS,
            ),
            "put": operation(
                "Accept, reject or return to pending (the target project only, never the owner)",
                {"200": json_body(ref("Member"), "The member."), **image_errors(400, 403, 404)},
                tags=MEMBERS,
                requestBody={"required": True, "content": {JSON: {"schema": ref("MemberUpdate")}}},
            ),
            "delete": operation(
                "Remove a member (the owner)", {**done, **image_errors(403, 404)}, tags=MEMBERS
            ),
        },
        "/image/v2/schemas/{name}": {
            "parameters": [
                path_parameter("name", {"enum": ["image", "images", "member", "members"]}, "Which schema.")
            ],
            "get": operation(
                "A JSON schema",
                {"200": json_body(ref("JsonSchema"), "The schema."), **image_errors(404)},
                tags=IMAGES,
            ),
        },
        "/image/v2/info/usage": {
            "get": operation(
                "The token's project's quotas and usage",
                {"200": json_body(ref("Usage"), "Usage."), **image_errors()},
                tags=IMAGES,
            ),
        },
    }


def with_bad_request(paths: dict) -> dict:
    """Every operation answers 400 to hostile input (dashboard.hostile), in its API's error shape."""
    for path, item in paths.items():
        errors = identity_errors if path.startswith("/identity/") else image_errors
        bad_request = errors(400)["400"]
        for method in ("get", "head", "post", "put", "patch", "delete"):
            if method in item and "400" not in item[method]["responses"]:
                answer = without_bodies({"400": bad_request}) if method == "head" else {"400": bad_request}
                item[method]["responses"].update(answer)
    return paths


DOCUMENT: dict = {
    "openapi": "3.1.0",
    "info": {
        "title": "Image sharing: the OpenStack Identity v3 and Image v2 subsets",
        "version": "1.0.0",
        "summary": "What the real `openstack` client, scripts, Terraform and Packer use on this server.",
        "description": "See docs/api.md for what is there and where this server differs from upstream OpenStack.",
    },
    "servers": [{"url": "/", "description": "This server."}],
    "security": [{"token": []}],
    "tags": [
        {"name": "discovery", "description": "Version discovery and this document."},
        {"name": "identity", "description": "Identity API v3: tokens, projects, users."},
        {"name": "images", "description": "Image API v2: images, data, tags, schemas, usage."},
        {"name": "members", "description": "Image API v2: sharing."},
    ],
    "paths": with_bad_request({**_identity_paths(), **_image_paths()}),
    "components": {
        "securitySchemes": {
            "token": {
                "type": "apiKey",
                "in": "header",
                "name": "X-Auth-Token",
                "description": "A token from POST /identity/v3/auth/tokens (its X-Subject-Token header).",
            },
        },
        "schemas": {**_identity_schemas(), **_image_schemas()},
    },
}


@require_GET
def document(request: HttpRequest) -> JsonResponse:
    return JsonResponse(DOCUMENT)

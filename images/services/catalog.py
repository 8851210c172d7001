"""Images themselves: create, change, delete; the Image API's documents, patches, tags and properties."""

from typing import Any

from django.conf import settings
from django.db import transaction

from dashboard.identity import Scope

from .. import access, activity
from .. import properties as well_known
from ..models import (
    ContainerFormat,
    DiskFormat,
    Image,
    Status,
    Visibility,
)
from .base import EDITABLE_FIELDS, _locked, _require_edit, _require_visibility
from .data import _delete_data, _require_count_quota
from .errors import Conflict, InvalidInput, LimitExceeded, NotFound, NotPermitted


@transaction.atomic
def image_create(
    *,
    scope: Scope,
    name: str,
    disk_format: str = "",
    container_format: str = "",
    visibility: str = Visibility.PRIVATE,
    min_disk: int = 0,
    min_ram: int = 0,
    protected: bool = False,
    os_hidden: bool = False,
    tags: list[str] | None = None,
    properties: dict[str, str] | None = None,
) -> Image:
    """A new image, without data yet (queued), owned by the scope's project; private by default."""
    if not access.can_create(scope):
        raise NotPermitted(access.READER_REFUSAL)
    _require_count_quota(scope.project_id)
    image = Image(
        name=name,
        owner=scope.project,
        disk_format=disk_format,
        container_format=container_format,
        min_disk=min_disk,
        min_ram=min_ram,
        protected=protected,
        os_hidden=os_hidden,
        tags=list(tags or []),
        properties=dict(properties or {}),
    )
    _require_visibility(scope, image, visibility)
    image.visibility = visibility
    image.save()
    return image


@transaction.atomic
def image_update(*, scope: Scope, image: Image, changes: dict[str, Any]) -> Image:
    """Change editable fields; public only by a platform admin; members go dormant off `shared`."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise NotPermitted(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    _require_edit(scope, image)
    current = _locked(image)
    if "visibility" in changes and changes["visibility"] != current.visibility:
        _require_visibility(scope, current, changes["visibility"])
    before = current.visibility
    for field, value in changes.items():
        setattr(current, field, value)
    current.save(update_fields=[*changes, "updated_at"])
    activity.record_visibility(scope=scope, image=current, before=before)
    return current


@transaction.atomic
def image_delete(*, scope: Scope, image: Image) -> None:
    """Delete the image and its members; refused while it is protected."""
    _require_edit(scope, image)
    current = _locked(image)
    if current.protected:
        raise NotPermitted(
            f"{current.display_name} is protected and cannot be deleted. Unset Protected first."
        )
    key, uploading = str(current.pk), current.status == Status.SAVING
    activity.record_deletion(scope=scope, image=current)
    current.delete()
    # An upload in progress or interrupted leaves unfinished data: discarded too (a live writer
    # finds its image gone at its next step and aborts what it wrote since).
    transaction.on_commit(lambda: _delete_data(key, unfinished=uploading))


# The Image API's changes: an image document (create), a JSON patch (update), tags. Glance's rules
# for what a document may hold, enforced here so the API adds no rule of its own.

# Fields the server sets; a document or patch naming them is refused (Glance answers 403).
READ_ONLY_FIELDS = frozenset(
    {
        "id",
        "status",
        "owner",
        "size",
        "virtual_size",
        "checksum",
        "os_hash_algo",
        "os_hash_value",
        "created_at",
        "updated_at",
        "self",
        "file",
        "schema",
        "direct_url",
        "locations",
        "stores",
    }
)
DOCUMENT_FIELDS = frozenset(
    {
        "name",
        "visibility",
        "protected",
        "os_hidden",
        "min_disk",
        "min_ram",
        "disk_format",
        "container_format",
        "tags",
    }
)
PATCH_OPERATIONS = ("add", "replace", "remove")


def _clean_value(field: str, value: Any) -> Any:
    """A document field's value in the model's terms, or InvalidInput saying what is expected."""
    if field == "name":
        if value is not None and not isinstance(value, str):
            raise InvalidInput("name must be a string.")
        if value and len(value) > 255:
            raise InvalidInput("name is at most 255 characters long.")
        return value or ""
    if field in ("protected", "os_hidden"):
        if not isinstance(value, bool):
            raise InvalidInput(f"{field} must be true or false.")
        return value
    if field in ("min_disk", "min_ram"):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**31 - 1:
            raise InvalidInput(f"{field} must be a whole number, 0 or more.")
        return value
    if field == "disk_format":
        if value not in (None, "", *DiskFormat.values):
            raise InvalidInput(f"Unknown disk format {value!r}: use one of {', '.join(DiskFormat.values)}.")
        return value or ""
    if field == "container_format":
        if value not in (None, "", *ContainerFormat.values):
            raise InvalidInput(
                f"Unknown container format {value!r}: use one of {', '.join(ContainerFormat.values)}."
            )
        return value or ""
    if field == "visibility":
        if value not in Visibility.values:
            raise InvalidInput(f"Unknown visibility {value!r}: use {', '.join(Visibility.values)}.")
        return value
    if field == "tags":
        if not isinstance(value, list) or not all(isinstance(t, str) and 0 < len(t) <= 255 for t in value):
            raise InvalidInput("tags must be a list of strings of 1 to 255 characters.")
        tags = list(dict.fromkeys(value))
        if len(tags) > settings.IMAGE_TAG_QUOTA:
            raise LimitExceeded(f"An image can have at most {settings.IMAGE_TAG_QUOTA} tags.", field="tag")
        return tags
    raise InvalidInput(f"Unknown field {field!r}.")


def _clean_property(key: Any, value: Any) -> str:
    """The value of property key, checked: the one place (API and dashboard) that validates
    property names and values, well-known keys against the catalog in images.properties."""
    problem = well_known.key_problem(key) if isinstance(key, str) else "A property name is a string."
    if problem:
        raise InvalidInput(problem, field="key")
    if well_known.is_reserved(key):
        raise NotPermitted(f"Attribute '{key}' is reserved.", field="key")
    if key in READ_ONLY_FIELDS:
        raise NotPermitted(f"Attribute '{key}' is read-only.", field="key")
    if key in DOCUMENT_FIELDS:
        raise InvalidInput(
            f"{key} is an attribute of the image, not a property: change it with Edit Image.", field="key"
        )
    if not isinstance(value, str):
        raise InvalidInput(f"The value of property {key!r} must be a string.", field="value")
    problem = well_known.value_problem(key, value)
    if problem:
        raise InvalidInput(problem, field="value")
    return value


def _check_property_limit(properties: dict[str, str]) -> None:
    limit = settings.IMAGE_PROPERTY_QUOTA
    if len(properties) > limit:
        raise LimitExceeded(
            f"An image can have at most {limit} properties. Remove one before adding another.", field="key"
        )


def image_create_from_document(*, scope: Scope, document: dict[str, Any]) -> Image:
    """A new image from an Image API document: known fields, other keys become properties."""
    if not isinstance(document, dict):
        raise InvalidInput("The request body must be a JSON object describing the image.")
    fields: dict[str, Any] = {}
    properties: dict[str, str] = {}
    for key, value in document.items():
        if key in READ_ONLY_FIELDS:
            raise NotPermitted(f"Attribute '{key}' is read-only.")
        if key in DOCUMENT_FIELDS:
            fields[key] = _clean_value(key, value)
        else:
            properties[key] = _clean_property(key, value)
    _check_property_limit(properties)
    return image_create(scope=scope, properties=properties, **{"name": "", **fields})


def _patch_path(operation: Any) -> tuple[str, str, Any]:
    if not isinstance(operation, dict) or operation.get("op") not in PATCH_OPERATIONS:
        raise InvalidInput("Each change is an object with op add, replace or remove, and a path.")
    path = operation.get("path")
    if not isinstance(path, str) or not path.startswith("/") or path.count("/") != 1 or len(path) < 2:
        raise InvalidInput(f"Unsupported path {path!r}: patch top-level attributes such as /name.")
    if operation["op"] != "remove" and "value" not in operation:
        raise InvalidInput(f"The {operation['op']} of {path} needs a value.")
    key = path[1:].replace("~1", "/").replace("~0", "~")
    return operation["op"], key, operation.get("value")


@transaction.atomic
def image_patch(*, scope: Scope, image: Image, operations: Any) -> Image:
    """Apply a JSON patch (add/replace/remove on top-level attributes) all or nothing.

    Read-only attributes are refused (403); properties can be added, replaced and removed,
    built-in attributes only set; formats change only while the image has no data.
    """
    _require_edit(scope, image)
    if not isinstance(operations, list):
        raise InvalidInput("The request body must be a JSON list of changes.")
    current = _locked(image)
    changes: dict[str, Any] = {}
    properties = dict(current.properties)
    for operation in operations:
        op, key, value = _patch_path(operation)
        if key in READ_ONLY_FIELDS:
            raise NotPermitted(f"Attribute '{key}' is read-only.")
        if key in DOCUMENT_FIELDS:
            if op == "remove":
                raise NotPermitted(f"Attribute '{key}' cannot be removed.")
            changes[key] = _clean_value(key, value)
        elif op == "remove" or (op == "replace" and key not in properties):
            if key not in properties:
                raise Conflict(f"Property {key} does not exist.")
            del properties[key]
        else:
            properties[key] = _clean_property(key, value)
    _check_property_limit(properties)
    changes = {k: v for k, v in changes.items() if getattr(current, k) != v}
    for key in ("disk_format", "container_format"):
        if key in changes and current.status != Status.QUEUED:
            raise NotPermitted(f"Attribute {key} can only be changed while the image is queued.")
    if "visibility" in changes:
        _require_visibility(scope, current, changes["visibility"])
    if properties != current.properties:
        changes["properties"] = properties
    before = current.visibility
    for field, value in changes.items():
        setattr(current, field, value)
    if changes:
        current.save(update_fields=[*changes, "updated_at"])
    activity.record_visibility(scope=scope, image=current, before=before)
    return current


@transaction.atomic
def image_tag_add(*, scope: Scope, image: Image, tag: str) -> Image:
    """Tag the image (adding a tag it has changes nothing)."""
    _require_edit(scope, image)
    if not 0 < len(tag) <= 255:
        raise InvalidInput("A tag has 1 to 255 characters.", field="tag")
    current = _locked(image)
    if tag not in current.tags:
        current.tags = _clean_value("tags", [*current.tags, tag])
        current.save(update_fields=["tags", "updated_at"])
    return current


@transaction.atomic
def image_tag_remove(*, scope: Scope, image: Image, tag: str) -> Image:
    """Remove a tag; NotFound when the image does not have it."""
    _require_edit(scope, image)
    current = _locked(image)
    if tag not in current.tags:
        raise NotFound(f"The image has no tag {tag!r}.")
    current.tags = [t for t in current.tags if t != tag]
    current.save(update_fields=["tags", "updated_at"])
    return current


# The dashboard's property editor: one property at a time, with the Image API's rules.


@transaction.atomic
def image_property_set(*, scope: Scope, image: Image, key: str, value: str) -> Image:
    """Add a property or change its value (the owner, or a platform admin); a well-known key's
    value must be one the compute service accepts, and min_disk/min_ram set the image's fields."""
    _require_edit(scope, image)
    current = _locked(image)
    if key in well_known.FIELD_KEYS:
        problem = well_known.value_problem(key, value)
        if problem:
            raise InvalidInput(problem, field="value")
        if getattr(current, key) != int(value):
            setattr(current, key, _clean_value(key, int(value)))
            current.save(update_fields=[key, "updated_at"])
        return current
    changed = {**current.properties, key: _clean_property(key, value)}
    _check_property_limit(changed)
    if changed != current.properties:
        current.properties = changed
        current.save(update_fields=["properties", "updated_at"])
    return current


@transaction.atomic
def image_property_remove(*, scope: Scope, image: Image, key: str) -> Image:
    """Remove a property (the owner, or a platform admin); NotFound when the image does not have it."""
    _require_edit(scope, image)
    current = _locked(image)
    if key in well_known.FIELD_KEYS:
        raise InvalidInput(
            f"{key} is an attribute of the image and cannot be removed: set it to 0.", field="key"
        )
    if key not in current.properties:
        raise NotFound(f"The image has no property {key}.", field="key")
    if well_known.is_reserved(key):
        raise NotPermitted(f"Attribute '{key}' is reserved.", field="key")
    current.properties = {k: v for k, v in current.properties.items() if k != key}
    current.save(update_fields=["properties", "updated_at"])
    return current

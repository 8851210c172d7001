"""Template helpers for the property editor: the catalog of well-known keys."""

import hashlib

from django import template
from django.conf import settings

from images import properties

register = template.Library()


@register.simple_tag
def property_catalog() -> list[properties.WellKnown]:
    """The well-known keys, in alphabetical order (the key suggestions and the help table)."""
    return sorted(properties.CATALOG.values(), key=lambda entry: entry.key)


@register.filter
def well_known(key: str) -> properties.WellKnown | None:
    return properties.lookup(key)


@register.filter
def property_dom_id(key: str) -> str:
    """A stable HTML id for a property's row: keys may hold any character, ids may not."""
    return "property-" + hashlib.blake2s(key.encode(), digest_size=6).hexdigest()


@register.simple_tag
def image_metadata_limits() -> dict[str, int]:
    """The most properties and tags an image can have (settings)."""
    return {"properties": settings.IMAGE_PROPERTY_QUOTA, "tags": settings.IMAGE_TAG_QUOTA}

"""The images app's helpers for its templates (dashboard/templating.py registers them): the property
catalog, form fields tied to their help and errors, share dates. (The quota meters come from the
Images view, read with the header badges: quotas.meters_and_badges.)"""

import hashlib
from datetime import date, datetime, timedelta

from django.conf import settings
from django.forms import BoundField
from django.utils import timezone
from django.utils.safestring import SafeString

from . import properties


def property_catalog() -> list[properties.WellKnown]:
    """The well-known keys, in alphabetical order (the key suggestions and the help table)."""
    return sorted(properties.CATALOG.values(), key=lambda entry: entry.key)


def image_metadata_limits() -> dict[str, int]:
    """The most properties and tags an image can have (settings)."""
    return {"properties": settings.IMAGE_PROPERTY_QUOTA, "tags": settings.IMAGE_TAG_QUOTA}


def well_known(key: str) -> properties.WellKnown | None:
    return properties.lookup(key)


def property_dom_id(key: str) -> str:
    """A stable HTML id for a property's row: keys may hold any character, ids may not."""
    return "property-" + hashlib.blake2s(key.encode(), digest_size=6).hexdigest()


def error_id(field: BoundField) -> str:
    """The id of the element holding a field's errors (templates/_forms.html field_errors)."""
    return f"{field.auto_id}_error"


def described_widget(field: BoundField) -> SafeString:
    """The field's widget with aria-describedby naming its help text and its error message (the
    ids field_errors and the templates' help paragraphs use), and aria-invalid while it has errors."""
    ids = []
    if field.help_text:
        ids.append(f"{field.auto_id}_helptext")
    attrs: dict[str, str | bool] = {}
    if field.errors:
        ids.append(error_id(field))
        attrs["aria-invalid"] = "true"
    if ids:
        attrs["aria-describedby"] = " ".join(ids)
    return field.as_widget(attrs=attrs)


def last_day(expires_at: datetime | None) -> date | None:
    """The last day a share counts. A share "until 5 December" expires at the first instant of
    6 December (images.forms.AddMemberForm.expires_at), which, shown as a date, reads a day late."""
    if expires_at is None:
        return None
    return timezone.localtime(expires_at - timedelta(microseconds=1)).date()


GLOBALS = {
    "property_catalog": property_catalog,
    "image_metadata_limits": image_metadata_limits,
}
FILTERS = {
    "well_known": well_known,
    "property_dom_id": property_dom_id,
    "error_id": error_id,
    "described_widget": described_widget,
    "last_day": last_day,
}

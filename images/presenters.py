"""What the image's page shows of each row, computed in Python once per request.

A template spends ~10 µs looking up an attribute of a model instance, ~45 µs on a `date` filter and
~150 µs on a `{% url %}`; a Members tab of 20 rows did each dozens of times. Here each row becomes a
dict of plain values (text, still escaped by the template), formatted as the filters they replace
format them.
"""

from datetime import date, datetime
from uuid import UUID

from django.template.defaultfilters import filesizeformat
from django.utils import formats, timezone

from dashboard.routes import Route

from .models import Image, MemberStatus, Status, Visibility
from .templatetags.share_dates import last_day

STATUS_LABELS = dict(MemberStatus.choices)
VISIBILITY_LABELS = dict(Visibility.choices)
IMAGE_STATUS_LABELS = dict(Status.choices)
MEMBER_REMOVE = Route("images:member-remove", UUID, str)


def iso_date(value: date) -> str:
    """`value|date:"Y-m-d"`."""
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def local(value: datetime, tz) -> datetime:
    """What a template shows of an aware datetime: the time in the current time zone."""
    return value.astimezone(tz) if timezone.is_aware(value) else value


def _timestamp(value: datetime, tz) -> tuple[str, str]:
    """`value|date:'c'` and `value|date:"Y-m-d H:i:s"`."""
    shown = local(value, tz)
    return shown.isoformat(), f"{iso_date(shown)} {shown.hour:02d}:{shown.minute:02d}:{shown.second:02d}"


def image_facts(image: Image) -> dict:
    """The page head's and the Overview's facts about the image, as the template's filters wrote
    them (`get_…_display`, `yesno:"Yes,No"`, `default:"—"`, `filesizeformat`, `date`)."""
    tz = timezone.get_current_timezone()
    created_iso, created = _timestamp(image.created_at, tz)
    updated_iso, updated = _timestamp(image.updated_at, tz)
    size, virtual_size = image.size, image.virtual_size
    return {
        "name": image.display_name,
        "owner": image.owner.name,
        "visibility": VISIBILITY_LABELS.get(image.visibility, image.visibility),
        "status": IMAGE_STATUS_LABELS.get(image.status, image.status),
        "protected": "Yes" if image.protected else "No",
        "hidden": "Yes" if image.os_hidden else "No",
        "disk_format": image.disk_format or "—",
        "container_format": image.container_format or "—",
        "size": "—" if size is None else f"{filesizeformat(size)} ({formats.localize(size)} bytes)",
        "virtual_size": "—" if virtual_size is None else filesizeformat(virtual_size),
        "checksum": image.checksum or "—",
        "created_iso": created_iso,
        "created": created,
        "updated_iso": updated_iso,
        "updated": updated,
    }


def member_rows(image: Image, members: list[dict], *, removable: bool) -> list[dict]:
    """The Members table's rows from access.member_list: the dates as `date:'c'` and
    `date:"Y-m-d H:i"` write them, the share's last day as `last_day|date:"Y-m-d"`, and the URL
    of the Remove link."""
    tz = timezone.get_current_timezone()
    rows = []
    for m in members:
        since = local(m["updated_at"], tz)
        row = {
            "id": m["member_id"],
            "name": m["member__name"],
            "status": m["status"],
            "status_label": STATUS_LABELS.get(m["status"], m["status"]),
            "expires_at": None,
            "live": m["live"],
            "since_iso": since.isoformat(),
            "since": f"{iso_date(since)} {since.hour:02d}:{since.minute:02d}",
            "remove_url": MEMBER_REMOVE(image.pk, m["member_id"]) if removable else None,
        }
        if m["expires_at"] is not None:
            row["expires_at"] = local(m["expires_at"], tz).isoformat()
            row["last_day"] = iso_date(last_day(m["expires_at"]))  # type: ignore[arg-type]
        rows.append(row)
    return rows

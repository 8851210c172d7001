"""What the Images page and the image's page show of each row, computed in Python once per request.

Django's template language spent ~10 µs looking up an attribute of a model instance, ~45 µs on a
`date` filter and ~150 µs on a `{% url %}`; a Members tab of 20 rows did each dozens of times. Here
each row becomes a dict of plain values (text, still escaped by the template), formatted as the
filters they replace format them, so the template only writes them out.
"""

from collections.abc import Iterable
from datetime import date, datetime
from typing import TypedDict
from uuid import UUID

from django.template.defaultfilters import filesizeformat
from django.utils import formats, numberformat, timezone
from django.utils.html import avoid_wrapping
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext

from dashboard.routes import Route

from .models import Image, MemberStatus, Status, Visibility
from .template_helpers import last_day

STATUS_LABELS = dict(MemberStatus.choices)
VISIBILITY_LABELS = dict(Visibility.choices)
IMAGE_STATUS_LABELS = dict(Status.choices)
MEMBER_REMOVE = Route("images:member-remove", UUID, str)
IMAGE_DETAIL = Route("images:detail", UUID)
SHARE_RESPOND = Route("images:share-respond", UUID)


def iso_date(value: date) -> str:
    """`value|date:"Y-m-d"`."""
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def minutes(value: datetime) -> str:
    """`value|date:"Y-m-d H:i"`."""
    return f"{iso_date(value)} {value.hour:02d}:{value.minute:02d}"


def local(value: datetime, tz) -> datetime:
    """What a template shows of an aware datetime: the time in the current time zone."""
    return value.astimezone(tz) if timezone.is_aware(value) else value


def _timestamp(value: datetime, tz) -> tuple[str, str]:
    """`value|date:'c'` and `value|date:"Y-m-d H:i:s"`."""
    shown = local(value, tz)
    return shown.isoformat(), f"{iso_date(shown)} {shown.hour:02d}:{shown.minute:02d}:{shown.second:02d}"


class SizeFormat:
    """`filesizeformat` for many sizes: the active language's units and number format are looked
    up once, not for every size (they were most of a page's formatting time)."""

    def __init__(self) -> None:
        language = get_language()
        self.number = (
            formats.get_format("DECIMAL_SEPARATOR", language),
            formats.get_format("NUMBER_GROUPING", language),
            formats.get_format("THOUSAND_SEPARATOR", language),
        )
        # filesizeformat's units, largest first: the first whose size is reached is used.
        self.units = [
            (1 << 50, gettext("%s PB")),
            (1 << 40, gettext("%s TB")),
            (1 << 30, gettext("%s GB")),
            (1 << 20, gettext("%s MB")),
            (1 << 10, gettext("%s KB")),
        ]

    def __call__(self, size: int) -> str:
        if size >= 1 << 10:  # below 1 KB (or negative) the filter's plural forms of "bytes"
            decimal, grouping, thousands = self.number
            for factor, unit in self.units:
                if size >= factor:
                    number = numberformat.format(
                        round(size / factor, 1), decimal, 1, grouping, thousands, use_l10n=True
                    )
                    return avoid_wrapping(unit % number)
        return filesizeformat(size)


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
            "since": minutes(since),
            "remove_url": MEMBER_REMOVE(image.pk, m["member_id"]) if removable else None,
        }
        if m["expires_at"] is not None:
            row["expires_at"] = local(m["expires_at"], tz).isoformat()
            row["last_day"] = iso_date(last_day(m["expires_at"]))  # type: ignore[arg-type]
        rows.append(row)
    return rows


# The row's attributes and the Share cell's text worked out here, not by {% if %}s run on every row.
PENDING_ROW = SafeString(' class="row-pending"')
NO_ROW_CLASS = SafeString("")
NO_URL = SafeString("")


class ImageRow(TypedDict):
    """One row of the Images page. The template escapes every value but those made here from the
    image's id, its timestamps or a route (SafeString: they hold no markup), and `class_attr`: the
    `<tr>`'s class attribute, a constant above."""

    pk: SafeString
    class_attr: SafeString
    url: SafeString
    respond_url: SafeString
    name: str
    owner: str
    owned: bool
    os_hidden: bool
    protected: bool
    visibility: str
    visibility_label: str
    status_label: str
    my_status: str | None
    my_status_label: str
    share_text: str  # the Share cell of a row that is no share of the project's: "Owned" or "—"
    disk_format: str
    size: str
    created_iso: SafeString
    created: SafeString


def image_rows(images: Iterable[Image], *, project_id: str) -> list[ImageRow]:
    """The Images page's rows for images read by access.listed_image_parts (owner joined,
    my_status annotated), for the project project_id."""
    tz = timezone.get_current_timezone()
    size_format = SizeFormat()
    rows = []
    for image in images:
        pk = str(image.pk)
        my_status = getattr(image, "my_status", None)
        owned = image.owner_id == project_id
        created = local(image.created_at, tz)
        rows.append(
            ImageRow(
                pk=SafeString(pk),
                class_attr=PENDING_ROW if my_status == MemberStatus.PENDING else NO_ROW_CLASS,
                url=SafeString(IMAGE_DETAIL(image.pk)),
                # Only a share of the project's has Accept / Reject forms.
                respond_url=SafeString(SHARE_RESPOND(image.pk)) if my_status else NO_URL,
                name=image.display_name,
                owner=image.owner.name,
                owned=owned,
                os_hidden=image.os_hidden,
                protected=image.protected,
                visibility=image.visibility,
                visibility_label=VISIBILITY_LABELS.get(image.visibility, image.visibility),
                status_label=IMAGE_STATUS_LABELS.get(image.status, image.status),
                my_status=my_status,
                my_status_label=my_status[:1].upper() + my_status[1:] if my_status else "",
                share_text="Owned" if owned else "—",
                disk_format=image.disk_format or "—",
                size="—" if image.size is None else size_format(image.size),
                created_iso=SafeString(created.isoformat()),
                created=SafeString(minutes(created)),
            )
        )
    return rows

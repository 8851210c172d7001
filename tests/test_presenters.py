"""images.presenters: the Members tab's rows in Python read exactly as the template filters wrote them."""

from datetime import UTC, datetime
from types import SimpleNamespace
from uuid import uuid4

import pytest
from django.template import Context, Engine, engines
from django.urls import reverse
from django.utils import timezone

from images.models import MemberStatus
from images.presenters import member_rows

FILTERS = engines["jinja2"].from_string(
    "{{ m.updated_at|date('c') }}|{{ m.updated_at|date('Y-m-d H:i') }}|"
    "{% if m.expires_at %}{{ m.expires_at|date('c') }}|{{ m.expires_at|last_day|date('Y-m-d') }}{% endif %}"
)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns", "Europe/Paris"])
@pytest.mark.parametrize(
    "expires_at",
    [None, datetime(2031, 3, 30, 0, 0, tzinfo=UTC), datetime(2031, 10, 26, 22, 59, 59, 999999, tzinfo=UTC)],
)
def test_member_rows_read_as_the_date_filters_wrote_them(zone, expires_at):
    member = {
        "member_id": "f2e9702d11e9cdaa6e6981a35d3d9e56",
        "member__name": "app-team",
        "status": MemberStatus.PENDING,
        "expires_at": expires_at,
        "updated_at": datetime(999, 12, 31, 23, 30, 5, 123456, tzinfo=UTC),
        "live": True,
    }
    image = SimpleNamespace(pk=uuid4())
    with timezone.override(zone):
        [row] = member_rows(image, [member], removable=True)  # type: ignore[arg-type]
        expected = FILTERS.render({"m": member})

    shown = f"{row['since_iso']}|{row['since']}|"
    if expires_at:
        shown += f"{row['expires_at']}|{row['last_day']}"
    assert shown == expected
    assert row["status_label"] == "Pending"
    assert row["remove_url"] == reverse("images:member-remove", args=[image.pk, member["member_id"]])


def test_a_reader_gets_no_remove_link():
    member = {
        "member_id": "p1",
        "member__name": "x",
        "status": MemberStatus.ACCEPTED,
        "expires_at": None,
        "updated_at": timezone.now(),
        "live": True,
    }
    [row] = member_rows(SimpleNamespace(pk=uuid4()), [member], removable=False)  # type: ignore[arg-type]
    assert row["remove_url"] is None
    assert row["status_label"] == "Accepted"


# Django's own filters, as its template language applies them (the facts were once written so).
OVERVIEW_FILTERS = Engine().from_string(
    "{{ image.display_name }}|{{ image.owner.name }}|{{ image.get_visibility_display }}|"
    "{{ image.get_status_display }}|{{ image.protected|yesno:'Yes,No' }}|{{ image.os_hidden|yesno:'Yes,No' }}|"
    "{{ image.disk_format|default:'—' }}|{{ image.container_format|default:'—' }}|"
    "{% if image.size is not None %}{{ image.size|filesizeformat }} ({{ image.size }} bytes){% else %}—{% endif %}|"
    "{% if image.virtual_size is not None %}{{ image.virtual_size|filesizeformat }}{% else %}—{% endif %}|"
    "{{ image.checksum|default:'—' }}|{{ image.created_at|date:'c' }}|{{ image.created_at|date:'Y-m-d H:i:s' }}|"
    "{{ image.updated_at|date:'c' }}|{{ image.updated_at|date:'Y-m-d H:i:s' }}"
)
FACT_KEYS = (
    "name owner visibility status protected hidden disk_format container_format size virtual_size checksum"
)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
@pytest.mark.parametrize(
    "fields",
    [
        {},
        {
            "name": "<b>x</b>",
            "size": 3_791_588_733,
            "virtual_size": 1023,
            "protected": True,
            "os_hidden": True,
            "checksum": "122bf4951739d159901a82aed72c3538",
            "visibility": "community",
            "status": "deactivated",
        },
    ],
)
def test_image_facts_read_as_the_filters_wrote_them(zone, fields):
    from dashboard.models import Project
    from images.models import Image
    from images.presenters import image_facts

    defaults = {"name": "", "disk_format": "", "container_format": ""}
    image = Image(
        id=uuid4(),
        owner=Project(pk="p1", name="platform & co"),
        created_at=datetime(2022, 8, 20, 22, 1, 39, 5, tzinfo=UTC),
        updated_at=datetime(2022, 9, 3, 15, 21, 57, tzinfo=UTC),
        **(defaults | fields),
    )
    with timezone.override(zone):
        facts = image_facts(image)
        expected = OVERVIEW_FILTERS.render(Context({"image": image}))

    shown = [str(facts[key]) for key in FACT_KEYS.split()]
    shown += [facts["created_iso"], facts["created"], facts["updated_iso"], facts["updated"]]
    assert "|".join(shown) == expected.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")

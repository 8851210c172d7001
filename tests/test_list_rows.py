"""The Images page's rows worked out in Python (images.presenters.image_rows) and the compiled session
read (dashboard.sessions): the same output and behaviour as what they replace."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.sessions.models import Session
from django.template.defaultfilters import date, filesizeformat
from django.urls import reverse
from django.utils import timezone

from dashboard.sessions import SessionStore
from images import access
from images.models import MemberStatus, Visibility
from images.presenters import image_rows


@pytest.mark.parametrize(
    "created",
    [
        datetime(2022, 11, 10, 10, 1, 12, tzinfo=UTC),
        datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(999, 1, 2, 3, 4, tzinfo=UTC),
    ],
)
@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
def test_a_row_shows_what_the_template_filters_showed(make_image, platform, created, zone):
    image = make_image("", size=570_425_344, os_hidden=True)
    image.created_at = created
    with timezone.override(ZoneInfo(zone)):
        [row] = image_rows([image], project_id=platform.pk)
        local = timezone.localtime(created)
        assert row["created_iso"] == date(local, "c")
        assert row["created"] == date(local, "Y-m-d H:i")
    assert row["name"] == image.display_name
    assert row["size"] == filesizeformat(image.size)
    assert row["url"] == reverse("images:detail", args=[image.pk])
    assert row["respond_url"] == reverse("images:share-respond", args=[image.pk])
    assert row["visibility_label"] == image.get_visibility_display()
    assert row["status_label"] == image.get_status_display()
    assert row["owned"] and row["os_hidden"] and row["my_status"] is None


def test_a_row_without_data_shows_dashes_and_the_share_status(make_image, app_team, bob):
    from dashboard.identity import scopes_for

    image = make_image(
        "shared", visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING}, disk_format=""
    )
    image.size = None
    scope = scopes_for(bob, None)
    [listed] = [i for part in access.listed_image_parts(scope, tab="shared") for i in part]
    [row] = image_rows([listed], project_id=scope.project_id)
    assert (row["size"], row["disk_format"]) == ("—", "—")
    assert (row["my_status"], row["my_status_label"], row["owned"]) == ("pending", "Pending", False)
    assert row["owner"] == image.owner.name


def test_the_session_read_skips_expired_and_unknown_sessions(db):
    store = SessionStore()
    store["project_id"] = "p1"
    store.create()
    assert SessionStore(store.session_key).load() == {"project_id": "p1"}

    Session.objects.filter(pk=store.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))
    expired = SessionStore(store.session_key)
    assert expired.load() == {}
    assert expired.session_key is None
    assert SessionStore("x" * 32).load() == {}

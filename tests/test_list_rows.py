"""The Images page's rows worked out in Python (images.presenters.image_rows) and the compiled session
read (dashboard.sessions): the same output and behaviour as what they replace."""

import itertools
import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import Engine, RequestContext
from django.template.defaultfilters import date, filesizeformat
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from dashboard.models import Project, Session
from dashboard.sessions import SessionStore
from images import access
from images.models import Image, MemberStatus, Visibility
from images.presenters import SizeFormat, image_rows


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
    assert row["respond_url"] == ""  # no share of the project's: no Accept / Reject
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
    assert row["respond_url"] == reverse("images:share-respond", args=[image.pk])


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


@pytest.mark.parametrize("language", ["en-us", "de", "fr", "hi"])
def test_sizes_read_as_the_filesizeformat_filter_writes_them(language):
    sizes = [-2048, -1, 0, 1, 1023, 1024, 1025, 1536, 1_048_371, 1_048_575, 1_048_576, 570_425_344]
    sizes += [(1 << 30) - 1, 1 << 30, 5 * (1 << 40) + 7, (1 << 50) - 1, 1 << 50, 3 * (1 << 60)]
    with translation.override(language):
        size_format = SizeFormat()
        assert [size_format(size) for size in sizes] == [filesizeformat(size) for size in sizes]


# The row as the page's template (in Django's template language) wrote it before the presenter worked out its class attribute and
# the Share cell's text: the partial must still write exactly this, for every kind of row.
ROW_BEFORE = """
      <tr id="row-{{ row.pk }}"{% if row.my_status == "pending" %} class="row-pending"{% endif %}>
        <th scope="row"><a href="{{ row.url }}">{{ row.name }}</a>{% if row.os_hidden %} <span class="tag">hidden</span>{% endif %}{% if row.protected %} <span class="tag">protected</span>{% endif %}</th>
        <td data-label="Owner">{{ row.owner }}</td>
        <td data-label="Visibility"><span class="vis vis-{{ row.visibility }}">{{ row.visibility_label }}</span></td>
        <td data-label="Status">{{ row.status_label }}</td>
        <td data-label="Share">
          {% if row.my_status %}
          <span class="share share-{{ row.my_status }}">{{ row.my_status_label }}</span>
          {% if can_respond %}
          <span class="row-actions">
            {% if row.my_status != "accepted" %}
            <form method="post" action="{{ row.respond_url }}" hx-post="{{ row.respond_url }}" hx-target="closest tr" hx-swap="outerHTML" hx-disabled-elt="find button">
              {% csrf_token %}<input type="hidden" name="status" value="accepted"><input type="hidden" name="region" value="row"><input type="hidden" name="next" value="{{ next_path }}#row-{{ row.pk }}">
              <button type="submit" class="btn btn-small btn-primary" aria-label="Accept {{ row.name }}">Accept</button>
            </form>
            {% endif %}
            {% if row.my_status == "pending" %}
            <form method="post" action="{{ row.respond_url }}" hx-post="{{ row.respond_url }}" hx-target="closest tr" hx-swap="outerHTML" hx-disabled-elt="find button">
              {% csrf_token %}<input type="hidden" name="status" value="rejected"><input type="hidden" name="region" value="row"><input type="hidden" name="next" value="{{ next_path }}#row-{{ row.pk }}">
              <button type="submit" class="btn btn-small" aria-label="Reject {{ row.name }}">Reject</button>
            </form>
            {% endif %}
          </span>
          {% endif %}
          {% elif row.owned %}<span class="muted">Owned</span>{% else %}<span class="muted">—</span>{% endif %}
        </td>
        <td data-label="Disk format">{{ row.disk_format }}</td>
        <td class="num" data-label="Size">{{ row.size }}</td>
        <td data-label="Created"><time datetime="{{ row.created_iso }}">{{ row.created }}</time></td>
      </tr>
      """


def test_the_row_partial_writes_what_the_template_wrote_for_every_kind_of_row():
    ours, theirs = Project(id="p" * 32, name="ours"), Project(id="t" * 32, name="<theirs> & co")
    request = RequestFactory().get("/project/images/?tab=shared&q=a%22b")
    kinds = itertools.product(
        [None, "pending", "accepted", "rejected"], [ours, theirs], [False, True], [False, True]
    )
    for my_status, owner, hidden, protected in kinds:
        image = Image(
            id=uuid.uuid4(), name='"quoted" <b>', owner=owner, os_hidden=hidden, protected=protected
        )
        image.size, image.created_at = 5 << 20, datetime(2024, 2, 29, 23, 59, tzinfo=UTC)
        if my_status:
            image.my_status = my_status  # type: ignore[attr-defined]
        [row] = image_rows([image], project_id=ours.pk)
        for can_respond in (False, True):
            context = {"row": row, "can_respond": can_respond, "next_path": request.get_full_path()}
            html = render_to_string("images/image_list.html#image_row", context, request)
            expected = Engine().from_string(ROW_BEFORE).render(RequestContext(request, context))
            # Django's templates spell two entities differently: the same characters escaped.
            expected = expected.replace("&quot;", "&#34;").replace("&#x27;", "&#39;")
            masked = [
                re.sub(r'csrfmiddlewaretoken" value="[^"]+', "token", text) for text in (html, expected)
            ]
            assert masked[0] == masked[1], (my_status, owner, hidden, protected, can_respond)
            assert ("row-pending" in html) == (my_status == "pending")

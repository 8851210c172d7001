"""Hostile input to the pages: a 400 page (or a form error) for each case, never a 500."""

import base64
import json
import re
from datetime import date
from html import unescape

import pytest
from django.test import Client, override_settings

from images.listing import encode_cursor
from images.models import ImageMember, MemberStatus, Visibility


def bad_request(response) -> str:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    page = response.content.decode()
    assert "Bad request" in page
    return page


@pytest.fixture
def image(make_image, app_team):
    return make_image("golden", visibility=Visibility.SHARED, members={app_team: MemberStatus.ACCEPTED})


# NUL characters and lone surrogates


@pytest.mark.parametrize(
    "path",
    [
        "/project/images/?q=a%00b",
        "/project/images/?tab=%00",
        "/project/images/?a%00=1",
        "/project/images/%00/",
        "/project/images/{id}/%00/",
        "/project/images/{id}/members/lookup/?project_id=%00",
        "/project/images/{id}/explain/?project_id=a%00",
        "/project/images/{id}/properties/help/?key=%00",
        "/project/activity/?before=%00",
        "/admin/images/?owner=%00",
        "/auth/login/?next=/%00",
    ],
)
def test_it_answers_a_nul_in_a_page_url_with_400(client_alice, image, path):
    assert "NUL character" in bad_request(client_alice.get(path.format(id=image.pk)))


@pytest.mark.parametrize(
    "path, field",
    [
        ("/project/images/create/", "name"),
        ("/project/images/{id}/edit/", "name"),
        ("/project/images/{id}/members/", "project_id"),
        ("/project/images/{id}/members/bulk/", "project_ids"),
        ("/project/images/{id}/properties/", "key"),
        ("/project/images/{id}/properties/", "value"),
        ("/project/images/{id}/tags/", "tag"),
        ("/project/switch/", "project_id"),
    ],
)
def test_it_answers_a_nul_in_a_form_with_400(client_alice, image, path, field):
    # (A lone surrogate cannot reach a form: browsers do not send one, and the bytes of one
    # decode as replacement characters. JSON's \ud800 escape can: see tests/api.)
    data = {"name": "x", "key": "k", "value": "v", field: "a\x00b"}
    assert "NUL character" in bad_request(client_alice.post(path.format(id=image.pk), data))
    urlencoded = client_alice.post(
        path.format(id=image.pk), f"{field}=a%00b", content_type="application/x-www-form-urlencoded"
    )
    bad_request(urlencoded)
    image.refresh_from_db()
    assert image.name == "golden" and image.properties == {} and image.tags == []


def test_it_answers_hostile_text_in_a_field_name_with_400(client_alice):
    bad_request(client_alice.post("/project/images/create/", {"name": "x", "a\x00": "1"}))


def test_it_answers_a_nul_in_the_sign_in_form_with_400(alice):
    response = Client().post("/auth/login/", {"username": "alice\x00", "password": "x"})
    bad_request(response)


# Forged and stale page cursors


def _unsigned_cursor(value, pk) -> str:
    """The cursor format before cursors were signed: base64 of JSON."""
    return base64.urlsafe_b64encode(json.dumps([value, str(pk)]).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "after",
    [
        "forged",
        "²",
        _unsigned_cursor("golden", "00000000-0000-0000-0000-000000000000"),
        _unsigned_cursor({"t": "not-a-date"}, "x"),
        _unsigned_cursor("not-a-size", "00000000-0000-0000-0000-000000000000"),
        encode_cursor("golden", "00000000-0000-0000-0000-000000000000", sort="name", direction="asc")[:-2]
        + "xx",
    ],
)
def test_it_answers_a_forged_page_cursor_with_400(client_alice, client_root, image, after):
    assert "page link" in bad_request(client_alice.get("/project/images/", {"sort": "size", "after": after}))
    assert "page link" in bad_request(client_root.get("/admin/images/", {"after": after}))


def test_it_answers_a_cursor_of_another_sort_with_400(client_alice, image):
    cursor = encode_cursor("golden", image.pk, sort="name", direction="asc")
    assert client_alice.get("/project/images/", {"sort": "name", "after": cursor}).status_code == 200
    page = bad_request(client_alice.get("/project/images/", {"sort": "size", "after": cursor}))
    assert "another sort order" in page
    bad_request(client_alice.get("/project/images/", {"sort": "name", "dir": "desc", "after": cursor}))


@override_settings(IMAGES_PAGE_SIZE=2)
@pytest.mark.parametrize("sort", ["name", "created", "size"])
def test_it_follows_its_own_next_links(client_alice, make_image, sort):
    for i in range(5):
        make_image(f"image-{i}", size=i * 10)
    seen, url = [], f"/project/images/?tab=project&sort={sort}"
    while True:
        response = client_alice.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        seen += re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', html)
        next_link = re.search(r'<a rel="next" href="([^"]+)"', html)
        if next_link is None:
            break
        url = "/project/images/" + unescape(next_link.group(1))
    assert sorted(seen) == [f"image-{i}" for i in range(5)]


# Non-ASCII digits as markers


@pytest.mark.parametrize("path", ["/project/activity/", "/project/notifications/", "/admin/activity/"])
@pytest.mark.parametrize("before", ["²", "٣", "-1", "99999999999999999999999"])
def test_it_answers_a_non_ascii_digit_marker_with_400(client_root, path, before):
    assert "before" in bad_request(client_root.get(path, {"before": before}))


# An expiry at the end of time


@pytest.mark.parametrize("day", ["9999-12-31", "9999-12-30", "5000-01-01"])
def test_it_refuses_an_expiry_too_far_ahead_as_a_form_error(client_alice, image, data_team, day):
    response = client_alice.post(
        f"/project/images/{image.pk}/members/", {"project_id": data_team.pk, "expires_on": day}
    )
    assert response.status_code == 422
    assert "Choose a day before" in response.content.decode()
    bulk = client_alice.post(
        f"/project/images/{image.pk}/members/bulk/",
        {"project_ids": data_team.pk, "expires_on": day, "action": "share"},
    )
    assert bulk.status_code == 422 and "Choose a day before" in bulk.content.decode()
    assert not ImageMember.objects.filter(member=data_team).exists()


def test_it_accepts_an_expiry_within_a_century(client_alice, image, data_team):
    day = date.today().replace(year=date.today().year + 50)
    response = client_alice.post(
        f"/project/images/{image.pk}/members/", {"project_id": data_team.pk, "expires_on": day.isoformat()}
    )
    assert response.status_code == 302
    assert ImageMember.objects.get(member=data_team).expires_at.date() > day


# The same image deleted twice (the page's own delete)


def test_it_answers_a_second_delete_from_the_page_with_404(client_alice, make_image):
    image = make_image("doomed")
    assert client_alice.post(f"/project/images/{image.pk}/delete/").status_code == 302
    assert client_alice.post(f"/project/images/{image.pk}/delete/").status_code == 404

"""Members: the owner adds and removes projects, the target accepts or rejects, through the pages.

Every action is tried as a plain form post (redirect) and as an htmx post (the affected partial),
and every bad input is shown to leave the database as it was.
"""

import re
import threading

import pytest
from django.db import connection
from django.test import Client

from dashboard.models import Project
from images.models import Image, ImageMember, MemberStatus, Visibility

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def golden(make_image):
    """alice's private image, not shared with anyone yet."""
    return make_image("golden-ubuntu")


@pytest.fixture
def shared_pending(make_image, app_team):
    return make_image("golden-ubuntu", visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING})


def _add_url(image: Image) -> str:
    return f"/project/images/{image.pk}/members/"


def _remove_url(image: Image, project: Project) -> str:
    return f"/project/images/{image.pk}/members/{project.pk}/remove/"


def _respond_url(image: Image) -> str:
    return f"/project/images/{image.pk}/share/"


def _status(image: Image, project: Project) -> str | None:
    row = ImageMember.objects.filter(image=image, member=project).first()
    return row.status if row else None


# Add Member


def test_it_adds_a_member_pending_and_redirects_to_the_members_tab(client_alice, golden, app_team):
    response = client_alice.post(_add_url(golden), {"project_id": app_team.pk})

    assert response.status_code == 302
    # The fragment brings the keyboard (and the view) to the new member's row.
    assert response["Location"] == f"/project/images/{golden.pk}/?tab=members#member-{app_team.pk}"
    assert _status(golden, app_team) == MemberStatus.PENDING
    page = client_alice.get(response["Location"]).content.decode()
    assert "Shared with app-team: pending until that project accepts it." in page
    assert f'id="member-{app_team.pk}"' in page


def test_it_adds_a_member_over_htmx_and_returns_the_members_panel(client_alice, golden, app_team):
    response = client_alice.post(_add_url(golden), {"project_id": app_team.pk}, **HX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="members-panel"')
    assert "<html" not in html
    assert f'<tr id="member-{app_team.pk}">' in html
    assert '<span class="share share-pending">Pending</span>' in html
    assert "app-team" in html
    assert "Shared with app-team" in response["HX-Trigger"]
    assert _status(golden, app_team) == MemberStatus.PENDING


def test_it_makes_a_private_image_shared_in_the_same_add(client_alice, golden, app_team):
    members_tab = client_alice.get(f"/project/images/{golden.pk}/?tab=members").content.decode()
    assert "Adding a member makes it <strong>Shared</strong>" in members_tab

    client_alice.post(_add_url(golden), {"project_id": app_team.pk})

    golden.refresh_from_db()
    assert golden.visibility == Visibility.SHARED
    assert _status(golden, app_team) == MemberStatus.PENDING


def test_it_lists_the_new_share_as_pending_for_the_target(client_alice, client_bob, golden, app_team):
    client_alice.post(_add_url(golden), {"project_id": app_team.pk})

    html = client_bob.get("/project/images/").content.decode()

    assert f'<tr id="row-{golden.pk}" class="row-pending">' in html
    assert 'Pending shares <span class="badge badge-hot">1</span>' in html


@pytest.fixture
def disabled_project(db):
    return Project.objects.create(name="old-team", enabled=False)


@pytest.mark.parametrize(
    ("project_id", "message"),
    [
        ("0123456789abcdef0123456789abcdef", "No project has the ID 0123456789abcdef0123456789abcdef."),
        ("app-team", "That is not a project ID: it has 32 hexadecimal characters."),
        ("0123456789abcdef", "That is not a project ID"),
        ("", "This field is required."),
        ("<script>alert(1)</script>", "That is not a project ID"),
        ("{platform}", "platform owns this image; share it with another project."),
        ("{disabled}", "Project old-team is disabled and cannot receive shares."),
    ],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_it_refuses_a_bad_project_id_next_to_the_field_and_changes_nothing(
    client_alice, golden, platform, disabled_project, project_id, message, htmx
):
    project_id = project_id.format(platform=platform.pk, disabled=disabled_project.pk)

    response = client_alice.post(_add_url(golden), {"project_id": project_id}, **(HX if htmx else {}))

    html = response.content.decode()
    assert response.status_code == 422
    assert f'<div id="project-id-error" class="error" role="alert"><p>{message}' in html
    assert 'aria-invalid="true"' in html
    assert "<script>alert(1)</script>" not in html
    assert ("<html" in html) is not htmx
    assert not ImageMember.objects.exists()
    golden.refresh_from_db()
    assert golden.visibility == Visibility.PRIVATE


def test_it_accepts_a_project_id_typed_in_upper_case_or_with_spaces(client_alice, golden, app_team):
    client_alice.post(_add_url(golden), {"project_id": f"  {app_team.pk.upper()} "})

    assert _status(golden, app_team) == MemberStatus.PENDING


@pytest.mark.parametrize("status", [MemberStatus.PENDING, MemberStatus.ACCEPTED, MemberStatus.REJECTED])
def test_it_says_which_status_a_duplicate_member_has(client_alice, make_image, app_team, status):
    image = make_image("golden-ubuntu", visibility=Visibility.SHARED, members={app_team: status})
    before = ImageMember.objects.get()

    response = client_alice.post(_add_url(image), {"project_id": app_team.pk}, **HX)

    assert response.status_code == 422
    assert f"app-team is already a member of this image (status: {status})." in response.content.decode()
    after = ImageMember.objects.get()
    assert (after.pk, after.status, after.updated_at) == (before.pk, before.status, before.updated_at)


def test_it_keeps_one_row_when_add_is_clicked_twice(client_alice, golden, app_team):
    first = client_alice.post(_add_url(golden), {"project_id": app_team.pk}, **HX)
    second = client_alice.post(_add_url(golden), {"project_id": app_team.pk}, **HX)

    assert (first.status_code, second.status_code) == (200, 422)
    assert "(status: pending)" in second.content.decode()
    assert ImageMember.objects.filter(image=golden).count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_keeps_one_row_when_two_adds_race(alice, golden, app_team):
    barrier = threading.Barrier(2, timeout=10)
    statuses = []

    def add():
        try:
            client = Client()
            client.force_login(alice)
            barrier.wait()
            statuses.append(client.post(_add_url(golden), {"project_id": app_team.pk}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=add) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "the two adds deadlocked"

    assert sorted(statuses) == [302, 422]
    assert ImageMember.objects.filter(image=golden).count() == 1


@pytest.fixture
def full_image(make_image, db):
    """An image with 128 members, the most an image can have."""
    image = make_image("popular", visibility=Visibility.SHARED)
    projects = Project.objects.bulk_create(Project(name=f"team-{n:03}") for n in range(128))
    ImageMember.objects.bulk_create(ImageMember(image=image, member=p) for p in projects)
    return image


def test_it_refuses_the_129th_member(client_alice, full_image, app_team):
    tab = client_alice.get(f"/project/images/{full_image.pk}/?tab=members").content.decode()
    assert "This image has 128 members, the most it can have" in tab

    response = client_alice.post(_add_url(full_image), {"project_id": app_team.pk}, **HX)

    assert response.status_code == 422
    assert "This image already has 128 members, the most an image can have." in response.content.decode()
    assert ImageMember.objects.filter(image=full_image).count() == 128
    assert _status(full_image, app_team) is None


def test_it_accepts_the_128th_member(client_alice, make_image, app_team):
    image = make_image("popular", visibility=Visibility.SHARED)
    projects = Project.objects.bulk_create(Project(name=f"team-{n:03}") for n in range(127))
    ImageMember.objects.bulk_create(ImageMember(image=image, member=p) for p in projects)

    response = client_alice.post(_add_url(image), {"project_id": app_team.pk})

    assert response.status_code == 302
    assert ImageMember.objects.filter(image=image).count() == 128


def test_it_shows_no_limit_and_takes_more_members_when_the_quota_is_unlimited(
    client_alice, full_image, app_team, settings
):
    settings.IMAGE_MEMBER_QUOTA = -1
    tab = client_alice.get(f"/project/images/{full_image.pk}/?tab=members").content.decode()
    assert "Projects this image is shared with (128)</caption>" in tab
    assert "the most it can have" not in tab
    bulk = client_alice.get(f"/project/images/{full_image.pk}/members/bulk/").content.decode()
    assert "This image has 128 members (no limit)." in bulk

    response = client_alice.post(_add_url(full_image), {"project_id": app_team.pk})

    assert response.status_code == 302
    assert _status(full_image, app_team) == MemberStatus.PENDING


def test_it_counts_the_room_left_against_a_set_limit(client_alice, full_image, settings):
    settings.IMAGE_MEMBER_QUOTA = 130
    bulk = client_alice.get(f"/project/images/{full_image.pk}/members/bulk/").content.decode()
    assert "This image has 128 of at most 130 members: room for 2 more." in bulk


# Project name confirmation


def _lookup(client, image: Image, project_id: str):
    return client.get(f"/project/images/{image.pk}/members/lookup/", {"project_id": project_id}, **HX)


def test_it_shows_the_project_name_for_a_valid_id(client_alice, golden, app_team):
    response = _lookup(client_alice, golden, app_team.pk)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<p id="member-lookup" class="lookup" aria-live="polite" data-confirms="id_project_id">' in html
    assert "✓ Project <strong>app-team</strong>" in html


def test_a_confirmed_project_id_clears_the_error_an_earlier_attempt_left(client_alice, golden, app_team):
    refused = client_alice.post(_add_url(golden), {"project_id": "app-te"}, **HX).content.decode()
    assert '<div id="project-id-error" class="error" role="alert"><p>' in refused

    confirmed = _lookup(client_alice, golden, app_team.pk).content.decode()
    # The (empty) error box replaces the stale one out of band; app.js drops aria-invalid.
    assert '<div id="project-id-error" class="error" role="alert" hx-swap-oob="true"></div>' in confirmed
    assert "hx-swap-oob" not in _lookup(client_alice, golden, "app-te").content.decode()


@pytest.mark.parametrize(
    ("project_id", "message"),
    [
        ("app-te", "That is not a project ID"),
        ("f" * 32, "No project has the ID"),
        ("{platform}", "owns this image"),
    ],
)
def test_it_says_why_an_id_cannot_be_used_while_typing(client_alice, golden, platform, project_id, message):
    response = _lookup(client_alice, golden, project_id.format(platform=platform.pk))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert "✓" not in response.content.decode()


def test_it_shows_nothing_for_an_empty_lookup(client_alice, golden):
    html = _lookup(client_alice, golden, "").content.decode()

    assert '<p id="member-lookup" class="lookup" aria-live="polite"></p>' in html


def test_it_does_not_let_others_look_up_projects_through_an_image(
    client_bob, client_carol, shared_pending, data_team
):
    assert _lookup(client_bob, shared_pending, data_team.pk).status_code == 403
    assert _lookup(client_carol, shared_pending, data_team.pk).status_code == 404


# Remove


def test_it_asks_for_confirmation_before_removing(client_alice, shared_pending, app_team):
    response = client_alice.get(_remove_url(shared_pending, app_team))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Remove app-team?</h1>" in html
    assert f'action="{_remove_url(shared_pending, app_team)}"' in html
    assert _status(shared_pending, app_team) == MemberStatus.PENDING


def test_it_asks_for_confirmation_in_the_row_over_htmx(client_alice, shared_pending, app_team):
    response = client_alice.get(_remove_url(shared_pending, app_team), **HX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="member-{app_team.pk}" class="confirm-row">')
    assert "<html" not in html
    assert "Remove <strong>app-team</strong> from <strong>golden-ubuntu</strong>?" in html
    assert _status(shared_pending, app_team) == MemberStatus.PENDING


def test_it_removes_a_member_on_the_confirming_post(client_alice, shared_pending, app_team):
    response = client_alice.post(_remove_url(shared_pending, app_team))

    assert response.status_code == 302
    assert response["Location"] == f"/project/images/{shared_pending.pk}/?tab=members#members-table"
    assert _status(shared_pending, app_team) is None
    page = client_alice.get(response["Location"]).content.decode()
    assert "Removed app-team: the image has left its catalog." in page
    assert f'id="member-{app_team.pk}"' not in page


def test_it_removes_a_member_over_htmx_and_returns_the_members_panel(client_alice, shared_pending, app_team):
    response = client_alice.post(_remove_url(shared_pending, app_team), **HX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="members-panel"')
    assert f'id="member-{app_team.pk}"' not in html
    assert "Not shared with any project yet." in html
    assert "Removed app-team" in response["HX-Trigger"]
    assert _status(shared_pending, app_team) is None


def test_it_says_so_when_the_member_was_already_removed(client_alice, shared_pending, data_team, app_team):
    confirm = client_alice.get(_remove_url(shared_pending, data_team))
    response = client_alice.post(_remove_url(shared_pending, data_team), follow=True)

    assert confirm.status_code == 302
    assert "That project was no longer a member." in response.content.decode()
    assert _status(shared_pending, app_team) == MemberStatus.PENDING


@pytest.mark.parametrize("client_name", ["client_bob", "client_dave"])
def test_it_lets_only_the_owner_remove_a_member(request, shared_pending, app_team, client_name):
    client = request.getfixturevalue(client_name)

    assert client.get(_remove_url(shared_pending, app_team)).status_code == 403
    assert client.post(_remove_url(shared_pending, app_team)).status_code == 403
    assert _status(shared_pending, app_team) == MemberStatus.PENDING


# Accept, reject, back to pending (the target)


TRANSITIONS = [
    (MemberStatus.PENDING, MemberStatus.ACCEPTED),
    (MemberStatus.PENDING, MemberStatus.REJECTED),
    (MemberStatus.ACCEPTED, MemberStatus.REJECTED),
    (MemberStatus.ACCEPTED, MemberStatus.PENDING),
    (MemberStatus.REJECTED, MemberStatus.ACCEPTED),
    (MemberStatus.REJECTED, MemberStatus.PENDING),
]


@pytest.mark.parametrize(("before", "after"), TRANSITIONS)
def test_it_lets_the_target_answer_a_share_with_a_plain_post(client_bob, make_image, app_team, before, after):
    image = make_image("golden-ubuntu", visibility=Visibility.SHARED, members={app_team: before})

    back = f"/project/images/?tab=shared#row-{image.pk}"  # as the list's forms send it
    response = client_bob.post(_respond_url(image), {"status": after, "next": back})

    assert response.status_code == 302
    assert response["Location"] == back
    assert _status(image, app_team) == after


def test_it_does_not_redirect_a_share_answer_off_site(client_bob, shared_pending):
    response = client_bob.post(
        _respond_url(shared_pending), {"status": "accepted", "next": "https://evil.example/"}
    )

    assert response["Location"] == f"/project/images/{shared_pending.pk}/#share-box"


@pytest.mark.parametrize(("before", "after"), TRANSITIONS)
def test_it_answers_a_share_from_the_list_row_over_htmx(client_bob, make_image, app_team, before, after):
    image = make_image("golden-ubuntu", visibility=Visibility.SHARED, members={app_team: before})

    response = client_bob.post(_respond_url(image), {"status": after, "region": "row"}, **HX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="row-{image.pk}"')
    assert f'<span class="share share-{after}">{after.capitalize()}</span>' in html
    assert ("Accept golden-ubuntu" in html) is (after != MemberStatus.ACCEPTED)
    assert ("Reject golden-ubuntu" in html) is (after == MemberStatus.PENDING)
    # The header badge is re-rendered out of band with the new pending count.
    pending = 1 if after == MemberStatus.PENDING else 0
    assert 'id="pending-badge"' in html and 'hx-swap-oob="true"' in html
    assert f'Pending shares <span class="badge{" badge-hot" if pending else ""}">{pending}</span>' in html
    assert "<html" not in html
    assert _status(image, app_team) == after


@pytest.mark.parametrize(("before", "after"), TRANSITIONS)
def test_it_answers_a_share_from_the_detail_page_over_htmx(client_bob, make_image, app_team, before, after):
    image = make_image("golden-ubuntu", visibility=Visibility.SHARED, members={app_team: before})

    response = client_bob.post(_respond_url(image), {"status": after, "region": "detail"}, **HX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<section id="share-box" class="share-box share-box-{after}"')
    buttons = {
        label
        for value, label in [("accepted", "Accept"), ("rejected", "Reject"), ("pending", "Back to pending")]
        if f'<button type="submit" class="btn{" btn-primary" if value == "accepted" else ""}">{label}</button>'
        in html
    }
    assert buttons == {"Accept", "Reject", "Back to pending"} - {
        {"accepted": "Accept", "rejected": "Reject", "pending": "Back to pending"}[after]
    }
    assert 'id="pending-badge"' in html
    assert "<html" not in html
    assert _status(image, app_team) == after


def test_it_counts_pending_shares_in_the_header_badge(client_bob, make_image, app_team):
    for n in range(3):
        make_image(f"image-{n}", visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING})
    make_image("taken", visibility=Visibility.SHARED, members={app_team: MemberStatus.ACCEPTED})

    html = client_bob.get("/project/images/").content.decode()

    assert 'Pending shares <span class="badge badge-hot">3</span>' in html
    assert 'href="/project/images/?tab=shared&amp;status=pending&amp;hidden=1"' in html


def test_it_does_not_let_the_owner_answer_a_share(client_alice, shared_pending, app_team):
    for status in MemberStatus.values:
        response = client_alice.post(_respond_url(shared_pending), {"status": status}, **HX)
        assert response.status_code == 403
    assert _status(shared_pending, app_team) == MemberStatus.PENDING


def test_it_does_not_let_a_reader_answer_a_share(client_dave, shared_pending, app_team):
    response = client_dave.post(_respond_url(shared_pending), {"status": "accepted"})

    assert response.status_code == 403
    assert "only members can accept or reject shares" in response.content.decode()
    assert _status(shared_pending, app_team) == MemberStatus.PENDING


def test_it_refuses_an_unknown_share_status(client_bob, shared_pending, app_team):
    response = client_bob.post(_respond_url(shared_pending), {"status": "approved"})

    assert response.status_code == 400
    assert _status(shared_pending, app_team) == MemberStatus.PENDING


def test_it_refuses_to_answer_a_share_of_another_project(client_carol, make_image, data_team, app_team):
    # carol can read a community image, but no share of it is hers to answer.
    image = make_image("handy-tools", visibility=Visibility.COMMUNITY)

    response = client_carol.post(_respond_url(image), {"status": "accepted"})

    assert response.status_code == 403
    assert not ImageMember.objects.exists()


# Readers and strangers


def test_it_does_not_let_a_reader_add_members_to_their_own_projects_image(
    client_dave, make_image, app_team, data_team
):
    image = make_image("team-build", owner=app_team)

    tab = client_dave.get(f"/project/images/{image.pk}/?tab=members")
    response = client_dave.post(_add_url(image), {"project_id": data_team.pk})

    # A reader sees the member list of its project's image, but no form to change it.
    assert tab.status_code == 200
    assert 'id="members-table"' in tab.content.decode()
    assert "Add Member</button>" not in tab.content.decode()
    assert response.status_code == 403
    assert "Your role on this project is reader" in response.content.decode()
    assert not ImageMember.objects.exists()
    image.refresh_from_db()
    assert image.visibility == Visibility.PRIVATE


def test_it_lets_a_member_of_the_same_project_add_members(client_bob, make_image, app_team, data_team):
    image = make_image("team-build", owner=app_team)

    assert client_bob.post(_add_url(image), {"project_id": data_team.pk}).status_code == 302
    assert _status(image, data_team) == MemberStatus.PENDING


@pytest.mark.parametrize("client_name", ["client_bob", "client_dave"])
def test_it_does_not_let_a_target_add_members(request, shared_pending, data_team, client_name):
    client = request.getfixturevalue(client_name)

    response = client.post(_add_url(shared_pending), {"project_id": data_team.pk})

    assert response.status_code == 403
    assert "Only the owner project (platform) can change this image." in response.content.decode()
    assert _status(shared_pending, data_team) is None


def test_it_does_not_show_a_target_the_member_list(client_bob, make_image, app_team, data_team):
    image = make_image(
        "golden-ubuntu",
        visibility=Visibility.SHARED,
        members={app_team: MemberStatus.ACCEPTED, data_team: MemberStatus.PENDING},
    )

    html = client_bob.get(f"/project/images/{image.pk}/?tab=members").content.decode()

    assert "data-team" not in html
    assert data_team.pk not in html
    assert 'id="members-panel"' not in html


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/", None),
        ("get", "/?tab=members", None),
        ("get", "/members/lookup/?project_id={data_team}", None),
        ("post", "/members/", {"project_id": "{data_team}"}),
        ("get", "/members/{app_team}/remove/", None),
        ("post", "/members/{app_team}/remove/", None),
        ("post", "/share/", {"status": "accepted"}),
        ("get", "/edit/", None),
        ("post", "/edit/", {"name": "x", "visibility": "public", "min_disk": 0, "min_ram": 0}),
        ("get", "/delete/", None),
        ("post", "/delete/", None),
    ],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_it_answers_404_to_a_stranger_for_everything_about_an_invisible_image(
    client_carol, make_image, app_team, data_team, method, path, data, htmx
):
    image = make_image(
        "golden-ubuntu", visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING}
    )
    fill = {"app_team": app_team.pk, "data_team": data_team.pk}
    url = f"/project/images/{image.pk}{path.format(**fill)}"
    data = {k: v.format(**fill) if isinstance(v, str) else v for k, v in (data or {}).items()}

    response = getattr(client_carol, method)(url, data, **(HX if htmx else {}))

    assert response.status_code == 404
    assert "golden-ubuntu" not in response.content.decode()
    image.refresh_from_db()
    assert (image.name, image.visibility) == ("golden-ubuntu", Visibility.SHARED)
    assert list(ImageMember.objects.values_list("member_id", "status")) == [
        (app_team.pk, MemberStatus.PENDING)
    ]


# CSRF


def _csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def _token(client: Client, url: str) -> str:
    client.get(url)
    return client.cookies["csrftoken"].value


def test_it_refuses_an_add_without_a_csrf_token(alice, golden, app_team):
    client = _csrf_client(alice)

    refused = client.post(_add_url(golden), {"project_id": app_team.pk})
    assert refused.status_code == 403
    assert "Nothing was changed." in refused.content.decode()
    assert not ImageMember.objects.exists()
    golden.refresh_from_db()
    assert golden.visibility == Visibility.PRIVATE

    token = _token(client, f"/project/images/{golden.pk}/?tab=members")
    accepted = client.post(_add_url(golden), {"project_id": app_team.pk}, HTTP_X_CSRFTOKEN=token, **HX)
    assert accepted.status_code == 200
    assert _status(golden, app_team) == MemberStatus.PENDING


def test_it_refuses_a_remove_without_a_csrf_token(alice, shared_pending, app_team):
    client = _csrf_client(alice)

    assert client.post(_remove_url(shared_pending, app_team), **HX).status_code == 403
    assert _status(shared_pending, app_team) == MemberStatus.PENDING

    token = _token(client, f"/project/images/{shared_pending.pk}/?tab=members")
    assert (
        client.post(_remove_url(shared_pending, app_team), {"csrfmiddlewaretoken": token}).status_code == 302
    )
    assert _status(shared_pending, app_team) is None


def test_it_refuses_an_accept_without_a_csrf_token(bob, shared_pending, app_team):
    client = _csrf_client(bob)

    assert client.post(_respond_url(shared_pending), {"status": "accepted"}).status_code == 403
    assert _status(shared_pending, app_team) == MemberStatus.PENDING

    token = _token(client, "/project/images/")
    response = client.post(_respond_url(shared_pending), {"status": "accepted", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert _status(shared_pending, app_team) == MemberStatus.ACCEPTED


def test_it_links_the_badge_to_a_list_showing_every_share_it_counts(client_bob, make_image, app_team):
    # An owner may hide an image it shares; the target must still find the share the badge counts.
    image = make_image(
        "old-build", visibility=Visibility.SHARED, os_hidden=True, members={app_team: MemberStatus.PENDING}
    )
    html = client_bob.get("/project/images/").content.decode()
    assert 'Pending shares <span class="badge badge-hot">1</span>' in html

    link = re.search(r'<a id="pending-badge" class="badge-link" href="([^"]+)"', html).group(1)
    listed = client_bob.get(link.replace("&amp;", "&")).content.decode()

    assert f'id="row-{image.pk}"' in listed


@pytest.mark.parametrize("visibility", [Visibility.COMMUNITY, Visibility.PUBLIC])
def test_it_refuses_members_on_a_community_or_public_image(client_alice, make_image, app_team, visibility):
    image = make_image("golden-ubuntu", visibility=visibility)

    response = client_alice.post(_add_url(image), {"project_id": app_team.pk}, **HX)

    assert response.status_code == 422
    assert f"Only shared images have members; this image is {visibility}." in response.content.decode()
    assert not ImageMember.objects.exists()
    image.refresh_from_db()
    assert image.visibility == visibility


def test_it_switches_to_the_members_tab_over_htmx(client_alice, shared_pending, app_team):
    response = client_alice.get(
        f"/project/images/{shared_pending.pk}/?tab=members", HTTP_HX_TARGET="tab-panel", **HX
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="tab-panel"')
    assert "<html" not in html
    assert f'<tr id="member-{app_team.pk}">' in html
    assert "Add Member</button>" in html


def test_it_gives_a_target_the_overview_when_it_asks_for_the_members_tab(
    client_bob, shared_pending, app_team
):
    response = client_bob.get(
        f"/project/images/{shared_pending.pk}/?tab=members", HTTP_HX_TARGET="tab-panel", **HX
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="overview-title"' in html
    assert "members-panel" not in html

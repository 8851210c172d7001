"""The rules table of issue 2, through the pages, for every persona × visibility × member status.

One image owned by `platform` (alice) is given a visibility and, optionally, a member row for
`app-team` (bob, and dave the reader) with a status. Each persona then opens its detail page and
every tab of the Images list; what they get is compared with the table written out in `expected`.
"""

import re

import pytest

from dashboard.identity import scopes_for
from dashboard.models import Project
from images import access
from images.models import Image, ImageMember, MemberStatus, Visibility

PERSONAS = {
    # persona: (user fixture, client fixture)
    "owner": ("alice", "client_alice"),
    "target": ("bob", "client_bob"),
    "reader": ("dave", "client_dave"),
    "outsider": ("carol", "client_carol"),
    "admin": ("root", "client_root"),
}
VISIBILITIES = [Visibility.PRIVATE, Visibility.SHARED, Visibility.COMMUNITY, Visibility.PUBLIC]
MEMBER_STATUSES = [None, MemberStatus.PENDING, MemberStatus.ACCEPTED, MemberStatus.REJECTED]
MATRIX = [
    pytest.param(persona, visibility, status, id=f"{persona}-{visibility}-{status or 'no-member'}")
    for persona in PERSONAS
    for visibility in VISIBILITIES
    for status in MEMBER_STATUSES
]

LISTS = {
    "catalog": "/project/images/",
    "project": "/project/images/?tab=project",
    "public": "/project/images/?tab=public",
    "community": "/project/images/?tab=community&search=1",
    "shared": "/project/images/?tab=shared",
    "shared/pending": "/project/images/?tab=shared&status=pending",
    "shared/accepted": "/project/images/?tab=shared&status=accepted",
    "shared/rejected": "/project/images/?tab=shared&status=rejected",
}


def expected(persona: str, visibility: str, status: str | None) -> dict:
    """The issue's rules table, for an image of `platform` and a member row of `app-team`."""
    owner = persona == "owner"
    admin = persona == "admin"
    in_app_team = persona in ("target", "reader")
    # Members only count while the image is shared; otherwise their rows are dormant.
    share = status if visibility == Visibility.SHARED and in_app_team else None
    return {
        # Strangers get 404, never 403; pending and rejected targets see the details to decide.
        "detail": 200
        if owner
        or admin
        or visibility != Visibility.PRIVATE
        and (visibility != Visibility.SHARED or share is not None)
        else 404,
        "share box": share,
        # Default catalog: owned + public + accepted shares + pending shares (flagged). Community
        # images of other projects appear only when searched; the owner lists its own (as Glance).
        "catalog": owner
        or visibility == Visibility.PUBLIC
        or share in (MemberStatus.PENDING, MemberStatus.ACCEPTED),
        "project": owner,
        "public": visibility == Visibility.PUBLIC,
        "community": visibility == Visibility.COMMUNITY,
        "shared": share is not None,
        "shared/pending": share == MemberStatus.PENDING,
        "shared/accepted": share == MemberStatus.ACCEPTED,
        "shared/rejected": share == MemberStatus.REJECTED,
    }


def _row(image: Image) -> str:
    return f'id="row-{image.pk}"'


def _observe(client, image: Image) -> dict:
    detail = client.get(f"/project/images/{image.pk}/")
    seen = {"detail": detail.status_code, "share box": None}
    if detail.status_code == 200:
        html = detail.content.decode()
        for status in MemberStatus.values:
            if f"share-box-{status}" in html:
                seen["share box"] = status
    for name, url in LISTS.items():
        response = client.get(url)
        assert response.status_code == 200, url
        seen[name] = _row(image) in response.content.decode()
    return seen


@pytest.mark.parametrize(("persona", "visibility", "status"), MATRIX)
def test_it_applies_the_rules_table_to_pages_and_lists(
    request, make_image, app_team, persona, visibility, status
):
    members = {app_team: status} if status else {}
    image = make_image("subject", visibility=visibility, members=members)
    client = request.getfixturevalue(PERSONAS[persona][1])

    assert _observe(client, image) == expected(persona, visibility, status)


@pytest.mark.parametrize(("persona", "visibility", "status"), MATRIX)
def test_it_answers_the_access_predicates_by_the_rules(
    request, make_image, app_team, persona, visibility, status
):
    members = {app_team: status} if status else {}
    image = make_image("subject", visibility=visibility, members=members)
    user = request.getfixturevalue(PERSONAS[persona][0])
    scope = scopes_for(user, None)
    rules = expected(persona, visibility, status)
    share_counts = rules["share box"]

    readable = access.readable_images(scope).filter(pk=image.pk).exists()
    assert readable == (rules["detail"] == 200)
    assert access.can_use(scope, image) == (
        persona in ("owner", "admin")
        or visibility in (Visibility.PUBLIC, Visibility.COMMUNITY)
        or share_counts == MemberStatus.ACCEPTED
    )
    assert access.can_edit(scope, image) == (persona in ("owner", "admin"))
    assert access.can_see_members(scope, image) == (persona in ("owner", "admin"))
    membership = access.membership(scope, image)
    assert (membership.status if membership else None) == share_counts
    assert access.pending_share_count(scope) == (1 if share_counts == MemberStatus.PENDING else 0)
    if status:
        row = ImageMember.objects.get(image=image, member=app_team)
        # Only the target project's members (or a platform admin) answer a share.
        assert access.can_respond(scope, row) == (persona in ("target", "admin"))


@pytest.mark.parametrize("persona", ["target", "reader", "outsider"])
def test_it_gives_an_invisible_image_the_same_404_as_a_missing_one(request, make_image, persona):
    image = make_image("secret-build", visibility=Visibility.PRIVATE)
    client = request.getfixturevalue(PERSONAS[persona][1])

    invisible = client.get(f"/project/images/{image.pk}/")
    missing = client.get("/project/images/00000000-0000-4000-8000-000000000000/")

    assert invisible.status_code == missing.status_code == 404
    assert "secret-build" not in invisible.content.decode()
    # Byte for byte the same page, apart from the per-response CSRF token mask.
    assert _without_csrf(invisible.content) == _without_csrf(missing.content)


def _without_csrf(html: bytes) -> bytes:
    html = re.sub(rb'"X-CSRFToken": "[^"]+"', b"", html)
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", html)


# Pending shares in the target's list


def test_it_flags_a_pending_share_in_the_catalog_with_accept_and_reject(client_bob, make_image, app_team):
    image = make_image(
        "golden-ubuntu", visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING}
    )

    html = client_bob.get("/project/images/").content.decode()

    assert f'<tr id="row-{image.pk}" class="row-pending">' in html
    assert 'aria-label="Accept golden-ubuntu"' in html
    assert 'aria-label="Reject golden-ubuntu"' in html


def test_it_shows_a_reader_the_pending_share_without_buttons(client_dave, make_image, app_team):
    image = make_image(
        "golden-ubuntu", visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING}
    )

    html = client_dave.get("/project/images/").content.decode()
    detail = client_dave.get(f"/project/images/{image.pk}/").content.decode()

    assert f'<tr id="row-{image.pk}" class="row-pending">' in html
    assert "Accept golden-ubuntu" not in html
    assert "share-box-pending" in detail
    assert "a member of the project accepts or rejects shares" in detail
    assert ">Accept</button>" not in detail


# Rejected shares


def test_it_moves_a_rejected_share_out_of_the_catalog_and_lets_it_be_accepted_again(
    client_bob, make_image, app_team
):
    image = make_image(
        "golden-ubuntu", visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING}
    )
    respond = f"/project/images/{image.pk}/share/"

    assert client_bob.post(respond, {"status": "rejected"}).status_code == 302
    assert _row(image) not in client_bob.get("/project/images/").content.decode()
    rejected_list = client_bob.get("/project/images/?tab=shared&status=rejected").content.decode()
    assert _row(image) in rejected_list
    assert 'aria-label="Accept golden-ubuntu"' in rejected_list
    assert client_bob.get(f"/project/images/{image.pk}/").status_code == 200

    assert client_bob.post(respond, {"status": "accepted"}).status_code == 302
    assert _row(image) in client_bob.get("/project/images/").content.decode()
    assert ImageMember.objects.get(image=image, member=app_team).status == MemberStatus.ACCEPTED


# Dormant members


def _edit(client, image: Image, **changes):
    data = {
        "name": image.name,
        "visibility": image.visibility,
        "min_disk": image.min_disk,
        "min_ram": image.min_ram,
    }
    if image.protected:
        data["protected"] = "on"
    if image.os_hidden:
        data["os_hidden"] = "on"
    data.update(changes)
    return client.post(f"/project/images/{image.pk}/edit/", {k: v for k, v in data.items() if v is not False})


@pytest.mark.parametrize("away", [Visibility.PRIVATE, Visibility.COMMUNITY])
@pytest.mark.parametrize("status", [MemberStatus.PENDING, MemberStatus.ACCEPTED, MemberStatus.REJECTED])
def test_it_keeps_members_dormant_off_shared_and_restores_them(
    client_alice, client_bob, make_image, app_team, away, status
):
    image = make_image("golden-ubuntu", visibility=Visibility.SHARED, members={app_team: status})

    assert _edit(client_alice, image, visibility=away).status_code == 302
    image.refresh_from_db()
    assert image.visibility == away
    # The row stays, dormant: it gives the target nothing beyond what the visibility gives everyone.
    assert ImageMember.objects.get(image=image, member=app_team).status == status
    detail = client_bob.get(f"/project/images/{image.pk}/")
    assert detail.status_code == (404 if away == Visibility.PRIVATE else 200)
    assert "share-box" not in detail.content.decode()
    for url in (
        "/project/images/",
        "/project/images/?tab=shared",
        f"/project/images/?tab=shared&status={status}",
    ):
        assert _row(image) not in client_bob.get(url).content.decode(), url
    members_tab = client_alice.get(f"/project/images/{image.pk}/?tab=members").content.decode()
    if away == Visibility.PRIVATE:
        assert "Adding a member makes it <strong>Shared</strong>" in members_tab
    assert "The members below are <strong>dormant</strong>" in members_tab
    assert f'id="member-{app_team.pk}"' in members_tab
    assert '<span class="tag">dormant</span>' in members_tab

    assert _edit(client_alice, image, visibility=Visibility.SHARED).status_code == 302
    assert ImageMember.objects.get(image=image, member=app_team).status == status
    detail = client_bob.get(f"/project/images/{image.pk}/")
    assert detail.status_code == 200
    assert f"share-box-{status}" in detail.content.decode()
    assert _row(image) in client_bob.get(f"/project/images/?tab=shared&status={status}").content.decode()


def test_it_does_not_count_a_dormant_pending_share_in_the_badge(client_bob, make_image, app_team):
    make_image("golden-ubuntu", visibility=Visibility.PRIVATE, members={app_team: MemberStatus.PENDING})

    html = client_bob.get("/project/images/").content.decode()

    assert 'Pending shares <span class="badge">0</span>' in html


def test_it_refuses_to_answer_a_dormant_share(client_bob, make_image, app_team):
    image = make_image(
        "golden-ubuntu", visibility=Visibility.COMMUNITY, members={app_team: MemberStatus.PENDING}
    )

    response = client_bob.post(f"/project/images/{image.pk}/share/", {"status": "accepted"})

    assert response.status_code == 403
    assert ImageMember.objects.get(image=image, member=app_team).status == MemberStatus.PENDING


# os_hidden


@pytest.mark.parametrize("tab", ["", "?tab=project"])
def test_it_leaves_hidden_images_out_of_the_owners_lists_unless_asked(client_alice, make_image, tab):
    hidden = make_image("old-build", os_hidden=True)
    shown = make_image("new-build")
    sep = "&" if tab else "?"

    default = client_alice.get(f"/project/images/{tab}").content.decode()
    with_hidden = client_alice.get(f"/project/images/{tab}{sep}hidden=1").content.decode()

    assert _row(shown) in default
    assert _row(hidden) not in default
    assert _row(hidden) in with_hidden
    assert '<span class="tag">hidden</span>' in with_hidden
    assert client_alice.get(f"/project/images/{hidden.pk}/").status_code == 200


@pytest.mark.parametrize(
    ("visibility", "members", "url"),
    [
        (Visibility.PUBLIC, False, "/project/images/"),
        (Visibility.PUBLIC, False, "/project/images/?tab=public"),
        (Visibility.COMMUNITY, False, "/project/images/?tab=community&search=1"),
        (Visibility.SHARED, True, "/project/images/"),
        (Visibility.SHARED, True, "/project/images/?tab=shared"),
    ],
)
def test_it_leaves_hidden_images_out_of_other_projects_lists_unless_asked(
    client_bob, make_image, app_team, visibility, members, url
):
    image = make_image(
        "old-build",
        visibility=visibility,
        members={app_team: MemberStatus.ACCEPTED} if members else None,
        os_hidden=True,
    )
    sep = "&" if "?" in url else "?"

    assert _row(image) not in client_bob.get(url).content.decode()
    assert _row(image) in client_bob.get(f"{url}{sep}hidden=1").content.decode()
    assert client_bob.get(f"/project/images/{image.pk}/").status_code == 200


# Community


def test_it_lists_community_images_only_when_searched(client_carol, make_image):
    image = make_image("handy-tools", visibility=Visibility.COMMUNITY)
    other = make_image("other-tools", visibility=Visibility.COMMUNITY)

    for url in ("/project/images/", "/project/images/?tab=public", "/project/images/?tab=shared"):
        assert _row(image) not in client_carol.get(url).content.decode(), url
    unsearched = client_carol.get("/project/images/?tab=community").content.decode()
    assert _row(image) not in unsearched
    assert "listed only when you search" in unsearched
    by_name = client_carol.get("/project/images/?tab=community&q=handy").content.decode()
    assert _row(image) in by_name
    assert _row(other) not in by_name
    assert client_carol.get(f"/project/images/{image.pk}/").status_code == 200


# Remove member


@pytest.mark.parametrize("status", [MemberStatus.PENDING, MemberStatus.ACCEPTED, MemberStatus.REJECTED])
def test_it_hides_the_image_from_a_removed_member_at_once(
    client_alice, client_bob, make_image, app_team, status
):
    image = make_image("golden-ubuntu", visibility=Visibility.SHARED, members={app_team: status})
    assert client_bob.get(f"/project/images/{image.pk}/").status_code == 200

    response = client_alice.post(f"/project/images/{image.pk}/members/{app_team.pk}/remove/")

    assert response.status_code == 302
    assert not ImageMember.objects.filter(image=image, member=app_team).exists()
    assert client_bob.get(f"/project/images/{image.pk}/").status_code == 404
    for url in LISTS.values():
        assert _row(image) not in client_bob.get(url).content.decode(), url
    assert client_bob.post(f"/project/images/{image.pk}/share/", {"status": "accepted"}).status_code == 404


def test_it_shows_a_share_only_to_the_project_it_was_made_with(client_carol, make_image, app_team, data_team):
    other = Project.objects.create(name="web-team")
    image = make_image("golden-ubuntu", visibility=Visibility.SHARED, members={other: MemberStatus.ACCEPTED})

    assert client_carol.get(f"/project/images/{image.pk}/").status_code == 404
    assert _row(image) not in client_carol.get("/project/images/?tab=shared").content.decode()


def test_it_applies_the_same_rules_to_the_htmx_list_partial(client_bob, make_image, app_team):
    accepted = make_image("taken", visibility=Visibility.SHARED, members={app_team: MemberStatus.ACCEPTED})
    rejected = make_image("declined", visibility=Visibility.SHARED, members={app_team: MemberStatus.REJECTED})
    private = make_image("secret", visibility=Visibility.PRIVATE, members={app_team: MemberStatus.ACCEPTED})

    response = client_bob.get("/project/images/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="image-table")

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="image-table"')
    assert "<html" not in html
    assert _row(accepted) in html
    assert _row(rejected) not in html
    assert _row(private) not in html

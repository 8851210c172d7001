"""The access explainer: one reason a project can or cannot see and use an image, never at odds
with the rules the pages use."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.identity import scopes_for
from images import access
from images.access import Reason
from images.models import ImageMember, MemberStatus, Status, Visibility

NO_SHARE = None
# app-team's share: none, each status, and two that have expired (not yet removed by the command).
MEMBER_STATUSES = [NO_SHARE, *MemberStatus.values, "accepted-expired", "pending-expired"]
IMAGE_STATUSES = [Status.ACTIVE, Status.DEACTIVATED]

# What each reason promises: (sees it, may use it).
PROMISES = {
    Reason.ADMIN: (True, True),
    Reason.OWNER: (True, True),
    Reason.PUBLIC: (True, True),
    Reason.COMMUNITY: (True, True),
    Reason.ACCEPTED: (True, True),
    Reason.HIDDEN: (True, True),
    Reason.DEACTIVATED: (True, True),
    Reason.PENDING: (True, False),
    Reason.REJECTED: (True, False),
    Reason.NO_SHARE: (False, False),
    Reason.EXPIRED: (False, False),
}


@pytest.fixture
def matrix(make_image, app_team):
    """Every visibility × app-team's share status × image status × os_hidden, one image each."""
    images = []
    for visibility, member, status, hidden in itertools.product(
        Visibility.values, MEMBER_STATUSES, IMAGE_STATUSES, [False, True]
    ):
        members = {} if member is NO_SHARE else {app_team: member.removesuffix("-expired")}
        name = f"{visibility}-{member}-{status}-{'hidden' if hidden else 'shown'}"
        image = make_image(name, visibility=visibility, members=members, status=status, os_hidden=hidden)
        if member and member.endswith("-expired"):
            ImageMember.objects.filter(image=image).update(expires_at=timezone.now() - timedelta(minutes=5))
        images.append(image)
    return images


@pytest.mark.parametrize("persona", ["alice", "bob", "dave", "carol", "root"])
def test_the_explainer_agrees_with_the_rules_in_every_case(request, matrix, persona):
    scope = scopes_for(request.getfixturevalue(persona), None)
    readable = set(access.readable_images(scope).values_list("pk", flat=True))
    listed = set(access.listed_images(scope).values_list("pk", flat=True))
    assert len(matrix) == 4 * 6 * 2 * 2

    for image in matrix:
        why = access.explain(scope, image)
        case = f"{persona} / {image.name}: {why.reason}"
        assert why.can_see == (image.pk in readable), case
        assert why.listed == (image.pk in listed), case
        assert why.can_use == access.can_use(scope, image), case
        assert why.can_download == access.can_download(scope, image), case
        if why.reason == Reason.DORMANT:  # what is left depends on the visibility
            assert image.visibility != Visibility.SHARED and why.can_see == (image.visibility != "private"), (
                case
            )
        else:
            assert PROMISES[why.reason] == (why.can_see, why.can_use), case
        if why.reason == Reason.HIDDEN:
            assert image.os_hidden and not why.listed, case


def test_the_owner_asks_about_a_project_and_gets_its_members_answer(bob, app_team, matrix):
    scope = scopes_for(bob, None)
    for image in matrix:
        assert access.explain(app_team, image) == access.explain(scope, image), image.name


@pytest.mark.parametrize(
    ("visibility", "member", "status", "hidden", "reason", "words"),
    [
        (
            "shared",
            "pending",
            "active",
            False,
            Reason.PENDING,
            "app-team has a pending share: it sees the image under Shared with me but cannot use it until it accepts.",
        ),
        ("private", "accepted", "active", False, Reason.DORMANT, "dormant because the image is private"),
        ("community", "pending", "active", False, Reason.DORMANT, "dormant because the image is community"),
        ("shared", "accepted", "deactivated", False, Reason.DEACTIVATED, "The image is deactivated"),
        ("shared", "rejected", "active", False, Reason.REJECTED, "app-team rejected the share on 20"),
        ("shared", "accepted", "active", True, Reason.HIDDEN, "The image is hidden (os_hidden)"),
        ("shared", NO_SHARE, "active", False, Reason.NO_SHARE, "No share exists"),
        ("private", NO_SHARE, "active", False, Reason.NO_SHARE, "No share exists"),
        ("shared", "accepted", "active", False, Reason.ACCEPTED, "app-team accepted the share"),
        ("public", NO_SHARE, "active", False, Reason.PUBLIC, "The image is public"),
        ("community", NO_SHARE, "active", False, Reason.COMMUNITY, "listed only when it searches"),
    ],
)
def test_it_says_why_in_one_sentence(make_image, app_team, visibility, member, status, hidden, reason, words):
    members = {} if member is NO_SHARE else {app_team: member}
    image = make_image(visibility=visibility, members=members, status=status, os_hidden=hidden)

    why = access.explain(app_team, image)

    assert (why.reason, words in why.sentence) == (reason, True), why.sentence


def test_the_rejection_date_is_the_days_it_was_rejected(make_image, app_team):
    image = make_image(visibility=Visibility.SHARED, members={app_team: MemberStatus.REJECTED})
    share = ImageMember.objects.get()

    assert f"on {share.updated_at:%Y-%m-%d}:" in access.explain(app_team, image).sentence


def test_the_owner_asks_on_the_members_tab(client_alice, make_image, app_team):
    image = make_image(visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING})
    tab = client_alice.get(f"/project/images/{image.pk}/?tab=members").content.decode()
    assert 'id="explain-project-id"' in tab

    answer = client_alice.get(
        f"/project/images/{image.pk}/explain/",
        {"project_id": app_team.pk},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="explain-result",
    ).content.decode()

    assert answer.strip().startswith('<p id="explain-result"') and "app-team has a pending share" in answer


def test_the_standalone_page_says_what_is_wrong_with_the_id(client_alice, make_image):
    image = make_image()
    url = f"/project/images/{image.pk}/explain/"

    assert "not a project ID" in client_alice.get(url, {"project_id": "app-team"}).content.decode()
    assert (
        f"No project has the ID {'0' * 32}"
        in client_alice.get(url, {"project_id": "0" * 32}).content.decode()
    )


def test_the_owner_hears_it_owns_the_image(client_alice, make_image, platform):
    image = make_image()
    page = client_alice.get(
        f"/project/images/{image.pk}/explain/", {"project_id": platform.pk}
    ).content.decode()
    assert "platform owns the image." in page


def test_the_target_gets_its_own_answer_and_cannot_ask_about_others(
    client_bob, make_image, app_team, data_team
):
    image = make_image(
        visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING, data_team: "accepted"}
    )

    page = client_bob.get(
        f"/project/images/{image.pk}/explain/", {"project_id": data_team.pk}
    ).content.decode()

    assert "app-team has a pending share" in page
    assert "data-team" not in page and 'id="explain-project-id"' not in page
    assert (
        f'href="/project/images/{image.pk}/explain/"'
        in client_bob.get(f"/project/images/{image.pk}/").content.decode()
    )


def test_a_project_that_cannot_see_the_image_gets_404(client_carol, make_image, app_team):
    image = make_image(visibility=Visibility.SHARED, members={app_team: MemberStatus.ACCEPTED})
    assert client_carol.get(f"/project/images/{image.pk}/explain/").status_code == 404

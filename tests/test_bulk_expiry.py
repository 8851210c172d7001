"""Sharing with several projects at once, answering several shares at once, shares that
expire, and the confirmation before deleting or deactivating an image projects use."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from dashboard.identity import scopes_for
from dashboard.models import Project
from images import access, services
from images.models import Image, ImageMember, MemberStatus, ShareEvent, Status, Visibility


def _html(client, url: str) -> str:
    return client.get(url).content.decode().replace("&#39;", "'")


def _bulk_url(image) -> str:
    return f"/project/images/{image.pk}/members/bulk/"


# Bulk share


def test_it_checks_each_pasted_line_before_sharing(client_alice, make_image, app_team, data_team, platform):
    image = make_image(
        "golden-ubuntu", visibility=Visibility.SHARED, members={data_team: MemberStatus.ACCEPTED}
    )
    disabled = Project.objects.create(name="old-team", enabled=False)
    text = "\n".join(
        [app_team.pk, "", "not-an-id", platform.pk, data_team.pk, "f" * 32, disabled.pk, app_team.pk.upper()]
    )

    page = client_alice.post(_bulk_url(image), {"project_ids": text, "action": "preview"}).content.decode()

    assert "✓ <strong>app-team</strong>" in page
    assert "That is not a project ID" in page
    assert "platform owns this image; share it with another project." in page
    assert "data-team is already a member (status: accepted)." in page
    assert f"No project has the ID {'f' * 32}." in page
    assert "Project old-team is disabled and cannot receive shares." in page
    assert "app-team is listed twice." in page
    assert "Share with 1 project</button>" in page
    assert "This image has 1 of at most 128 members: room for 127 more." in page
    assert ImageMember.objects.count() == 1  # a preview changes nothing


def test_it_shares_with_every_valid_line_and_records_each(client_alice, make_image, app_team, data_team):
    image = make_image("golden-ubuntu")  # private: sharing makes it shared
    text = f"{app_team.pk}\nnonsense\n{data_team.pk}\n"

    page = client_alice.post(_bulk_url(image), {"project_ids": text, "action": "share"}).content.decode()

    assert "Shared with 2 projects." in page and "That is not a project ID" in page
    image.refresh_from_db()
    assert image.visibility == Visibility.SHARED
    assert set(ImageMember.objects.values_list("member__name", "status")) == {
        ("app-team", "pending"),
        ("data-team", "pending"),
    }
    assert sorted(ShareEvent.objects.values_list("kind", flat=True)) == ["shared", "shared", "visibility"]


def test_it_says_which_lines_are_beyond_the_member_limit(
    client_alice, make_image, app_team, data_team, settings
):
    settings.IMAGE_MEMBER_QUOTA = 2
    image = make_image(visibility=Visibility.SHARED, members={data_team: MemberStatus.PENDING})
    extra = Project.objects.create(name="extra")

    page = client_alice.post(
        _bulk_url(image), {"project_ids": f"{app_team.pk}\n{extra.pk}", "action": "share"}
    ).content.decode()

    assert "This image has 2 of at most 2 members." in page  # after the share
    assert "Beyond the limit of 2 members per image." in page
    assert set(ImageMember.objects.values_list("member__name", flat=True)) == {"data-team", "app-team"}


def test_bulk_share_is_the_owners(client_bob, client_carol, make_image, app_team, data_team):
    image = make_image(visibility=Visibility.SHARED, members={app_team: MemberStatus.ACCEPTED})

    assert (
        client_bob.post(_bulk_url(image), {"project_ids": data_team.pk, "action": "share"}).status_code == 403
    )
    assert (
        client_carol.post(_bulk_url(image), {"project_ids": data_team.pk, "action": "share"}).status_code
        == 404
    )
    assert ImageMember.objects.count() == 1


# Bulk answer


@pytest.fixture
def three_pending(make_image, app_team):
    return [
        make_image(f"img-{i}", visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING})
        for i in range(3)
    ]


def test_the_target_accepts_several_shares_at_once(client_bob, three_pending, app_team):
    inbox = client_bob.get("/project/notifications/").content.decode()
    assert inbox.count('name="image"') == 3

    response = client_bob.post(
        "/project/shares/respond/", {"status": "accepted", "image": [str(i.pk) for i in three_pending[:2]]}
    )

    assert response.status_code == 302
    statuses = dict(ImageMember.objects.values_list("image__name", "status"))
    assert statuses == {"img-0": "accepted", "img-1": "accepted", "img-2": "pending"}
    assert ShareEvent.objects.filter(kind="accepted").count() == 2
    assert "Accepted 2 shares." in client_bob.get("/project/notifications/").content.decode()


def test_a_bulk_answer_is_all_or_nothing(client_bob, three_pending, make_image, app_team, data_team):
    not_mine = make_image("theirs", visibility=Visibility.PUBLIC, members={data_team: MemberStatus.PENDING})

    client_bob.post(
        "/project/shares/respond/",
        {"status": "rejected", "image": [str(three_pending[0].pk), str(not_mine.pk)]},
    )

    assert ImageMember.objects.filter(status=MemberStatus.PENDING).count() == 4
    assert not ShareEvent.objects.exists()


def test_a_reader_cannot_answer_in_bulk(client_dave, three_pending):
    response = client_dave.post(
        "/project/shares/respond/", {"status": "accepted", "image": [str(three_pending[0].pk)]}
    )
    assert response.status_code == 403
    assert not ImageMember.objects.filter(status=MemberStatus.ACCEPTED).exists()


# Expiry


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Pacific/Auckland"])
def test_an_expiry_is_set_on_the_members_tab_and_shown_on_both_sides_as_the_day_chosen(
    client_alice, client_bob, make_image, app_team, settings, zone
):
    settings.TIME_ZONE = zone
    image = make_image(visibility=Visibility.SHARED)
    day = timezone.localdate() + timedelta(days=3)

    client_alice.post(
        f"/project/images/{image.pk}/members/", {"project_id": app_team.pk, "expires_on": day.isoformat()}
    )

    share = ImageMember.objects.get()
    assert timezone.localtime(share.expires_at).date() == day + timedelta(days=1)  # through the end of `day`
    # Both sides see the day the owner chose, not the instant after it (which reads a day late).
    owner_tab = client_alice.get(f"/project/images/{image.pk}/?tab=members").content.decode()
    shown = f'until the end of <time datetime="{timezone.localtime(share.expires_at):%Y-%m-%dT%H:%M}'
    assert shown in owner_tab
    assert f'">{day.isoformat()}</time>' in owner_tab
    assert f"{day + timedelta(days=1):%Y-%m-%d}</time>" not in owner_tab
    target_page = client_bob.get(f"/project/images/{image.pk}/").content.decode()
    assert 'This share lasts until the end of <time datetime="' in target_page
    assert f'">{day.isoformat()}</time>' in target_page


def test_an_expiry_in_the_past_is_refused(client_alice, make_image, app_team):
    image = make_image(visibility=Visibility.SHARED)
    yesterday = timezone.localdate() - timedelta(days=2)

    response = client_alice.post(
        f"/project/images/{image.pk}/members/",
        {"project_id": app_team.pk, "expires_on": yesterday.isoformat()},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 422 and "The expiry must be in the future." in response.content.decode()
    assert not ImageMember.objects.exists()


@pytest.fixture
def expired(make_image, app_team):
    image = make_image(
        "golden-ubuntu", visibility=Visibility.SHARED, members={app_team: MemberStatus.ACCEPTED}
    )
    ImageMember.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    return image


def test_an_expired_share_grants_nothing_before_the_command_runs(bob, client_bob, expired):
    scope = scopes_for(bob, None)

    assert not access.readable_images(scope).filter(pk=expired.pk).exists()
    assert not access.listed_images(scope).filter(pk=expired.pk).exists()
    assert not access.listed_images(scope, tab="shared").filter(pk=expired.pk).exists()
    assert access.membership(scope, expired) is None
    assert not access.can_use(scope, expired)
    assert client_bob.get(f"/project/images/{expired.pk}/").status_code == 404
    assert access.explain(scope, expired).reason == "expired"
    assert ImageMember.objects.exists()  # still there: only the rules ignore it


def test_an_expired_pending_share_leaves_the_badge(bob, make_image, app_team):
    make_image(visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING})
    assert access.header_counts(scopes_for(bob, None))["pending"] == 1

    ImageMember.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert access.pending_share_count(scopes_for(bob, None)) == 0
    assert access.header_counts(scopes_for(bob, None))["pending"] == 0


def test_a_share_not_yet_expired_grants_access(bob, make_image, app_team):
    image = make_image(visibility=Visibility.SHARED, members={app_team: MemberStatus.ACCEPTED})
    ImageMember.objects.update(expires_at=timezone.now() + timedelta(hours=1))
    assert access.can_use(scopes_for(bob, None), image)


def test_the_command_removes_expired_shares_and_tells_both_sides(
    bob, client_alice, client_bob, expired, make_image, app_team
):
    lasting = make_image("lasting", visibility=Visibility.SHARED, members={app_team: MemberStatus.ACCEPTED})

    call_command("expire_shares")
    call_command("expire_shares")  # nothing left to do: nothing recorded twice

    assert list(ImageMember.objects.values_list("image__name", flat=True)) == ["lasting"]
    event = ShareEvent.objects.get()
    assert (event.kind, event.target.name, event.from_status, event.actor) == (
        "expired",
        "app-team",
        "accepted",
        None,
    )
    assert "app-team</strong>'s share of <strong>golden-ubuntu</strong> expired" in _html(
        client_alice, "/project/notifications/"
    )
    assert "Your share of <strong>golden-ubuntu</strong> from platform expired" in _html(
        client_bob, "/project/notifications/"
    )
    assert access.can_use(scopes_for(bob, None), lasting)


def test_an_expired_share_must_be_removed_before_sharing_again(alice, expired, app_team):
    with pytest.raises(services.Conflict, match="expired on"):
        services.image_share(scope=scopes_for(alice, None), image=expired, project_id=app_team.pk)


# Confirmation before delete and deactivate


def test_deleting_an_image_projects_use_needs_the_count_confirmed(
    client_alice, make_image, app_team, data_team
):
    image = make_image(
        visibility=Visibility.SHARED,
        members={app_team: MemberStatus.ACCEPTED, data_team: MemberStatus.PENDING},
    )

    page = client_alice.get(f"/project/images/{image.pk}/delete/").content.decode()
    unconfirmed = client_alice.post(f"/project/images/{image.pk}/delete/")
    stale = client_alice.post(f"/project/images/{image.pk}/delete/", {"confirm_users": "2"})

    assert "I understand that 1 project will lose this image" in page
    assert (
        unconfirmed.status_code == 422
        and "1 project uses this image: confirm to delete it." in unconfirmed.content.decode()
    )
    assert stale.status_code == 422
    assert Image.objects.filter(pk=image.pk).exists()
    assert client_alice.post(f"/project/images/{image.pk}/delete/", {"confirm_users": "1"}).status_code == 302
    assert not Image.objects.filter(pk=image.pk).exists()


def test_dormant_members_do_not_count_as_users(client_alice, make_image, app_team):
    image = make_image(visibility=Visibility.PRIVATE, members={app_team: MemberStatus.ACCEPTED})

    page = client_alice.get(f"/project/images/{image.pk}/delete/").content.decode()

    assert "will lose this image" not in page
    assert client_alice.post(f"/project/images/{image.pk}/delete/").status_code == 302


def test_deactivating_an_image_projects_use_needs_the_count_confirmed(client_root, make_image, app_team):
    image = make_image(visibility=Visibility.SHARED, members={app_team: MemberStatus.ACCEPTED})
    url = f"/project/images/{image.pk}/activation/"

    ask = client_root.post(url, {"action": "deactivate"})

    assert "I understand that 1 project will no longer be able to download it" in ask.content.decode()
    image.refresh_from_db()
    assert image.status == Status.ACTIVE
    assert client_root.post(url, {"action": "deactivate", "confirm_users": "1"}).status_code == 302
    image.refresh_from_db()
    assert image.status == Status.DEACTIVATED


def test_an_expired_share_can_no_longer_be_answered(make_image, app_team, bob):
    image = make_image(
        "golden-ubuntu", visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING}
    )
    ImageMember.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(services.NotFound):
        services.member_accept(scope=scopes_for(bob, app_team.pk), image=image)
    assert ImageMember.objects.get().status == MemberStatus.PENDING


def test_the_pending_badge_counts_up_to_its_cap_and_then_reads_99_plus(bob, client_bob, make_image, app_team):
    """The badge reads at most BADGE_CAP + 1 shares on every page, however many are pending."""
    scope = scopes_for(bob, None)
    for n in range(access.BADGE_CAP):
        make_image(f"golden-{n:03d}", visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING})
    assert access.header_counts(scope)["pending"] == access.pending_share_count(scope) == 99
    page = client_bob.get("/project/images/").content.decode()
    assert 'Pending shares <span class="badge badge-hot">99</span>' in page

    for n in range(2):
        make_image(f"later-{n}", visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING})
    assert access.header_counts(scope)["pending"] == access.pending_share_count(scope) == 100
    page = client_bob.get("/project/images/").content.decode()
    # The link's accessible name holds the visible text: "Pending shares 99+".
    assert 'Pending shares <span class="badge badge-hot">99+</span>' in page

"""The notifications journey in Chromium: the target hears of a new share and accepts it from its
inbox; the owner hears of the answer."""

import pytest
from playwright.sync_api import expect

from images.models import ImageMember, MemberStatus

from .conftest import fill_when_wired
from .test_journeys import follow, open_members_tab

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]


def test_the_target_accepts_a_new_share_from_its_inbox_and_the_owner_hears_of_it(
    sign_in, make_image, app_team, alice, bob
):
    make_image("golden-ubuntu")
    target = sign_in("bob")
    unread = target.locator("#unread-badge .badge")
    expect(unread).to_have_text("0")

    owner = sign_in("alice")
    open_members_tab(owner, "golden-ubuntu")
    fill_when_wired(owner.get_by_label("Project ID", exact=True), app_team.pk)
    expect(owner.locator("#member-lookup")).to_contain_text("app-team")
    owner.get_by_role("button", name="Add Member").click()
    expect(owner.locator(f"#member-{app_team.pk}")).to_contain_text("Pending")

    target.reload()
    expect(unread).to_have_text("1")
    follow(target, target.locator("#unread-badge"))
    expect(target.get_by_role("heading", name="Notifications")).to_be_visible()
    expect(target.locator("#inbox")).to_contain_text("platform shared golden-ubuntu with you")
    target.get_by_role("button", name="Accept golden-ubuntu").click()
    expect(target.locator("#flash")).to_contain_text("Accepted: golden-ubuntu.")
    expect(target.locator("#inbox")).to_contain_text("Your share is now accepted")
    assert ImageMember.objects.get(member=app_team).status == MemberStatus.ACCEPTED
    target.get_by_role("button", name="Mark all read").click()
    expect(unread).to_have_text("0")

    owner.reload()
    expect(owner.locator("#unread-badge .badge")).to_have_text("1")
    follow(owner, owner.locator("#unread-badge"))
    expect(owner.locator("#inbox")).to_contain_text("app-team accepted golden-ubuntu")

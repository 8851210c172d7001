"""The guide's journey, mixed: the owner (alice) uses the real `openstack` client, the target (bob)
the dashboard in Chromium, both against the same live server."""

import json

import pytest
from playwright.sync_api import expect

from images.models import ImageMember, MemberStatus
from tests.e2e.test_journeys import assert_not_reloaded, mark_page, pending_badge

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]


def members(openstack, alice, platform, image: str) -> list[tuple[str, str]]:
    rows = json.loads(openstack(alice, platform, "image", "member", "list", image, "-f", "json"))
    return [(row["Member ID"], row["Status"]) for row in rows]


def test_it_shares_from_the_cli_accepts_in_the_browser_and_removes_from_the_cli(
    openstack, sign_in, make_image, alice, bob, platform, app_team
):
    image = make_image("golden-ubuntu")  # private, owned by platform
    row = f"#row-{image.pk}"

    # Alice shares from the CLI, with app-team's ID as the guide says.
    openstack(alice, platform, "image", "set", "--shared", "golden-ubuntu")
    output = openstack(alice, platform, "image", "add", "project", "golden-ubuntu", app_team.pk, "-f", "json")
    added = json.loads(output)
    assert (added["member_id"], added["status"]) == (app_team.pk, "pending")

    # Bob accepts in his Images list, without a page load.
    target = sign_in("bob")
    expect(target.locator(row)).to_contain_text("Pending")
    expect(pending_badge(target)).to_have_text("1")
    mark_page(target)
    target.get_by_role("button", name="Accept golden-ubuntu").click()
    expect(target.locator(row)).to_contain_text("Accepted")
    expect(pending_badge(target)).to_have_text("0")
    assert_not_reloaded(target)
    assert ImageMember.objects.get(image=image, member=app_team).status == MemberStatus.ACCEPTED
    assert members(openstack, alice, platform, "golden-ubuntu") == [(app_team.pk, "accepted")]

    # Alice removes app-team from the CLI; in bob's browser the image is gone.
    openstack(alice, platform, "image", "remove", "project", "golden-ubuntu", app_team.pk)
    assert members(openstack, alice, platform, "golden-ubuntu") == []

    target.reload()
    expect(target.get_by_role("heading", name="Images", exact=True)).to_be_visible()
    expect(target.locator(row)).to_have_count(0)
    expect(pending_badge(target)).to_have_text("0")
    response = target.goto(f"/project/images/{image.pk}/")
    assert response.status == 404
    expect(target.get_by_role("heading", name="Not found")).to_be_visible()

"""The guide's journeys in Chromium, with the owner (alice) and the target (bob) side by side."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from images.models import ImageMember, MemberStatus, Visibility

from .conftest import fill_when_wired

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]


def follow(page: Page, link: Locator) -> None:
    """Click a link that loads a page, and wait until htmx (a deferred script) has set it up."""
    link.click()
    page.wait_for_load_state()


def mark_page(page: Page) -> None:
    """Set a marker on the window; it survives htmx swaps but not a page load."""
    page.evaluate("window.__e2eNoReload = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__e2eNoReload === true"), "the page was reloaded"


def snapshot(page: Page, name: str) -> None:
    """Save a screenshot for a visual check when E2E_SCREENSHOT_DIR is set (outside the repo)."""
    if folder := os.environ.get("E2E_SCREENSHOT_DIR"):
        page.screenshot(path=Path(folder) / f"{name}.png", full_page=True)


def open_members_tab(page: Page, image_name: str) -> None:
    follow(page, page.get_by_role("link", name=image_name, exact=True))
    expect(page.get_by_role("heading", name=image_name, exact=True)).to_be_visible()
    members_tab = page.get_by_role("navigation", name="Image sections").get_by_role("link", name="Members")
    members_tab.click()
    expect(page.get_by_role("button", name="Add Member")).to_be_visible()
    expect(members_tab).to_have_attribute("aria-current", "page")


def pending_badge(page: Page) -> Locator:
    return page.locator("#pending-badge .badge")


def test_it_shares_accepts_and_removes_an_image_without_reloading(sign_in, make_image, app_team, alice, bob):
    image = make_image("golden-ubuntu")  # private, owned by platform
    row_in_alice = f"#member-{app_team.pk}"
    row_in_bob = f"#row-{image.pk}"

    owner = sign_in("alice")
    open_members_tab(owner, "golden-ubuntu")
    mark_page(owner)
    fill_when_wired(owner.get_by_label("Project ID", exact=True), app_team.pk)
    expect(owner.locator("#member-lookup")).to_contain_text("app-team")
    owner.get_by_role("button", name="Add Member").click()
    expect(owner.locator(row_in_alice)).to_contain_text("Pending")
    expect(owner.locator("#flash")).to_contain_text("Shared with app-team")
    expect(owner.locator(".page-head")).to_contain_text("Shared")  # the add made the private image Shared
    assert_not_reloaded(owner)
    snapshot(owner, "alice-members-tab")

    target = sign_in("bob")
    expect(target.locator(row_in_bob)).to_contain_text("Pending")
    expect(pending_badge(target)).to_have_text("1")
    snapshot(target, "bob-images-pending")
    mark_page(target)
    target.get_by_role("button", name="Accept golden-ubuntu").click()
    expect(target.locator(row_in_bob)).to_contain_text("Accepted")
    expect(pending_badge(target)).to_have_text("0")
    assert_not_reloaded(target)
    target.reload()  # the default list is the project's catalog
    expect(target.locator(row_in_bob)).to_contain_text("Accepted")

    owner.reload()
    expect(owner.locator(row_in_alice)).to_contain_text("Accepted")
    mark_page(owner)
    owner.get_by_role("link", name="Remove app-team").click()
    owner.get_by_role("button", name="Remove app-team").click()
    expect(owner.locator(row_in_alice)).to_have_count(0)
    expect(owner.locator("#members-table")).to_contain_text("Not shared with any project yet.")
    assert_not_reloaded(owner)

    target.reload()
    expect(target.get_by_role("heading", name="Images", exact=True)).to_be_visible()
    expect(target.locator(row_in_bob)).to_have_count(0)
    response = target.goto(f"/project/images/{image.pk}/")
    assert response.status == 404
    expect(target.get_by_role("heading", name="Not found")).to_be_visible()


def test_it_finds_a_community_image_only_by_searching(sign_in, make_image, bob):
    make_image("public-base", visibility=Visibility.PUBLIC)
    make_image("team-toolbox", visibility=Visibility.COMMUNITY)

    page = sign_in("bob")
    expect(page.get_by_role("link", name="public-base")).to_be_visible()
    expect(page.get_by_role("link", name="team-toolbox")).to_have_count(0)

    follow(page, page.get_by_role("navigation", name="Image lists").get_by_role("link", name="Community"))
    expect(page.get_by_text("Community images are listed only when you search")).to_be_visible()
    page.get_by_label("Search community images").fill("toolb")
    expect(page.get_by_role("link", name="team-toolbox")).to_be_visible()
    expect(page.get_by_role("link", name="public-base")).to_have_count(0)


def test_it_lets_only_the_platform_admin_make_an_image_public(sign_in, make_image, alice, bob, root):
    image = make_image("golden-debian")
    before = (image.visibility, image.updated_at)

    owner = sign_in("alice")
    owner.get_by_role("link", name="golden-debian").click()
    owner.get_by_role("link", name="Edit Image").click()
    expect(owner.locator("#id_visibility option[value=public]")).to_be_disabled()
    with owner.expect_navigation():  # a hand-made post, as if the option were not disabled
        owner.evaluate(
            """() => {
                const select = document.getElementById("id_visibility");
                select.querySelector("option[value=public]").disabled = false;
                select.value = "public";
                select.form.submit();
            }"""
        )
    expect(owner.get_by_role("alert")).to_contain_text("Only a platform admin can make an image public.")
    image.refresh_from_db()
    assert (image.visibility, image.updated_at) == before

    admin = sign_in("root")
    admin.locator(".sidenav").get_by_role("link", name="Images").last.click()
    admin.get_by_role("link", name="golden-debian").click()
    admin.get_by_role("link", name="Edit Image").click()
    admin.get_by_label("Visibility").select_option("public")
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator("#flash")).to_contain_text("saved")
    image.refresh_from_db()
    assert image.visibility == Visibility.PUBLIC

    target = sign_in("bob")
    expect(target.locator(f"#row-{image.pk}")).to_contain_text("Public")


def test_it_shares_and_accepts_with_plain_forms_when_javascript_is_off(
    sign_in, make_image, app_team, alice, bob
):
    image = make_image("golden-ubuntu")

    owner = sign_in("alice", java_script_enabled=False)
    open_members_tab(owner, "golden-ubuntu")
    owner.get_by_label("Project ID", exact=True).fill(app_team.pk)
    owner.get_by_role("button", name="Add Member").click()
    expect(owner.locator("#flash")).to_contain_text("Shared with app-team")
    expect(owner.locator(f"#member-{app_team.pk}")).to_contain_text("Pending")

    target = sign_in("bob", java_script_enabled=False)
    expect(target.locator(f"#row-{image.pk}")).to_contain_text("Pending")
    target.get_by_role("button", name="Accept golden-ubuntu").click()
    expect(target.locator("#flash")).to_contain_text("Accepted: golden-ubuntu.")
    expect(target.locator(f"#row-{image.pk}")).to_contain_text("Accepted")
    expect(pending_badge(target)).to_have_text("0")
    assert ImageMember.objects.get(image=image, member=app_team).status == MemberStatus.ACCEPTED

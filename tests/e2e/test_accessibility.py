"""Every page state checked with axe-core (the npm package, injected into the page): no violations,
at desktop width and at a phone's 390 px, where no page may scroll sideways either."""

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from images.models import MemberStatus, ShareEvent, Visibility

from .conftest import fill_when_wired

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}


def axe_violations(page: Page) -> list[dict]:
    """axe-core's violations on the page as it is now (WCAG 2.x A and AA, and best practices)."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `npm ci` (make test does) to install it from package-lock.json")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(" ") + " :: " + n.failureSummary),
            }));
        }"""
    )


def page_problems(page: Page, state: str) -> list[str]:
    """What is wrong with the page as it is now: axe-core's violations, and sideways scrolling."""
    page.wait_for_load_state()
    problems = [f"{state}: {json.dumps(v, indent=1)}" for v in axe_violations(page)]
    width = page.viewport_size["width"] if page.viewport_size else 0
    scroll = page.evaluate("document.documentElement.scrollWidth")
    if scroll > width:
        problems.append(f"{state}: the page scrolls sideways ({scroll} px wide in a {width} px window)")
    return problems


@pytest.fixture
def assert_accessible():
    """check(page, state) for every state of a test; the test fails at its end listing them all."""
    problems: list[str] = []
    yield lambda page, state: problems.extend(page_problems(page, state))
    assert problems == [], "\n".join(problems)


def _scope(user, project):
    from dashboard.identity import Scope
    from dashboard.models import Role

    return Scope(user=user, project=project, roles=frozenset({Role.MEMBER}))


@pytest.fixture
def sharing_world(make_image, platform, app_team, data_team, alice):
    """alice's platform project shares one image pending and one accepted with app-team (bob)."""
    from images import services

    pending = make_image("golden-ubuntu")
    accepted = make_image("golden-debian", visibility=Visibility.SHARED)
    make_image("public-base", visibility=Visibility.PUBLIC)
    accepted.properties = {"os_distro": "debian"}
    accepted.tags = ["base"]
    accepted.save()
    owner = _scope(alice, platform)
    services.image_share(scope=owner, image=pending, project_id=app_team.pk, make_shared=True)
    services.image_share(scope=owner, image=accepted, project_id=app_team.pk)
    services.image_share(scope=owner, image=accepted, project_id=data_team.pk)
    accepted.members.filter(member=app_team).update(status=MemberStatus.ACCEPTED)
    assert ShareEvent.objects.exists()
    return {"pending": pending, "accepted": accepted}


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_every_page_state_has_no_accessibility_violations(
    sign_in, chromium, live_server, sharing_world, bob, root, viewport, assert_accessible
):
    extra = {"bypass_csp": True, **({"viewport": viewport} if viewport else {})}
    pending, accepted = sharing_world["pending"], sharing_world["accepted"]

    anonymous = chromium.new_context(base_url=live_server.url, **extra).new_page()
    anonymous.goto("/auth/login/")
    assert_accessible(anonymous, "sign-in")
    anonymous.get_by_label("User name").fill("nobody")
    anonymous.get_by_label("Password").fill("wrong")
    anonymous.get_by_role("button", name="Sign in").click()
    assert_accessible(anonymous, "sign-in with an error")
    anonymous.context.close()

    owner = sign_in("alice", **extra)
    assert_accessible(owner, "catalog (owner)")
    for tab in ("project", "shared", "public", "community"):
        owner.goto(f"/project/images/?tab={tab}")
        assert_accessible(owner, f"{tab} tab")
    owner.goto("/project/images/?tab=community&search=1&q=nothing-matches")
    assert_accessible(owner, "empty search")
    owner.goto(f"/project/images/{accepted.pk}/")
    assert_accessible(owner, "detail overview with properties")
    owner.goto(f"/project/images/{accepted.pk}/?tab=members")
    assert_accessible(owner, "members tab, pending and accepted")
    wait_until_wired(owner.locator("form.add-member"))
    owner.get_by_role("button", name="Add Member").click()
    expect(owner.locator("#project-id-error")).to_be_visible()
    assert_accessible(owner, "members tab, add form with an error")
    fill_when_wired(owner.get_by_label("Project ID", exact=True), "no-such-project")
    expect(owner.locator("#member-lookup")).not_to_be_empty()
    assert_accessible(owner, "members tab, lookup error")
    owner.goto(f"/project/images/{accepted.pk}/?tab=activity")
    assert_accessible(owner, "detail activity tab")
    owner.goto(f"/project/images/{pending.pk}/?tab=members")
    remove = owner.locator(f"#member-{pending.members.get().member_id}").get_by_role("link", name="Remove")
    wait_until_wired(remove)
    remove.click()
    expect(owner.get_by_role("button", name="Remove app-team")).to_be_focused()
    assert_accessible(owner, "members tab, confirming a removal")
    owner.goto(f"/project/images/{pending.pk}/members/{pending.members.get().member_id}/remove/")
    assert_accessible(owner, "remove confirmation page")
    owner.goto(f"/project/images/{accepted.pk}/edit/")
    assert_accessible(owner, "edit form")
    owner.goto("/project/images/create/")
    owner.get_by_role("button", name="Create Image").click()
    assert_accessible(owner, "create form with errors")
    owner.goto("/project/images/upload/")
    expect(owner.get_by_role("button", name="Cancel upload")).to_be_hidden()  # no upload has started
    assert_accessible(owner, "upload form")
    owner.get_by_role("button", name="Create Image").click()  # nothing filled in
    assert_accessible(owner, "upload form with errors")
    owner.goto(f"/project/images/{accepted.pk}/delete/")
    assert_accessible(owner, "delete confirmation")
    owner.goto(f"/project/images/{accepted.pk}/members/bulk/")
    assert_accessible(owner, "share with several projects")
    owner.goto("/project/activity/")
    assert_accessible(owner, "activity")
    owner.goto("/project/notifications/")
    assert_accessible(owner, "notifications (owner)")
    response = owner.goto("/project/images/00000000-0000-0000-0000-000000000000/")
    assert response is not None and response.status == 404
    assert_accessible(owner, "404")

    target = sign_in("bob", **extra)
    assert_accessible(target, "catalog with a pending share")
    target.goto("/project/images/?tab=shared&status=pending")
    assert_accessible(target, "shared with me, pending")
    target.goto(f"/project/images/{pending.pk}/")
    assert_accessible(target, "detail of a pending share")
    target.goto(f"/project/images/{accepted.pk}/")
    assert_accessible(target, "detail of an accepted share")
    target.goto(f"/project/images/{accepted.pk}/explain/")
    assert_accessible(target, "access explainer")
    target.goto("/project/notifications/")
    assert_accessible(target, "notifications (target)")
    target.goto("/project/activity/")
    assert_accessible(target, "activity (target)")

    admin = sign_in("root", **extra)
    for path in ("/admin/images/", "/admin/activity/", "/admin/quotas/"):
        admin.goto(path)
        assert_accessible(admin, path)


# Keyboard-only journeys: every step reached with Tab and taken with Enter or typing, and after
# each step the focus is somewhere sensible, never lost to the page's body.


def tab_to(page: Page, locator, limit: int = 80) -> None:
    """Press Tab until the locator has the focus (it must be reachable by keyboard)."""
    target = locator.element_handle()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("el => el === document.activeElement", target):
            return
    pytest.fail(f"{locator} was not reached with {limit} presses of Tab")


def wait_until_wired(locator) -> None:
    """Wait until htmx has processed an element swapped in: before that, Enter would post its form
    the plain way (the page reloads: fine for a person, not for a test of where focus goes)."""
    locator.page.wait_for_function(
        "el => Boolean(el['htmx-internal-data'] && el['htmx-internal-data'].initHash)",
        arg=locator.element_handle(),
    )


def focused(page: Page) -> str:
    return page.evaluate(
        "() => { const el = document.activeElement;"
        " return el === document.body ? 'body' : el.outerHTML.slice(0, 200); }"
    )


def test_the_owner_shares_and_removes_by_keyboard_alone(sign_in, make_image, app_team, data_team, alice):
    image = make_image(
        "golden-ubuntu", visibility=Visibility.SHARED, members={data_team: MemberStatus.PENDING}
    )

    owner = sign_in("alice")
    owner.goto(f"/project/images/{image.pk}/")
    members_tab = owner.get_by_role("navigation", name="Image sections").get_by_role("link", name="Members")
    tab_to(owner, members_tab)
    owner.keyboard.press("Enter")
    expect(owner.get_by_role("button", name="Add Member")).to_be_visible()
    expect(members_tab).to_be_focused()  # the tab swapped with the panel keeps the focus

    field = owner.get_by_label("Project ID", exact=True)
    wait_until_wired(field)
    tab_to(owner, field)
    owner.keyboard.type("not-a-project")
    owner.keyboard.press("Enter")  # submits the form: refused next to the field, which keeps the focus
    expect(owner.locator("#project-id-error")).to_contain_text("not a project ID")
    expect(field).to_be_focused()
    expect(field).to_have_attribute("aria-invalid", "true")
    wait_until_wired(field)
    owner.keyboard.press("ControlOrMeta+a")
    owner.keyboard.type(app_team.pk)
    expect(owner.locator("#member-lookup")).to_contain_text("app-team")
    expect(owner.locator("#project-id-error")).to_be_empty()  # the stale error went with the confirmation
    expect(field).not_to_have_attribute("aria-invalid", "true")
    tab_to(owner, owner.get_by_role("button", name="Add Member"))
    owner.keyboard.press("Enter")
    expect(owner.locator(f"#member-{app_team.pk}")).to_contain_text("Pending")
    expect(owner.locator("#flash")).to_be_focused()  # the status message says what happened
    expect(owner.locator("#flash")).to_contain_text("Shared with app-team")

    wait_until_wired(owner.get_by_role("link", name="Remove app-team"))
    tab_to(owner, owner.get_by_role("link", name="Remove app-team"))
    owner.keyboard.press("Enter")
    confirm = owner.get_by_role("button", name="Remove app-team")
    expect(confirm).to_be_focused()
    wait_until_wired(owner.locator(f"#member-{app_team.pk} form"))
    owner.keyboard.press("Enter")
    expect(owner.locator(f"#member-{app_team.pk}")).to_have_count(0)
    # The focus moves to the next member's action.
    expect(owner.get_by_role("link", name="Remove data-team")).to_be_focused()

    wait_until_wired(owner.get_by_role("link", name="Remove data-team"))
    owner.keyboard.press("Enter")
    expect(owner.get_by_role("button", name="Remove data-team")).to_be_focused()
    wait_until_wired(owner.locator(f"#member-{data_team.pk} form"))
    owner.keyboard.press("Enter")
    expect(owner.locator("#members-table")).to_contain_text("Not shared with any project yet.")
    expect(owner.locator("#members-table")).to_be_focused()  # no member left: the table itself
    assert focused(owner) != "body"


def test_the_target_accepts_and_rejects_by_keyboard_alone(sign_in, make_image, app_team, bob):
    first = make_image(
        "golden-ubuntu", visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING}
    )
    second = make_image(
        "golden-debian", visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING}
    )

    target = sign_in("bob")
    tab_to(target, target.get_by_role("button", name="Reject golden-debian"))
    target.keyboard.press("Enter")
    row = target.locator(f"#row-{second.pk}")
    expect(row).to_contain_text("Rejected")
    # Rejected, the row still offers Accept: the focus is there, ready to undo.
    expect(target.get_by_role("button", name="Accept golden-debian")).to_be_focused()

    tab_to(target, target.get_by_role("button", name="Accept golden-ubuntu"))
    target.keyboard.press("Enter")
    expect(target.locator(f"#row-{first.pk}")).to_contain_text("Accepted")
    # Nothing left to answer in the row: the focus goes to the image's link in it.
    expect(target.locator(f"#row-{first.pk}").get_by_role("link", name="golden-ubuntu")).to_be_focused()
    expect(target.locator("#pending-badge .badge")).to_have_text("0")


FOCUS_RING_CONTRAST = """el => {
    // The contrast of the focused element's outline against the background it is drawn on (the
    // nearest ancestor's opaque background: the ring sits outside the element, offset from it).
    const rgb = c => c.match(/[\\d.]+/g).map(Number);
    const lum = ([r, g, b]) => {
        const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const style = getComputedStyle(el);
    if (style.outlineStyle === "none" || parseFloat(style.outlineWidth) < 2) return 0;
    let node = el.parentElement, bg = [255, 255, 255];
    while (node) {
        const c = rgb(getComputedStyle(node).backgroundColor);
        if (c.length === 3 || c[3] === 1) { bg = c.slice(0, 3); break; }
        node = node.parentElement;
    }
    const [a, b] = [lum(rgb(style.outlineColor)), lum(bg)].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
}"""


def test_the_focus_ring_stands_out_on_every_background(sign_in, make_image, app_team, bob):
    make_image("golden-ubuntu", visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING})
    page = sign_in("bob")
    controls = [
        page.get_by_role("button", name="Copy project ID"),  # the dark header
        page.get_by_role("link", name="Pending shares"),
        page.locator(".sidenav").get_by_role("link", name="Activity"),  # the white side nav
        page.get_by_role("navigation", name="Image lists").get_by_role("link", name="Public"),  # the page
        page.get_by_role("button", name="Accept golden-ubuntu"),  # a pending row's tint
    ]
    for control in controls:
        tab_to(page, control)
        ratio = control.evaluate(FOCUS_RING_CONTRAST)
        assert ratio >= 4.5, f"{control}: focus ring contrast {ratio:.2f}:1"

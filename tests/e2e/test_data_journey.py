"""The guide's "Upload an Image", "Image Properties" and "Quotas" in Chromium: alice uploads a
small image from the browser, describes it with a property, and sees her project's usage grow."""

import hashlib
import json
import os

import pytest
from playwright.sync_api import Page, expect

from images.models import Image, Status
from tests.e2e.test_journeys import assert_not_reloaded, follow, mark_page, snapshot

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

KiB = 1024
# Record every state of the progress bar in sessionStorage: it survives the page load that
# follows a finished upload, where the page's own variables do not.
WATCH_PROGRESS = """() => {
    const bar = document.getElementById("upload-bar");
    const seen = [];
    new MutationObserver(() => {
        seen.push(bar.value);
        sessionStorage.setItem("progress", JSON.stringify(seen));
        sessionStorage.setItem("status", document.getElementById("upload-status").textContent);
    }).observe(bar, {attributes: true, childList: true, characterData: true, subtree: true});
}"""


def meter_value(page: Page, quota: str) -> str | None:
    return page.locator(f"#quota-{quota}").get_attribute("value")


def test_it_uploads_an_image_edits_a_property_and_shows_the_usage_grow(sign_in, alice, settings, fs_store):
    settings.IMAGE_QUOTA_SIZE_TOTAL = 1024 * KiB
    settings.IMAGE_QUOTA_COUNT_TOTAL = 10
    data = os.urandom(256 * KiB)

    page = sign_in("alice")
    storage = page.get_by_role("meter", name="Image storage")
    expect(storage).to_have_attribute("value", "0")
    expect(storage).to_have_attribute("max", str(1024 * KiB))
    expect(page.locator('[data-quota="image_size_total"]')).to_contain_text("0 bytes of 1.0 MB")
    expect(page.get_by_role("meter", name="Images", exact=True)).to_have_attribute("value", "0")
    snapshot(page, "alice-usage-empty")

    follow(page, page.get_by_role("link", name="Upload Image"))
    page.get_by_label("File").set_input_files(
        {"name": "tiny.raw", "mimeType": "application/octet-stream", "buffer": data}
    )
    page.get_by_label("Name").fill("tiny-raw")
    page.get_by_label("Disk format").select_option("raw")
    page.get_by_label("Container format").select_option("bare")
    page.evaluate(WATCH_PROGRESS)
    with page.expect_navigation():  # to the new image's page, once the upload has finished
        page.get_by_role("button", name="Create Image").click()
    expect(page.get_by_role("heading", name="tiny-raw", exact=True)).to_be_visible()
    page.wait_for_load_state()

    progress = json.loads(page.evaluate("sessionStorage.getItem('progress')"))
    assert progress[-1] == 100 and progress == sorted(progress), progress
    assert page.evaluate("sessionStorage.getItem('status')").startswith("100% · 256.0 KB uploaded")
    image = Image.objects.get(name="tiny-raw")
    assert (image.status, image.size) == (Status.ACTIVE, len(data))
    assert image.checksum == hashlib.md5(data).hexdigest()
    expect(page.locator(".facts")).to_contain_text("Active")

    # A property, inline: the key's help as it is typed, then the row, without a page load.
    mark_page(page)
    page.get_by_label("Key", exact=True).fill("hw_qemu_guest_agent")
    expect(page.locator("#property-help")).to_contain_text("QEMU guest agent")
    page.get_by_label("Value", exact=True).fill("maybe")
    page.get_by_role("button", name="Add Property").click()
    expect(page.locator("#property-value-error")).to_contain_text("hw_qemu_guest_agent is yes or no")
    page.get_by_label("Value", exact=True).fill("yes")
    page.get_by_role("button", name="Add Property").click()
    row = page.locator('tr[data-key="hw_qemu_guest_agent"]')
    expect(row.get_by_label("Value of hw_qemu_guest_agent")).to_have_value("yes")
    expect(page.locator("#flash")).to_contain_text("Property hw_qemu_guest_agent added.")
    row.get_by_label("Value of hw_qemu_guest_agent").fill("no")
    row.get_by_role("button", name="Save hw_qemu_guest_agent").click()
    expect(page.locator("#flash")).to_contain_text("Property hw_qemu_guest_agent changed.")
    assert_not_reloaded(page)
    snapshot(page, "alice-properties")
    image.refresh_from_db()
    assert image.properties == {"hw_qemu_guest_agent": "no"}

    follow(page, page.get_by_role("link", name="Images", exact=True).first)
    expect(storage).to_have_attribute("value", str(256 * KiB))
    expect(page.locator('[data-quota="image_size_total"]')).to_contain_text("256.0 KB of 1.0 MB")
    expect(page.get_by_role("meter", name="Images", exact=True)).to_have_attribute("value", "1")
    snapshot(page, "alice-usage-after")

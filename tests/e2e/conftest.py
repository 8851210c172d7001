"""Browser journeys: Playwright (sync API) in Chromium against pytest-django's live_server.

A system Chromium is used when there is one (CHROMIUM_PATH, else Debian's /usr/bin/chromium);
otherwise Playwright's own build, which `make browser` installs.
"""

import os
import shutil
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import PASSWORD

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
# Journeys wait on the page, not on sleeps. The bound is generous because CI shares two cores
# between the browser, the server, PostgreSQL and SeaweedFS; a broken journey still fails.
expect.set_options(timeout=15_000)


def system_chromium() -> str | None:
    path = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    return path if shutil.which(path) else None


@pytest.fixture(scope="package")
def chromium(pytestconfig) -> Iterator[Browser]:
    """One browser for the journeys, started with the first and closed after the last.

    Playwright's sync API keeps a running asyncio loop in this thread, so Django would refuse every
    ORM call made here (SynchronousOnlyOperation). DJANGO_ALLOW_ASYNC_UNSAFE is set only while the
    browser runs: set for the whole session, it leaks into later tests (`check --deploy` rejects it).
    """
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=system_chromium(),  # None: Playwright's own build (`make browser`)
            headless=not pytestconfig.getoption("--headed", default=False),
            args=CHROMIUM_ARGS,
        )
        yield browser
        browser.close()


@pytest.fixture
def sign_in(live_server, chromium: Browser) -> Iterator[Callable[..., Page]]:
    """sign_in("alice") → a page in a fresh browser context, signed in through the login form."""
    contexts = []

    def sign_in_as(username: str, **context_args) -> Page:
        context = chromium.new_context(base_url=live_server.url, **context_args)
        contexts.append(context)
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.goto("/auth/login/")
        page.get_by_label("User name").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Images", exact=True)).to_be_visible()
        page.wait_for_load_state()
        return page

    yield sign_in_as
    for context in contexts:
        context.close()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    # Every journey signs in through the real form; the default hasher costs ~0.3 s per sign-in.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def fill_when_wired(locator, value: str) -> None:
    """Fill an htmx-driven field once htmx has wired its triggers. A panel swapped in by htmx is
    visible a moment before htmx processes it; an input event in between would go unheard."""
    locator.page.wait_for_function(
        "el => Boolean(el['htmx-internal-data'] && el['htmx-internal-data'].initHash)",
        arg=locator.element_handle(),
    )
    locator.fill(value)

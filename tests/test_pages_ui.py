"""What the pages offer and how they mark it: actions only where the access rules allow them, the
current section in the side nav, fields tied to their errors, the app's own error pages."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.views.defaults import server_error

from images.models import MemberStatus, Status, Visibility

ROOT = Path(__file__).resolve().parent.parent
DOWNLOAD = ">Download</a>"


def _detail(client, image) -> str:
    response = client.get(f"/project/images/{image.pk}/")
    assert response.status_code == 200
    return response.content.decode()


# Download is offered by access.can_download, never decided by the template


@pytest.mark.parametrize(
    ("status", "offered"),
    [(MemberStatus.PENDING, False), (MemberStatus.REJECTED, False), (MemberStatus.ACCEPTED, True)],
)
def test_it_offers_download_of_a_shared_image_only_once_the_share_is_accepted(
    client_bob, make_image, app_team, status, offered
):
    image = make_image(visibility=Visibility.SHARED, members={app_team: status})

    html = _detail(client_bob, image)

    assert (DOWNLOAD in html) is offered
    assert ("accept the share first to download it" in html) is not offered
    assert (client_bob.get(f"/project/images/{image.pk}/file/").status_code == 403) is not offered


def test_it_offers_download_to_the_owner_but_not_of_a_deactivated_image(client_alice, make_image):
    assert DOWNLOAD in _detail(client_alice, make_image("ready"))
    assert DOWNLOAD not in _detail(client_alice, make_image("stopped", status=Status.DEACTIVATED))


def test_it_offers_download_of_a_deactivated_image_to_a_platform_admin(client_root, make_image):
    assert DOWNLOAD in _detail(client_root, make_image("stopped", status=Status.DEACTIVATED))


# The side nav marks the current section


def _sidenav(html: str) -> str:
    start = html.index('<nav class="sidenav"')
    return html[start : html.index("</nav>", start)]


@pytest.mark.parametrize(
    ("path", "current", "how"),
    [
        ("/project/images/", "Images", "page"),
        ("/project/images/create/", "Images", "true"),
        ("/project/activity/", "Activity", "page"),
        ("/project/notifications/", "Notifications", "page"),
    ],
)
def test_the_side_nav_marks_the_current_section_only(client_alice, path, current, how):
    nav = _sidenav(client_alice.get(path).content.decode())

    marked = [line for line in nav.splitlines() if "aria-current" in line]
    assert len(marked) == 1, marked
    assert f'aria-current="{how}">{current}</a>' in marked[0]


def test_the_side_nav_marks_the_admin_section_for_an_admin(client_root):
    nav = _sidenav(client_root.get("/admin/quotas/").content.decode())
    assert nav.count("aria-current=") == 1
    assert 'aria-current="page">Quotas</a>' in nav


# Field errors are tied to their fields


def test_the_create_form_ties_each_error_to_its_field(client_alice):
    html = client_alice.post("/project/images/create/", {"name": "x" * 300}).content.decode()

    assert 'aria-invalid="true"' in html
    described = html[html.index('id="id_name"') - 300 : html.index('id="id_name"') + 300]
    assert "id_name_error" in described
    assert '<div id="id_name_error" class="error" role="alert">' in html


def test_the_sign_in_form_ties_its_error_to_both_fields(alice):
    html = Client().post("/auth/login/", {"username": "alice", "password": "wrong"}).content.decode()

    assert '<div id="login-error" class="error" role="alert">' in html
    assert html.count('aria-invalid="true" aria-describedby="login-error"') == 2


# The app's own error pages (with DEBUG off, as under `make run`)


def test_it_answers_an_unknown_page_with_its_own_404(client_alice):
    response = client_alice.get("/no/such/page/")
    assert response.status_code == 404
    assert "There is nothing here that your project can see." in response.content.decode()


def test_it_answers_a_bad_host_with_its_own_400():
    response = Client(HTTP_HOST="evil.example").get("/auth/login/")
    assert response.status_code == 400
    assert "<h1>Bad request</h1>" in response.content.decode()


def test_it_answers_an_expired_form_with_its_own_403(alice):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/auth/login/", {"username": "alice", "password": "x"})
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()
    assert "css/app.css" in response.content.decode()


def test_its_500_page_renders_without_a_request_context(rf):
    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_make_run_serves_with_debug_off_over_plain_http():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(DJANGO_DEBUG="0", DJANGO_HTTPS="0", DJANGO_SECRET_KEY="k" * 60)
    code = (
        "from django.conf import settings as s;"
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT,"
        " '127.0.0.1' in s.ALLOWED_HOSTS and 'localhost' in s.ALLOWED_HOSTS)"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "False", "False", "True"]
    makefile = (ROOT / "Makefile").read_text()
    assert "DJANGO_DEBUG=0 DJANGO_HTTPS=0" in makefile and "collectstatic" in makefile

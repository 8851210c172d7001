import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from dashboard.models import Project, Role, RoleAssignment

from .conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent


def test_it_sends_anonymous_visitors_to_sign_in(client, db):
    response = client.get("/project/images/")
    assert response.status_code == 302
    assert response["Location"].startswith("/auth/login/")


def test_it_signs_in_and_opens_the_images_page(client, alice):
    response = client.post("/auth/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/project/images/").status_code == 200


def test_it_refuses_a_wrong_password_with_a_message(client, alice):
    response = client.post("/auth/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 401
    assert "correct username and password" in response.content.decode()
    assert client.get("/project/images/").status_code == 302


def test_it_throttles_repeated_failed_sign_ins(client, alice, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/auth/login/", {"username": "alice", "password": "nope"})
    # Even the right password is refused while the backoff lasts.
    response = client.post("/auth/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert response["Retry-After"] == "30"
    assert "Too many failed sign-ins. Wait 30 seconds and try again." in response.content.decode()
    assert client.get("/project/images/").status_code == 302


def test_it_throttles_by_client_address_across_user_names(client, alice, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    for name in ("x1", "x2", "x3"):
        client.post("/auth/login/", {"username": name, "password": "nope"})
    response = client.post("/auth/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429


def test_sign_out_is_a_post(client_alice):
    assert client_alice.get("/auth/logout/").status_code == 405
    assert client_alice.post("/auth/logout/").status_code == 302
    assert client_alice.get("/project/images/").status_code == 302


def test_it_shows_the_current_project_id_with_a_copy_button(client_bob, app_team):
    page = client_bob.get("/project/images/").content.decode()
    assert f'<code id="current-project-id">{app_team.pk}</code>' in page
    assert 'data-copy="#current-project-id"' in page


def test_the_switcher_offers_only_projects_with_a_role(client_bob, bob, app_team, data_team, platform):
    RoleAssignment.objects.create(user=bob, project=data_team, role=Role.READER)
    page = client_bob.get("/project/images/").content.decode()
    assert f'value="{data_team.pk}"' in page and f'value="{app_team.pk}"' in page
    assert f'value="{platform.pk}"' not in page


def test_it_switches_project_and_keeps_it_in_the_session(client_bob, bob, data_team):
    RoleAssignment.objects.create(user=bob, project=data_team, role=Role.READER)
    client_bob.post("/project/switch/", {"project_id": data_team.pk})
    page = client_bob.get("/project/images/").content.decode()
    assert f'<code id="current-project-id">{data_team.pk}</code>' in page
    # As a reader of data-team, bob may no longer create images.
    assert "Create Image" not in page
    assert client_bob.get("/project/images/create/").status_code == 403


def test_it_refuses_to_switch_to_a_project_without_a_role(client_bob, platform, app_team):
    response = client_bob.post("/project/switch/", {"project_id": platform.pk}, follow=True)
    assert "You have no role on that project." in response.content.decode()
    assert f'<code id="current-project-id">{app_team.pk}</code>' in response.content.decode()


def test_a_disabled_project_leaves_the_switcher(client_bob, bob, app_team, data_team):
    RoleAssignment.objects.create(user=bob, project=data_team, role=Role.MEMBER)
    Project.objects.filter(pk=app_team.pk).update(enabled=False)
    page = client_bob.get("/project/images/").content.decode()
    assert f'value="{app_team.pk}"' not in page
    assert f'<code id="current-project-id">{data_team.pk}</code>' in page


def test_a_user_without_any_role_is_told_why(db):
    user = get_user_model().objects.create_user("nobody", password=PASSWORD)
    client = Client()
    client.force_login(user)
    response = client.get("/project/images/")
    assert response.status_code == 403
    assert "no role on any enabled project" in response.content.decode()


def test_project_ids_have_the_keystone_shape(platform):
    assert len(platform.pk) == 32 and all(c in "0123456789abcdef" for c in platform.pk)


def test_the_demo_world_loads_idempotently(db, isolated_store):
    call_command("demo_world")
    call_command("demo_world")
    assert set(Project.objects.values_list("name", flat=True)) == {"platform", "app-team", "data-team"}
    roles = {
        (a.user.username, a.project.name, a.role)
        for a in RoleAssignment.objects.select_related("user", "project")
    }
    assert ("dave", "app-team", "reader") in roles and ("admin", "platform", "admin") in roles
    from images.models import Image, ImageMember, Visibility

    assert set(Image.objects.values_list("visibility", flat=True)) == set(Visibility.values)
    assert ImageMember.objects.filter(member__name="app-team", status="pending").exists()
    # Every demo image holds real data, downloadable by whoever may use it.
    assert set(Image.objects.values_list("status", flat=True)) == {"active"}
    golden = Image.objects.get(name="golden-debian-12")
    assert golden.virtual_size == 2 * 1024**3 and golden.checksum
    bob = Client()
    bob.post("/auth/login/", {"username": "bob", "password": "bob-demo-pw"})
    download = bob.get(f"/project/images/{golden.pk}/file/")
    assert download.status_code == 200
    assert hashlib.md5(b"".join(download.streaming_content)).hexdigest() == golden.checksum
    client = Client()
    assert client.post("/auth/login/", {"username": "bob", "password": "bob-demo-pw"}).status_code == 302


def test_production_settings_pass_the_deploy_check():
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "a-long-random-secret-for-this-check-only-" + "x" * 30,
        "DJANGO_ALLOWED_HOSTS": "images.example.org",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env["DJANGO_DEBUG"] = "0"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_bad_boolean_setting_is_reported(value):
    env = {**os.environ, "DJANGO_DEBUG": value}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert "DJANGO_DEBUG must be a boolean" in result.stderr

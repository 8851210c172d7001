"""Sessions read with their user and role assignments in one query (dashboard.sessions,
dashboard.auth): who is signed in, and with which roles, is decided exactly as Django decides it."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.auth import get_user
from dashboard.identity import scopes_for
from dashboard.middleware import SESSION_PROJECT_KEY, ScopeMiddleware
from dashboard.models import Project, Role, RoleAssignment, Session

from .conftest import PASSWORD


def _session(client: Client) -> Session:
    return Session.objects.get(pk=client.cookies[settings.SESSION_COOKIE_NAME].value)


def _current_project(client: Client) -> str | None:
    response = client.get("/project/images/")
    if response.status_code != 200:
        return None
    page = response.content.decode()
    start = page.index('<code id="current-project-id">') + len('<code id="current-project-id">')
    return page[start : page.index("</code>", start)]


def test_the_session_row_names_its_user_from_sign_in_to_sign_out(client, alice):
    client.get("/auth/login/")
    client.post("/auth/login/", {"username": "alice", "password": PASSWORD})
    assert _session(client).user_id == alice.pk
    key = _session(client).pk
    client.post("/auth/logout/")
    assert not Session.objects.filter(pk=key).exists()
    assert client.get("/project/images/").status_code == 302


def test_signing_in_gives_a_new_session_key(client, alice):
    client.get("/auth/login/")
    session = client.session
    session["before"] = "sign-in"
    session.save()
    before = session.session_key
    client.post("/auth/login/", {"username": "alice", "password": PASSWORD})
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    assert not Session.objects.filter(pk=before).exists()
    assert Session.objects.get(pk=after).user_id == alice.pk


def test_a_signed_in_page_reads_session_user_and_roles_in_one_query(client_bob, app_team):
    client_bob.get("/project/images/")
    with CaptureQueriesContext(connection) as ctx:
        client_bob.get("/project/images/")
    first = ctx.captured_queries[0]["sql"]
    assert "dashboard_session" in first and "auth_user" in first and "dashboard_roleassignment" in first
    assert not any("auth_user" in q["sql"] for q in ctx.captured_queries[1:])
    assert not any("dashboard_roleassignment" in q["sql"] for q in ctx.captured_queries[1:])


def test_a_password_change_signs_out_the_other_sessions(client_alice, alice):
    assert _current_project(client_alice) is not None
    alice.set_password("a-new-password-1")
    alice.save()
    key = client_alice.cookies[settings.SESSION_COOKIE_NAME].value
    assert client_alice.get("/project/images/").status_code == 302
    assert not Session.objects.filter(pk=key).exists()  # flushed


def test_a_session_signed_with_a_previous_secret_key_is_kept_under_a_new_key(
    client_alice, platform, settings
):
    old = client_alice.cookies[settings.SESSION_COOKIE_NAME].value
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-rotated-secret-key-" + "x" * 40
    assert _current_project(client_alice) == platform.pk
    new = client_alice.cookies[settings.SESSION_COOKIE_NAME].value
    assert new != old and not Session.objects.filter(pk=old).exists()
    assert Session.objects.get(pk=new).user_id is not None
    assert _current_project(client_alice) == platform.pk


def test_a_deactivated_user_is_signed_out_on_the_next_request(client_bob, bob):
    assert _current_project(client_bob) is not None
    get_user_model().objects.filter(pk=bob.pk).update(is_active=False)
    assert client_bob.get("/project/images/").status_code == 302


def test_a_deleted_user_takes_their_sessions_along(client_bob, bob):
    key = client_bob.cookies[settings.SESSION_COOKIE_NAME].value
    bob.delete()
    assert not Session.objects.filter(pk=key).exists()
    assert client_bob.get("/project/images/").status_code == 302


def test_a_session_naming_a_user_who_is_gone_signs_in_no_one(client_bob, bob):
    Session.objects.filter(user=bob).update(user_id=None)  # as if bob's row were deleted behind the ORM
    get_user_model().objects.filter(pk=bob.pk).delete()
    assert client_bob.get("/project/images/").status_code == 302


def test_the_session_data_decides_who_is_signed_in_not_the_user_column(client_bob, alice, app_team):
    # The column only lets the read join the user; a row whose column disagrees with its (signed)
    # data still signs in the data's user, read on its own.
    Session.objects.filter(pk=client_bob.cookies[settings.SESSION_COOKIE_NAME].value).update(user_id=alice.pk)
    assert _current_project(client_bob) == app_team.pk


def test_an_expired_session_signs_in_no_one(client_bob):
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client_bob.get("/project/images/").status_code == 302


def test_a_revoked_role_takes_effect_on_the_next_request(client_bob, bob, app_team, data_team):
    RoleAssignment.objects.create(user=bob, project=data_team, role=Role.MEMBER)
    assert _current_project(client_bob) == app_team.pk
    RoleAssignment.objects.filter(user=bob, project=app_team).delete()
    assert _current_project(client_bob) == data_team.pk
    RoleAssignment.objects.filter(user=bob).delete()
    assert client_bob.get("/project/images/").status_code == 403


def test_a_disabled_project_takes_effect_on_the_next_request(client_bob, bob, app_team):
    assert _current_project(client_bob) == app_team.pk
    Project.objects.filter(pk=app_team.pk).update(enabled=False)
    assert client_bob.get("/project/images/").status_code == 403
    Project.objects.filter(pk=app_team.pk).update(enabled=True)
    assert _current_project(client_bob) == app_team.pk


def test_a_role_granted_on_another_project_appears_at_once(client_bob, bob, data_team):
    RoleAssignment.objects.create(user=bob, project=data_team, role=Role.READER)
    assert f'value="{data_team.pk}"' in client_bob.get("/project/images/").content.decode()


@pytest.mark.parametrize("roles", [[Role.READER], [Role.MEMBER, Role.READER], [Role.ADMIN, Role.MEMBER]])
def test_the_scope_read_with_the_session_is_the_scope_read_alone(client, ops, platform, roles):
    user = get_user_model().objects.create_user("erin", password=PASSWORD)
    for role in roles:
        RoleAssignment.objects.create(user=user, project=platform, role=role)
    RoleAssignment.objects.create(user=user, project=ops, role=Role.READER)
    client.force_login(user)
    client.get("/project/images/")
    request = RequestFactory().get("/project/images/")
    request.session = client.session
    request.user = get_user(request)
    ScopeMiddleware(lambda r: HttpResponse())(request)
    alone = scopes_for(user, request.session.get(SESSION_PROJECT_KEY))
    assert request.scope == alone
    assert request.scope.projects == alone.projects
    assert [p.name for p in request.scope.projects] == sorted(p.name for p in request.scope.projects)
    assert request.scope.is_admin == (Role.ADMIN in roles)


def test_an_api_request_ignores_a_session(client_bob):
    response = client_bob.get("/image/v2/images")
    assert response.status_code == 401

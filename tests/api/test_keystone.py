"""Identity API v3 subset: tokens, version discovery, projects and users."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.models import ApiToken, Role, RoleAssignment

from .conftest import TOKENS_URL, Api, issue, password_auth


def test_it_issues_a_project_scoped_token_with_a_catalog(client, alice, platform):
    response = issue(client, "alice", "platform")

    assert response.status_code == 201
    assert response["X-Subject-Token"]
    token = response.json()["token"]
    assert token["methods"] == ["password"]
    assert token["user"] == {
        "id": str(alice.pk),
        "name": "alice",
        "domain": {"id": "default", "name": "Default"},
        "password_expires_at": None,
    }
    assert token["project"] == {
        "id": platform.pk,
        "name": "platform",
        "domain": {"id": "default", "name": "Default"},
    }
    assert [r["name"] for r in token["roles"]] == ["member"]
    assert token["expires_at"].endswith("Z") and token["issued_at"].endswith("Z")
    services = {s["type"]: s for s in token["catalog"]}
    image_urls = {e["interface"]: e["url"] for e in services["image"]["endpoints"]}
    assert image_urls == dict.fromkeys(("public", "internal", "admin"), "http://testserver/image/")
    assert services["identity"]["endpoints"][0]["url"] == "http://testserver/identity/v3"


def test_it_authenticates_by_user_id_and_project_id(client, alice, platform):
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"id": str(alice.pk), "password": "correct-horse-battery"}},
            },
            "scope": {"project": {"id": platform.pk}},
        }
    }
    response = client.post(TOKENS_URL, json.dumps(body), content_type="application/json")

    assert response.status_code == 201
    assert response.json()["token"]["project"]["name"] == "platform"


def test_it_stores_only_the_hash_of_a_token(client, alice, platform):
    secret = issue(client, "alice", "platform")["X-Subject-Token"]

    stored = ApiToken.objects.get()
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {stored.key_hash, stored.audit_id}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"password": "wrong"}, "password is wrong"),
        ({"project": "data-team"}, "no role on that project"),
        ({"project": "no-such-project"}, "no role on that project"),
    ],
)
def test_it_refuses_bad_credentials_or_scope_with_401(client, alice, data_team, kwargs, message):
    project = kwargs.pop("project", "platform")
    response = issue(client, "alice", project, **kwargs)

    assert response.status_code == 401
    assert message in response.json()["error"]["message"]
    assert response.json()["error"]["code"] == 401
    assert not ApiToken.objects.exists()


def test_it_refuses_an_unscoped_request_with_401(client, alice):
    body = password_auth("alice", "platform")
    del body["auth"]["scope"]

    response = client.post(TOKENS_URL, json.dumps(body), content_type="application/json")

    assert response.status_code == 401
    assert "project-scoped tokens only" in response.json()["error"]["message"]


def test_it_refuses_a_user_of_another_domain(client, alice, platform):
    body = password_auth("alice", "platform")
    body["auth"]["identity"]["password"]["user"]["domain"] = {"name": "Other"}

    response = client.post(TOKENS_URL, json.dumps(body), content_type="application/json")

    assert response.status_code == 401


def test_it_refuses_a_disabled_user(client, alice, platform):
    alice.is_active = False
    alice.save()

    assert issue(client, "alice", "platform").status_code == 401


def test_it_throttles_repeated_failed_passwords(client, alice, platform, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        assert issue(client, "alice", "platform", password="wrong").status_code == 401

    response = issue(client, "alice", "platform")

    assert response.status_code == 429
    assert response["Retry-After"] == "30"
    assert "Too many failed authentications. Wait 30 seconds" in response.json()["error"]["message"]


def test_it_answers_version_discovery(client):
    root = client.get("/identity/")
    v3 = client.get("/identity/v3")

    assert root.status_code == 300
    assert root.json()["versions"]["values"][0]["id"] == "v3.14"
    assert v3.status_code == 200
    assert v3.json()["version"]["links"][0]["href"] == "http://testserver/identity/v3/"


def _validate(api: Api, subject: str, method: str = "get"):
    return getattr(api.client, method)(
        TOKENS_URL, headers={"X-Auth-Token": api.token, "X-Subject-Token": subject}
    )


def test_it_validates_a_token_with_get_and_head(api_alice):
    got = _validate(api_alice, api_alice.token)
    head = _validate(api_alice, api_alice.token, "head")

    assert got.status_code == 200
    assert got["X-Subject-Token"] == api_alice.token
    assert got.json()["token"]["user"]["name"] == "alice"
    assert head.status_code == 200 and head.content == b""


def test_it_answers_404_for_an_unknown_subject_token(api_alice):
    assert _validate(api_alice, "not-a-token").status_code == 404


def test_it_refuses_to_validate_another_users_token(api_alice, api_bob):
    assert _validate(api_bob, api_alice.token).status_code == 403


def test_it_lets_an_admin_validate_any_token(api_alice, api_root):
    assert _validate(api_root, api_alice.token).status_code == 200


def test_it_refuses_a_request_without_a_valid_token(client, alice, platform):
    response = client.get(TOKENS_URL, headers={"X-Subject-Token": "x"})

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Keystone uri=")


def test_it_revokes_a_token(api_alice):
    response = _validate(api_alice, api_alice.token, "delete")

    assert response.status_code == 204
    assert api_alice.get("/image/v2/images").status_code == 401


def test_an_expired_token_stops_working(api_alice):
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert api_alice.get("/image/v2/images").status_code == 401


def test_tokens_expire_after_the_configured_lifetime(client, alice, platform, settings):
    settings.API_TOKEN_LIFETIME = 60
    before = timezone.now()

    issue(client, "alice", "platform")
    after = timezone.now()

    expires_at = ApiToken.objects.get().expires_at
    # Bounded by the request's own start and end, so a slow machine cannot make it flaky.
    assert before + timedelta(seconds=60) <= expires_at <= after + timedelta(seconds=60)


def test_a_disabled_user_or_project_invalidates_its_tokens(api_alice, alice, platform):
    alice.is_active = False
    alice.save()
    assert api_alice.get("/image/v2/images").status_code == 401

    alice.is_active = True
    alice.save()
    platform.enabled = False
    platform.save()
    assert api_alice.get("/image/v2/images").status_code == 401


def test_a_token_gains_a_role_given_after_it_was_issued(api_dave, dave, app_team):
    assert api_dave.post("/image/v2/images", {"name": "x"}).status_code == 403

    RoleAssignment.objects.create(user=dave, project=app_team, role=Role.MEMBER)

    assert api_dave.post("/image/v2/images", {"name": "x"}).status_code == 201


def test_a_demoted_admins_token_loses_admin_powers_at_once(api_root, root, make_image, platform):
    image = make_image("golden", owner=platform, visibility="community")  # visible to all
    public = [{"op": "replace", "path": "/visibility", "value": "public"}]
    assert api_root.get(f"/identity/v3/projects/{platform.pk}").status_code == 200

    RoleAssignment.objects.filter(user=root, role=Role.ADMIN).delete()

    response = api_root.patch(f"/image/v2/images/{image.pk}", public)
    assert response.status_code == 403
    assert "Only the owner project" in response.json()["message"]
    image.refresh_from_db()
    assert image.visibility == "community"
    assert api_root.get(f"/identity/v3/projects/{platform.pk}").status_code == 403
    # Still a member of ops: the token works, with the roles held now.
    assert api_root.get("/image/v2/images").status_code == 200
    body = api_root.get("/identity/v3/auth/tokens", **{"X-Subject-Token": api_root.token}).json()
    assert [r["name"] for r in body["token"]["roles"]] == ["member"]


def test_an_admin_role_on_a_disabled_project_makes_no_admin(api_as, root, ops, platform):
    RoleAssignment.objects.create(user=root, project=platform, role=Role.MEMBER)
    token = api_as(root, platform)
    assert token.get(f"/identity/v3/projects/{ops.pk}").status_code == 200
    ops.enabled = False
    ops.save()

    assert token.get(f"/identity/v3/projects/{ops.pk}").status_code == 403


def test_a_user_removed_from_the_project_is_no_longer_authenticated(api_bob, bob, app_team):
    assert api_bob.get("/image/v2/images").status_code == 200

    RoleAssignment.objects.filter(user=bob, project=app_team).delete()

    assert api_bob.get("/image/v2/images").status_code == 401
    assert api_bob.get(f"/identity/v3/projects/{app_team.pk}").status_code == 401


def test_a_role_on_another_project_does_not_keep_a_token_alive(api_bob, bob, app_team, data_team):
    RoleAssignment.objects.create(user=bob, project=data_team, role=Role.MEMBER)
    RoleAssignment.objects.filter(user=bob, project=app_team).delete()

    assert api_bob.get("/image/v2/images").status_code == 401


def test_it_finds_a_token_and_its_current_roles_in_one_query(api_bob, django_assert_num_queries):
    from dashboard.tokens import token_find

    with django_assert_num_queries(1):
        token = token_find(api_bob.token)
        assert (token.roles, token.is_admin, token.user.username, token.project.name) == (
            ["member"],
            False,
            "bob",
            "app-team",
        )


def test_it_shows_the_callers_projects_by_id_and_name(api_bob, app_team):
    by_id = api_bob.get(f"/identity/v3/projects/{app_team.pk}")
    by_name = api_bob.get("/identity/v3/projects?name=app-team")

    assert by_id.json()["project"]["name"] == "app-team"
    assert [p["id"] for p in by_name.json()["projects"]] == [app_team.pk]


def test_it_refuses_other_projects_to_a_non_admin(api_bob, platform):
    assert api_bob.get(f"/identity/v3/projects/{platform.pk}").status_code == 403
    assert api_bob.get("/identity/v3/projects/does-not-exist").status_code == 403
    # A name filter matching none of the caller's projects: 403, as Keystone answers non-admins.
    assert api_bob.get(f"/identity/v3/projects?name={platform.pk}").status_code == 403


def test_it_shows_any_project_to_an_admin(api_root, platform):
    assert api_root.get(f"/identity/v3/projects/{platform.pk}").status_code == 200
    assert api_root.get("/identity/v3/projects/does-not-exist").status_code == 404
    assert api_root.get("/identity/v3/projects?name=nothing").json()["projects"] == []


def test_it_shows_the_caller_its_own_user_only(api_bob, bob, alice):
    assert api_bob.get(f"/identity/v3/users/{bob.pk}").json()["user"]["name"] == "bob"
    assert api_bob.get(f"/identity/v3/users/{alice.pk}").status_code == 403


def test_it_needs_no_csrf_token(alice, platform):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)

    assert issue(strict, "alice", "platform").status_code == 201

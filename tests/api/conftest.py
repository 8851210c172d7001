"""Helpers for the OpenStack API tests: tokens issued through the real Identity endpoint, and a
client that sends them the way the `openstack` CLI does."""

import http.client
import json

import pytest
from django.test import Client

from tests.conftest import PASSWORD

TOKENS_URL = "/identity/v3/auth/tokens"
PATCH = "application/openstack-images-v2.1-json-patch"


def password_auth(username: str, project: str, *, password: str = PASSWORD, **scope_project) -> dict:
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": username, "domain": {"name": "Default"}, "password": password}},
            },
            "scope": {"project": scope_project or {"name": project, "domain": {"name": "Default"}}},
        }
    }


def issue(client: Client, username: str, project: str, **kwargs):
    return client.post(
        TOKENS_URL, json.dumps(password_auth(username, project, **kwargs)), content_type="application/json"
    )


def token_over_http(
    connection: http.client.HTTPConnection, username: str, project: str, password: str
) -> str:
    """A token from a real server (gunicorn, or nginx in front of it) over an HTTP connection."""
    connection.request(
        "POST",
        TOKENS_URL,
        json.dumps(password_auth(username, project, password=password)),
        {"Content-Type": "application/json"},
    )
    response = connection.getresponse()
    response.read()
    assert response.status == 201, response.status
    return response.getheader("X-Subject-Token")


class Api:
    """A Django test client that authenticates every request with an Identity token and asks for
    JSON errors (`Accept: application/json`, as openstacksdk does; without it errors are HTML)."""

    def __init__(self, token: str):
        self.client = Client()
        self.token = token

    def _send(self, method: str, path: str, body=None, content_type="application/json", **headers):
        data = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
        headers = {"X-Auth-Token": self.token, "Accept": "application/json", **headers}
        headers = {k: v for k, v in headers.items() if v is not None}  # Accept=None: send none
        kwargs = {"headers": headers}
        if data is not None:
            kwargs.update(data=data, content_type=content_type)
        return getattr(self.client, method)(path, **kwargs)

    def get(self, path, **headers):
        return self._send("get", path, **headers)

    def post(self, path, body=None, **kwargs):
        return self._send("post", path, body if body is not None else "", **kwargs)

    def put(self, path, body=None, **kwargs):
        return self._send("put", path, body if body is not None else "", **kwargs)

    def patch(self, path, operations, content_type=PATCH):
        return self._send("patch", path, operations, content_type=content_type)

    def delete(self, path, **headers):
        return self._send("delete", path, **headers)


@pytest.fixture
def api_as(client):
    """api_as(user, project) → an Api holding a token for that user scoped to that project."""

    def make(user, project) -> Api:
        response = issue(client, user.username, project.name)
        assert response.status_code == 201, response.content
        return Api(response["X-Subject-Token"])

    return make


@pytest.fixture
def api_alice(api_as, alice, platform):
    return api_as(alice, platform)


@pytest.fixture
def api_bob(api_as, bob, app_team):
    return api_as(bob, app_team)


@pytest.fixture
def api_dave(api_as, dave, app_team):
    return api_as(dave, app_team)


@pytest.fixture
def api_carol(api_as, carol, data_team):
    return api_as(carol, data_team)


@pytest.fixture
def api_root(api_as, root, ops):
    return api_as(root, ops)

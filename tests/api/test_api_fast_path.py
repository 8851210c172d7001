"""The Image API acts for its token alone and skips the pages' middleware work (the signed-in user,
messages, htmx, the session's scope), with the headers never_cache gave it."""

import pytest
from django.contrib.messages.middleware import MessageMiddleware
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.views.decorators.cache import never_cache

from dashboard.middleware import pages_only
from images.api import NEVER_CACHE
from images.models import MemberStatus, Visibility

from .conftest import Api, issue


@pytest.fixture
def bob_token_in_carols_browser(client_carol, bob, app_team):
    """Bob's token, sent from a client that is signed in to the pages as carol (a session cookie)."""
    response = issue(client_carol, bob.username, app_team.name)
    assert response.status_code == 201
    api = Api(response["X-Subject-Token"])
    api.client = client_carol
    return api


def test_a_session_cookie_neither_authenticates_nor_widens_the_api(
    bob_token_in_carols_browser, client_carol, make_image, data_team
):
    carols = make_image("carols", owner=data_team)
    assert client_carol.get(f"/project/images/{carols.pk}/").status_code == 200
    # Bob's token: carol's image is not his to see, whoever is signed in to the pages.
    assert bob_token_in_carols_browser.get(f"/image/v2/images/{carols.pk}").status_code == 404
    # No token: the session does not authenticate the API.
    assert client_carol.get(f"/image/v2/images/{carols.pk}").status_code == 401


def test_an_api_request_reads_no_session_user_or_scope(bob_token_in_carols_browser, make_image, app_team):
    image = make_image(visibility=Visibility.SHARED, members={app_team: MemberStatus.ACCEPTED})
    with CaptureQueriesContext(connection) as queries:
        response = bob_token_in_carols_browser.get(f"/image/v2/images/{image.pk}")
    assert response.status_code == 200
    assert response.json()["id"] == str(image.pk)
    # The token and the image: no session, user or role-assignment read for the signed-in page user.
    assert len(queries) == 2, [q["sql"][:80] for q in queries]
    assert "Cookie" not in response.get("Vary", "")
    assert not response.cookies


def test_the_pages_still_get_their_user_scope_and_messages(client_carol):
    response = client_carol.get("/project/images/")
    assert response.status_code == 200
    assert response.wsgi_request.user.username == "carol"
    assert response.wsgi_request.scope.project.name == "data-team"
    assert hasattr(response.wsgi_request, "_messages")
    assert hasattr(response.wsgi_request, "htmx")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/image/v2/images/{id}", 200),
        ("get", "/image/v2/images/{id}/members", 200),
        ("get", "/image/v2/images/00000000-0000-4000-8000-000000000000", 404),
        ("get", "/image/v2/images?limit=x", 400),
    ],
)
def test_api_answers_carry_never_caches_headers(api_alice, make_image, method, path, status):
    image = make_image(visibility=Visibility.SHARED)
    response = getattr(api_alice, method)(path.format(id=image.pk))
    assert response.status_code == status
    assert response["Cache-Control"] == NEVER_CACHE
    assert response["Expires"]
    # The same as Django's decorator writes.
    reference = never_cache(lambda request: type(response)())(response.wsgi_request)
    assert response["Cache-Control"] == reference["Cache-Control"]


def test_an_unauthenticated_answer_carries_them_too(client):
    response = client.get("/image/v2/images")
    assert response.status_code == 401
    assert response["Cache-Control"] == NEVER_CACHE


def test_pages_only_refuses_a_middleware_with_hooks_it_would_not_skip():
    class WithViewHook(MessageMiddleware):
        def process_view(self, request, view, args, kwargs):
            return None

    with pytest.raises(TypeError):
        pages_only(WithViewHook)

"""Errors answered as Glance answers them (HTML by default, JSON or plain text when asked for),
and a request ID on every API response."""

import re

import pytest

from dashboard.api_responses import html_page

REQUEST_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MISSING = "/image/v2/images/00000000-0000-4000-8000-000000000000"


def test_an_image_api_error_is_webobs_html_page_without_accept(api_alice):
    response = api_alice.get(MISSING, Accept=None)

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert response.content.decode() == (
        "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n"
        "  No image found with ID 00000000-0000-4000-8000-000000000000.<br /><br />\n\n\n\n </body>\n</html>"
    )


def test_the_html_error_escapes_the_message():
    page = html_page(400, "Invalid name <script>alert(1)</script> & more")

    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page and "<script>" not in page


@pytest.mark.parametrize("accept", ["text/html", "*/*", "text/html,application/json;q=0.9", ""])
def test_html_is_also_the_answer_when_preferred_or_anything_goes(api_alice, accept):
    response = api_alice.get(MISSING, Accept=accept)

    assert response["Content-Type"].startswith("text/html") and b"<h1>404 Not Found</h1>" in response.content


def test_json_is_the_answer_when_asked_for(api_alice):
    response = api_alice.get(MISSING, Accept="application/json")

    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {
        "message": "No image found with ID 00000000-0000-4000-8000-000000000000.",
        "code": "404 Not Found",
        "title": "Not Found",
    }


@pytest.mark.parametrize("accept", ["text/plain", "image/png"])
def test_plain_text_is_the_answer_to_text_or_anything_else(api_alice, accept):
    response = api_alice.get(MISSING, Accept=accept)

    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == (
        "404 Not Found\n\nNo image found with ID 00000000-0000-4000-8000-000000000000.\n"
    )


def test_unknown_urls_and_methods_get_the_api_error_not_djangos_page(api_alice):
    unknown = api_alice.get("/image/v2/nothing-here", Accept="application/json")
    not_allowed = api_alice.put("/image/v2/images", "", Accept="application/json")

    assert unknown.status_code == 404 and unknown.json()["title"] == "Not Found"
    assert not_allowed.status_code == 405 and not_allowed.json()["code"] == "405 Method Not Allowed"
    assert "GET" in not_allowed["Allow"]


def test_identity_errors_stay_keystone_json_by_default(client):
    response = client.get("/identity/v3/auth/tokens", headers={"X-Subject-Token": "x"})

    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert (
        response.json()["error"]["code"] == 401
        and "Authenticate first" in response.json()["error"]["message"]
    )


def test_identity_errors_are_html_when_preferred(client):
    response = client.get("/identity/v3/auth/tokens", headers={"Accept": "text/html"})

    assert (
        response["Content-Type"].startswith("text/html") and b"<h1>401 Unauthorized</h1>" in response.content
    )


@pytest.mark.parametrize(
    "path",
    [
        "/image/",
        "/image/v2/images",
        MISSING,
        "/image/v2/nothing-here",
        "/identity/v3",
        "/identity/v3/projects",
    ],
)
def test_every_api_response_carries_a_request_id(api_alice, path):
    response = api_alice.get(path)

    assert REQUEST_ID.match(response["x-openstack-request-id"]), response.headers


def test_each_request_gets_its_own_id_and_pages_get_none(api_alice, client_alice):
    first = api_alice.get("/image/v2/images")["x-openstack-request-id"]
    second = api_alice.get("/image/v2/images")["x-openstack-request-id"]

    assert first != second
    assert "x-openstack-request-id" not in client_alice.get("/project/images/")

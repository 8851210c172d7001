"""Property-based fuzzing of the APIs from their OpenAPI description (images/openapi.py).

schemathesis generates requests for every described operation, valid and not, and each response
must be no server error (5xx) and conform to the description: a described status, content type,
headers and body. Bounded and repeatable: EXAMPLES per operation from a fixed seed.

Each request goes through django.test.Client, not schemathesis's WSGI transport: calling the WSGI
application directly fires request_finished, which closes the test's database connection (on
PostgreSQL, "the connection is closed"); the test client keeps it open.
"""

import pytest
import requests
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, Phase, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dashboard.tokens import token_issue
from images.api import PATCH_TYPES
from images.models import MemberStatus, Visibility
from images.openapi import DOCUMENT

EXAMPLES = 20
BASE_URL = "http://testserver"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Headers the test client sets itself (from content_type and the body).
OWN_HEADERS = {"content-type", "content-length", "host"}

# The image patch media types are JSON under other names.
schemathesis.serializer.alias(list(PATCH_TYPES), "application/json")
schema = schemathesis.openapi.from_dict(DOCUMENT)
# Generated examples only (the coverage phase enumerates every boundary of every parameter: too
# many requests for a test run), within the hypothesis settings below.
schema.config.phases.update(phases=["examples", "fuzzing"])


@pytest.fixture
def token(alice, platform, app_team, make_image) -> str:
    """alice's token on platform, in a world with an image of each kind to find."""
    make_image("fuzz-private", properties={"os_distro": "ubuntu"})
    make_image("fuzz-shared", visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING})
    return token_issue(user=alice, project=platform).secret


def send(case, token: str) -> Response:
    """The case sent through the Django test client, answered as schemathesis's Response."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers={"X-Auth-Token": token})
    prepared = requests.Request(
        method=kwargs["method"],
        url=kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params"),
        json=kwargs.get("json"),
        data=kwargs.get("data"),
        files=kwargs.get("files"),
        cookies=kwargs.get("cookies"),
    ).prepare()
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    headers = {k: v for k, v in prepared.headers.items() if k.lower() not in OWN_HEADERS}
    content_type = prepared.headers.get("Content-Type", "application/octet-stream")
    answer = Client(raise_request_exception=False).generic(
        prepared.method,
        prepared.path_url,
        data=body,
        content_type=content_type,
        headers=headers,
    )
    content = b"" if answer.streaming else answer.content
    return Response(
        status_code=answer.status_code,
        headers={name: [value] for name, value in answer.headers.items()},
        content=content,
        request=prepared,
        elapsed=0.0,
        verify=True,
    )


@schema.parametrize()
@seed(20_251_201)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.django_db
def test_the_api_answers_every_request_as_described_and_never_with_a_server_error(case, token):
    response = send(case, token)
    case.validate_response(response, checks=CHECKS)

"""How the OpenStack APIs (Image and Identity) answer errors, and the request ID on every answer.

Errors are negotiated the way Glance's webob does it, so that each client gets the shape it
parses: python-glanceclient sends no Accept and reads an HTML page (tags stripped, lines joined);
openstacksdk and keystoneauth ask for `application/json` and read `message` from the body (flat,
or nested one level as Keystone's `{"error": {…}}`); `text/plain` gets plain text. The Identity
API answers JSON unless HTML or plain text is preferred, as Keystone always answers JSON.
"""

import json
import uuid
from collections.abc import Callable
from html import escape

from django.http import HttpRequest, HttpResponse

HTML = "text/html"
JSON = "application/json"
PLAIN = "text/plain"
# The order is the preference when the client has none (no Accept, or */*).
IMAGE_API_TYPES = (HTML, JSON, PLAIN)
IDENTITY_API_TYPES = (JSON, HTML, PLAIN)

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    411: "Length Required",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

API_PREFIXES = ("/image/", "/identity/")
REQUEST_ID_HEADER = "x-openstack-request-id"


def title_of(status: int) -> str:
    return TITLES.get(status, "Error")


def negotiated_type(request: HttpRequest, offers: tuple[str, ...] = IMAGE_API_TYPES) -> str:
    """The error body type the client prefers among offers; plain text when it accepts none.

    An empty Accept counts as none: openstacksdk sends `Accept: ""` with uploads and downloads,
    and reads the message only from an HTML or JSON error."""
    if not request.headers.get("Accept", "").strip():
        return offers[0]
    return request.get_preferred_type(list(offers)) or PLAIN


def html_page(status: int, message: str) -> str:
    """webob's error page, which Glance sends by default (the message HTML-escaped)."""
    code = f"{status} {escape(title_of(status))}"
    return (
        f"<html>\n <head>\n  <title>{code}</title>\n </head>\n <body>\n  <h1>{code}</h1>\n"
        f"  {escape(message, quote=False)}<br /><br />\n\n\n\n </body>\n</html>"
    )


def glance_json(status: int, message: str) -> dict:
    """The JSON error webob sends to `Accept: application/json` (openstacksdk reads `message`)."""
    return {"message": message, "code": f"{status} {title_of(status)}", "title": title_of(status)}


def keystone_json(status: int, message: str) -> dict:
    """Keystone's JSON error (keystoneauth reads error.message)."""
    return {"error": {"code": status, "title": title_of(status), "message": message}}


def error_response(
    request: HttpRequest,
    status: int,
    message: str,
    *,
    offers: tuple[str, ...] = IMAGE_API_TYPES,
    json_body: Callable[[int, str], dict] = glance_json,
) -> HttpResponse:
    """An API error in the type the client prefers: HTML page, JSON (json_body's shape) or text."""
    kind = negotiated_type(request, offers)
    if kind == JSON:
        body = json.dumps(json_body(status, message))
    elif kind == HTML:
        body = html_page(status, message)
    else:
        body = f"{status} {title_of(status)}\n\n{message}\n"
    response = HttpResponse(body, status=status, content_type=f"{kind}; charset=UTF-8")
    response.api_error = True  # type: ignore[attr-defined]
    response["Vary"] = "Accept"
    return response


class ApiResponseMiddleware:
    """On the OpenStack APIs: an `x-openstack-request-id` on every response (the clients print it
    with errors, and logs can be matched to it), and Django's own 404/405 answers (unknown URL,
    method not allowed) turned into the APIs' negotiated errors."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIXES):
            return self.get_response(request)
        request_id = f"req-{uuid.uuid4()}"
        request.request_id = request_id  # type: ignore[attr-defined]
        response = self.get_response(request)
        if response.status_code in (404, 405) and not getattr(response, "api_error", False):
            identity = request.path.startswith("/identity/")
            message = (
                f"The method {request.method} is not allowed here."
                if response.status_code == 405
                else "The resource could not be found."
            )
            converted = error_response(
                request,
                response.status_code,
                message,
                offers=IDENTITY_API_TYPES if identity else IMAGE_API_TYPES,
                json_body=keystone_json if identity else glance_json,
            )
            if "Allow" in response:
                converted["Allow"] = response["Allow"]
            response = converted
        response[REQUEST_ID_HEADER] = request_id
        return response

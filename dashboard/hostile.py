"""Generic guards against hostile input: the one place that decides which text and which JSON a
request may carry before any view, form or query sees it.

- Text with a NUL character or a lone UTF-16 surrogate is refused everywhere (path, query
  string, form fields, JSON strings and keys): PostgreSQL cannot store either, UTF-8 cannot encode
  a surrogate, and no person types them.
- JSON bodies are parsed only when nested at most MAX_JSON_DEPTH deep (the parser would otherwise
  recurse until it fails), and NaN/Infinity are not JSON.

HostileInputMiddleware applies the text rule to every request; views that read JSON call
loads_json. Refusals are 400s: the Image API's error body under /image/, the Identity API's under
/identity/, a 400 page elsewhere.
"""

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

MAX_JSON_DEPTH = 32
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
API_PREFIXES = ("/image/", "/identity/")

_HOSTILE_TEXT = re.compile("[\x00\ud800-\udfff]")
# A JSON string (skipped whole, so brackets inside it do not count) or a bracket.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class HostileInput(ValueError):
    """The request carries input no client of ours sends (400); the message says what."""


def text_problem(value: str) -> str | None:
    """Why this text is refused, or None."""
    found = _HOSTILE_TEXT.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character"
    return "contains a lone surrogate (not a Unicode character)"


def check_texts(where: str, values: Iterable[str]) -> None:
    for value in values:
        problem = text_problem(value)
        if problem:
            raise HostileInput(f"The {where} {problem}.")


def whole_number(text: str, *, maximum: int = 2**63 - 1) -> int | None:
    """The number if text is one in ASCII digits and fits a database integer, else None
    ("²" and "٣" are digits to str.isdigit, and int() takes "٣", but they are no ID of ours)."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)):
        return None
    value = int(text)
    return value if value <= maximum else None


def _check_json_value(value: Any) -> None:
    if isinstance(value, str):
        check_texts("JSON body", [value])
    elif isinstance(value, dict):
        check_texts("JSON body", value.keys())
        for item in value.values():
            _check_json_value(item)
    elif isinstance(value, list):
        for item in value:
            _check_json_value(item)


def _refuse_constant(name: str) -> Any:
    raise HostileInput(f"The JSON body is not valid JSON ({name} is not a JSON number).")


def loads_json(body: bytes | str) -> Any:
    """The parsed JSON body; HostileInput if it is not JSON, nests deeper than MAX_JSON_DEPTH, or
    holds a NUL character or a lone surrogate."""
    try:
        text = body.decode() if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise HostileInput("The JSON body is not valid UTF-8.") from None
    depth = 0
    for token in _JSON_TOKEN.finditer(text):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise HostileInput(f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.")
        elif bracket in "]}":
            depth -= 1
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except HostileInput:
        raise
    except (ValueError, RecursionError):
        raise HostileInput("The request body is not valid JSON.") from None
    _check_json_value(value)
    return value


def check_request(request: HttpRequest) -> None:
    """HostileInput if the path, the query string or the form fields carry hostile text."""
    check_texts("path", [request.path])
    check_texts("query string", [text for key, values in request.GET.lists() for text in (key, *values)])
    # The APIs take JSON (checked by loads_json) and read the body themselves: parsing it as a
    # form here would leave them nothing to read.
    if request.method == "POST" and request.content_type in FORM_TYPES and not is_api(request):
        check_texts("form", [text for key, values in request.POST.lists() for text in (key, *values)])


class HostileInputMiddleware:
    """Refuse a request whose path, query string or form fields carry a NUL character or a lone
    surrogate, before sessions, authentication or views touch the database with it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            check_request(request)
        except HostileInput as e:
            return refusal(request, str(e))
        return self.get_response(request)


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIXES)


def refusal(request: HttpRequest, message: str) -> HttpResponse:
    """A 400 in the shape the requested part of the site answers errors in."""
    if request.path.startswith("/image/"):
        from images.api import _error

        return _error(request, 400, message)
    if request.path.startswith("/identity/"):
        from dashboard.keystone import _error as identity_error

        return identity_error(request, 400, message)
    html = render_to_string("400.html", {"message": message}, request)
    return HttpResponse(html, status=400)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: a BadRequest raised by a view, with its message (a SuspiciousOperation's
    message is for the log, not for the client)."""
    message = str(exception) if isinstance(exception, BadRequest) else ""
    return refusal(request, message or "The request could not be understood.")

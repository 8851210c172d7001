"""One JSON line per request (method, path, status, duration, SQL queries and their time), logged
to `dashboard.requests`. Queries are counted by a database execute wrapper, so DEBUG is not needed.

With REQUEST_TIMING_HEADERS on (the benchmark's server), the response also carries X-Query-Count
and a Server-Timing header with the same figures.
"""

import json
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("dashboard.requests")


class QueryCounter:
    """A database execute wrapper: counts the queries and the time spent in them."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.seconds += time.perf_counter() - started


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        counter = QueryCounter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        db_ms = round(counter.seconds * 1000, 2)
        if settings.REQUEST_TIMING_HEADERS:
            response["X-Query-Count"] = str(counter.count)
            response["Server-Timing"] = f"app;dur={duration_ms}, db;dur={db_ms}"
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                json.dumps(
                    {
                        "method": request.method,
                        "path": request.path,
                        # The client's, behind a trusted proxy too (dashboard.proxy runs first).
                        "address": request.META.get("REMOTE_ADDR"),
                        "status": response.status_code,
                        "duration_ms": duration_ms,
                        "queries": counter.count,
                        "db_ms": db_ms,
                        # The scope only if a middleware already built it: reading request.user
                        # here could cost the session and user queries after the fact.
                        "project": scope.project_id if (scope := getattr(request, "scope", None)) else None,
                    },
                    separators=(",", ":"),
                )
            )
        return response

"""The health endpoint for load balancers and process supervisors: is the database answering?"""

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as e:
        return JsonResponse({"status": "error", "database": type(e).__name__}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})

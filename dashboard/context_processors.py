from functools import cache

from django.http import HttpRequest


def shell(request: HttpRequest) -> dict:
    """The header: current project, switcher, pending-share and unread badges (one count query,
    when shown)."""
    scope = getattr(request, "scope", None)
    if scope is None:
        return {"scope": None}
    from images.access import header_counts

    counts = cache(lambda: header_counts(scope))
    return {
        "scope": scope,
        "pending_count": lambda: counts()["pending"],
        "unread_count": lambda: counts()["unread"],
    }

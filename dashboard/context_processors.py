from django.http import HttpRequest


def shell(request: HttpRequest) -> dict:
    """The header: current project, switcher, pending-share badge (one count query, when shown)."""
    scope = getattr(request, "scope", None)
    if scope is None:
        return {"scope": None}
    from images.access import pending_share_count

    return {"scope": scope, "pending_count": lambda: pending_share_count(scope)}

from functools import cache

from django.http import HttpRequest
from django.utils.safestring import SafeString

from dashboard import routes

# The header's and side navigation's links, by the name base.html uses for each.
NAV_URLS = {
    "home": "home",
    "switch_project": "switch-project",
    "logout": "logout",
    "images": "images:list",
    "activity": "images:activity",
    "inbox": "images:inbox",
    "admin_images": "images:admin-list",
    "admin_activity": "images:admin-activity",
    "admin_quotas": "images:admin-quotas",
}


def nav_urls() -> dict[str, SafeString]:
    """NAV_URLS by routes reversed once per process (dashboard.routes), not on every page. A
    reversed URL is already quoted: it holds no markup."""
    return {key: SafeString(routes.url(name)) for key, name in NAV_URLS.items()}


def shell(request: HttpRequest) -> dict:
    """The header: navigation links, current project, switcher, pending-share and unread badges
    (one count query, when shown)."""
    nav = nav_urls()
    scope = getattr(request, "scope", None)
    if scope is None:
        return {"scope": None, "nav": nav}
    from images.access import BADGE_CAP, header_counts

    counts = cache(lambda: header_counts(scope))
    return {
        "scope": scope,
        "nav": nav,
        "badge_cap": BADGE_CAP,
        "pending_count": lambda: counts()["pending"],
        "unread_count": lambda: counts()["unread"],
    }

from functools import cache, lru_cache

from django.http import HttpRequest
from django.urls import get_script_prefix, reverse
from django.utils.safestring import SafeString

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


@lru_cache(maxsize=8)
def nav_urls(script_prefix: str) -> dict[str, SafeString]:
    """NAV_URLS reversed once per process and URL prefix (reverse() reads this request's prefix),
    not on every page. A reversed URL is already quoted: it holds no markup."""
    return {key: SafeString(reverse(name)) for key, name in NAV_URLS.items()}


def shell(request: HttpRequest) -> dict:
    """The header: navigation links, current project, switcher, pending-share and unread badges
    (one count query, when shown)."""
    nav = nav_urls(get_script_prefix())
    scope = getattr(request, "scope", None)
    if scope is None:
        return {"scope": None, "nav": nav}
    from images.access import header_counts

    counts = cache(lambda: header_counts(scope))
    return {
        "scope": scope,
        "nav": nav,
        "pending_count": lambda: counts()["pending"],
        "unread_count": lambda: counts()["unread"],
    }

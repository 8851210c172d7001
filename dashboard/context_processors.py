from functools import cached_property

from django.http import HttpRequest
from django.utils.safestring import SafeString

from dashboard import routes
from dashboard.identity import Scope

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


class HeaderBadges:
    """The header's two counts, pending shares and unread notifications: read on first use, both
    in one query (access.header_counts), and only by a page that shows them."""

    def __init__(self, scope: Scope):
        self.scope = scope

    @cached_property
    def counts(self) -> dict[str, int]:
        from images.access import header_counts

        return header_counts(self.scope)

    @property
    def pending(self) -> int:
        return self.counts["pending"]

    @property
    def unread(self) -> int:
        return self.counts["unread"]


def shell(request: HttpRequest) -> dict:
    """The header: navigation links, current project, switcher, pending-share and unread badges
    (one count query, when shown)."""
    nav = nav_urls()
    scope = getattr(request, "scope", None)
    if scope is None:
        return {"scope": None, "nav": nav}
    from images.access import BADGE_CAP

    return {"scope": scope, "nav": nav, "badge_cap": BADGE_CAP, "badges": HeaderBadges(scope)}

"""Template helpers for share expiry: the last day a share counts, as the owner chose it."""

from datetime import date, datetime, timedelta

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def last_day(expires_at: datetime | None) -> date | None:
    """The last day a share counts. A share "until 5 December" expires at the first instant of
    6 December (images.forms.AddMemberForm.expires_at), which, shown as a date, reads a day late."""
    if expires_at is None:
        return None
    return timezone.localtime(expires_at - timedelta(microseconds=1)).date()

"""Template helpers for image data: the project's quota usage bars."""

from django import template

from images import quotas

register = template.Library()


@register.simple_tag(takes_context=True)
def quota_meters(context) -> list[quotas.Meter]:
    """Usage against each quota for the current project (two queries)."""
    scope = getattr(context.get("request"), "scope", None)
    return quotas.meters(scope.project) if scope is not None else []

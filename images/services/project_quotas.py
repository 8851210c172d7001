"""Per-project image quotas, as a platform admin sets them."""

from django.db import transaction

from dashboard.identity import Scope
from dashboard.models import Project

from .. import access, quotas
from ..models import (
    ProjectQuota,
)
from .errors import InvalidInput, NotPermitted


@transaction.atomic
def quota_set(*, scope: Scope, project: Project, limits: dict[str, int | None]) -> ProjectQuota:
    """Override a project's image quotas (platform admin); None restores the default, -1 is unlimited."""
    if not access.can_manage_quotas(scope):
        raise NotPermitted("Only a platform admin can change quotas.")
    unknown = set(limits) - set(quotas.NAMES)
    if unknown:
        raise InvalidInput(f"Unknown quotas: {', '.join(sorted(unknown))}.")
    for key, value in limits.items():
        if value is not None and value < quotas.UNLIMITED:
            raise InvalidInput(f"{quotas.NAMES[key]}: a quota is a number ≥ 0, or -1 for unlimited.")
    quotas.lock_project(project.pk)
    row = ProjectQuota.objects.get(project=project)
    for key, value in limits.items():
        setattr(row, key, value)
    row.save()
    return row

"""Per-project image quotas: the limits in force and the usage they are measured against.

Limits come from settings (IMAGE_QUOTA_*), overridden per project by a ProjectQuota row; -1 means
unlimited. Usage counts every image the project owns; stored bytes are the size of images that
hold data plus the bytes reserved by uploads in progress, so concurrent uploads can never add up
past the limit. Whoever checks a quota to change usage first locks the project's quota row
(lock_project), which serializes those checks on PostgreSQL.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.template.defaultfilters import filesizeformat

from dashboard.compiled import CompiledQuery
from dashboard.identity import Scope
from dashboard.models import Project

from .models import Image, ProjectQuota, Status

UNLIMITED = -1
COUNT_TOTAL = "image_count_total"
SIZE_TOTAL = "image_size_total"
COUNT_UPLOADING = "image_count_uploading"
NAMES = {
    COUNT_TOTAL: "Images",
    SIZE_TOTAL: "Image storage",
    COUNT_UPLOADING: "Uploads in progress",
}
HOLDING_DATA = [Status.ACTIVE, Status.DEACTIVATED, Status.SAVING]


@dataclass(frozen=True)
class MemberRoom:
    """How many more members an image may have: the limit (None: unlimited) against its count."""

    limit: int | None
    members: int

    @property
    def left(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.members, 0)

    @property
    def full(self) -> bool:
        return self.left == 0


def member_room(members: int) -> MemberRoom:
    """The member limit (IMAGE_MEMBER_QUOTA, -1 for unlimited) applied to an image with `members`
    members: the one rule the service, the pages and the API follow."""
    limit = settings.IMAGE_MEMBER_QUOTA
    return MemberRoom(limit=None if limit == UNLIMITED else limit, members=members)


def defaults() -> dict[str, int]:
    return {
        COUNT_TOTAL: settings.IMAGE_QUOTA_COUNT_TOTAL,
        SIZE_TOTAL: settings.IMAGE_QUOTA_SIZE_TOTAL,
        COUNT_UPLOADING: settings.IMAGE_QUOTA_COUNT_UPLOADING,
    }


def limits_from(row: ProjectQuota | None) -> dict[str, int]:
    limits = defaults()
    if row is not None:
        for key in limits:
            value = getattr(row, key)
            if value is not None:
                limits[key] = value
    return limits


def usage_of(project_id: str) -> dict[str, int]:
    """One query: images owned, bytes stored or reserved, uploads in progress."""
    stored = Coalesce("size", 0) + Coalesce("upload_reserved", 0)
    row = Image.objects.filter(owner_id=project_id).aggregate(
        count=Count("pk"),
        size=Coalesce(Sum(stored, filter=Q(status__in=HOLDING_DATA)), 0),
        uploading=Count("pk", filter=Q(status=Status.SAVING)),
    )
    return {COUNT_TOTAL: row["count"], SIZE_TOTAL: row["size"], COUNT_UPLOADING: row["uploading"]}


def lock_project(project_id: str) -> dict[str, int]:
    """Lock the project's quota row (creating it) for this transaction; the limits in force."""
    ProjectQuota.objects.get_or_create(project_id=project_id)
    row = ProjectQuota.objects.select_for_update().get(project_id=project_id)
    return limits_from(row)


def describe(key: str, value: int) -> str:
    if value == UNLIMITED:
        return "unlimited"
    return filesizeformat(value) if key == SIZE_TOTAL else str(value)


def exceeded_message(key: str, *, usage: int, limit: int, adding: int | None = None) -> str:
    """The error for a refused change, naming the quota, the usage and the limit."""
    name = NAMES[key]
    text = f"{name} quota exceeded: the project uses {describe(key, usage)} of {describe(key, limit)}"
    if adding is not None and key == SIZE_TOTAL:
        text += f", and this upload needs {describe(key, adding)} more"
    return text + ". Delete images, or ask a platform admin to raise the quota."


@dataclass(frozen=True)
class Meter:
    key: str
    name: str
    used: int
    limit: int

    @property
    def unlimited(self) -> bool:
        return self.limit == UNLIMITED

    @property
    def percent(self) -> int:
        if self.unlimited:
            return 0
        if self.limit == 0:
            return 100
        return min(100, round(100 * self.used / self.limit))

    @property
    def used_text(self) -> str:
        return describe(self.key, self.used)

    @property
    def limit_text(self) -> str:
        return describe(self.key, self.limit)

    @property
    def level(self) -> str:
        return "full" if self.percent >= 100 else "high" if self.percent >= 80 else "ok"

    @property
    def high(self) -> int:
        """From here on the usage bar warns (the <meter>'s `high`): 80 % of the limit."""
        return self.limit * 4 // 5


def _meters_query(project_id: str) -> QuerySet[Project]:
    mine = Image.objects.filter(owner_id=OuterRef("pk")).order_by().values("owner_id")
    stored = Coalesce("size", 0) + Coalesce("upload_reserved", 0)
    return (
        Project.objects.filter(pk=project_id)
        .select_related("image_quota")
        .annotate(
            used_count=Subquery(mine.annotate(n=Count("pk")).values("n")),
            used_size=Subquery(mine.filter(status__in=HOLDING_DATA).annotate(n=Sum(stored)).values("n")),
            used_uploading=Subquery(mine.filter(status=Status.SAVING).annotate(n=Count("pk")).values("n")),
        )
    )


_meters = CompiledQuery(_meters_query, project_id=str)


def meters(project: Project) -> list[Meter]:
    """Usage against each quota, for the usage bars: one query (overrides joined, usage as subqueries)."""
    found = _meters.rows(project_id=project.pk)
    if not found:
        raise Project.DoesNotExist(f"no project {project.pk}")
    return _meters_of(found[0])


def _meters_and_badges_query(project_id: str, user_id: int, variant: bool) -> QuerySet[Project]:
    from .access import _stand_in, header_count_annotations

    scope = _stand_in(project_id, user_id, variant)
    return _meters_query(project_id).annotate(**header_count_annotations(scope))


# On every visit to the Images page: built and compiled once (dashboard/compiled.py), run per call.
_meters_and_badges = CompiledQuery(_meters_and_badges_query, project_id=str, user_id=int)


def meters_and_badges(scope: Scope) -> tuple[list[Meter], dict[str, int]]:
    """meters(scope.project) and access.header_counts(scope) in one query, for the Images page,
    which shows both: the usage bars, and the header's badges."""
    found = _meters_and_badges.rows(
        variant=scope.is_admin, project_id=scope.project_id, user_id=scope.user.pk
    )
    if not found:
        raise Project.DoesNotExist(f"no project {scope.project_id}")
    row = found[0]
    return _meters_of(row), {"pending": row.pending, "unread": row.unread}


def _meters_of(row: Any) -> list[Meter]:
    # row: a project read by _meters_query, with its used_count, used_size and used_uploading.
    limits = limits_from(getattr(row, "image_quota", None))
    used = {
        COUNT_TOTAL: row.used_count or 0,
        SIZE_TOTAL: row.used_size or 0,
        COUNT_UPLOADING: row.used_uploading or 0,
    }
    return [Meter(key, NAMES[key], used[key], limits[key]) for key in NAMES]


def within(limit: int, value: int) -> bool:
    return limit == UNLIMITED or value <= limit

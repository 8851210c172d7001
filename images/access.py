"""Who may see or do what with images: the one place that answers it.

Querysets for lists (so a page is one SQL query) and predicates for single objects. Pages,
partials and the API all go through here; nothing else decides access.

The rules, from the image-sharing guide:
- private: only the owner project (and platform admins) can see it;
- shared: the owner and member projects can see it; members count only while the image is shared
  (otherwise their rows are dormant); pending and rejected members see its details but cannot use it;
- community: every project can read it, but it is listed only when a project searches community images;
- public: everyone sees it in the default list; only a platform admin can make an image public;
- os_hidden images are left out of default lists;
- an image a project may not see is "not found", never "forbidden", so its existence does not leak.
"""

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any, cast
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Now
from django.http import Http404
from django.utils import timezone

from dashboard.compiled import CompiledQuery
from dashboard.identity import Scope

from .models import EventKind, Image, ImageMember, MemberStatus, ShareEvent, Status, Visibility


class Tab:
    CATALOG = "catalog"  # owned + public + accepted shares + pending shares (flagged)
    PROJECT = "project"  # owned
    SHARED = "shared"  # shared with me, by member status
    PUBLIC = "public"
    COMMUNITY = "community"  # listed only here, on an explicit search
    ALL = (CATALOG, PROJECT, SHARED, PUBLIC, COMMUNITY)


# A share counts only until it expires (ImageMember.expires_at), whether or not the
# expire_shares command has removed it yet. Every rule below that reads shares goes through
# live_shares(), so this is the one place the condition lives.
LIVE_SHARE = Q(expires_at__isnull=True) | Q(expires_at__gt=Now())


def live_shares() -> QuerySet[ImageMember]:
    """Image members whose share has not expired."""
    return ImageMember.objects.filter(LIVE_SHARE)


def _visible_as(*visibilities: Visibility) -> Q:
    """visibility is one of these, with the values written into the SQL rather than bound: they
    are constants, and so a prepared statement's generic plan (dashboard/settings.py prepares what
    a connection runs twice) still knows them: the row estimates of each visibility, and the
    partial trigram index of community names (images/migrations/0007), whose condition names one."""
    literals = ", ".join(f"'{Visibility(v).value}'" for v in visibilities)
    return (
        Q(visibility__in=RawSQL(literals, ()))
        if len(visibilities) > 1
        else Q(visibility=RawSQL(literals, ()))
    )


def _my_shares_q(scope: Scope, statuses: Sequence[str] = ()) -> Q:
    """The project's live shares (with one of these statuses), as conditions on ImageMember."""
    mine = LIVE_SHARE & Q(member_id=scope.project_id)
    return mine & Q(status__in=statuses) if statuses else mine


def _memberships(scope: Scope, *statuses: str) -> QuerySet[ImageMember]:
    return ImageMember.objects.filter(_my_shares_q(scope, statuses), image=OuterRef("pk"))


def _on_members(q: Q) -> Q:
    """Conditions on ImageMember as conditions on an image's member rows (images.members)."""
    children: list = []
    for child in q.children:
        if isinstance(child, Q):
            children.append(_on_members(child))
        else:
            lookup, value = cast(tuple[str, Any], child)
            children.append((f"members__{lookup}", value))
    return Q.create(children, connector=q.connector, negated=q.negated)


@dataclass(frozen=True)
class _Part:
    """One disjoint part of a list: a filter on images, and for the part "shared with me" the
    statuses of the project's shares that count (the images it lists are those of its shares)."""

    where: Q
    share_statuses: tuple[str, ...] = ()

    def q(self, scope: Scope) -> Q:
        """The part as one filter (the lists as an OR of their parts)."""
        if not self.share_statuses:
            return self.where
        return self.where & Q(Exists(_memberships(scope, *self.share_statuses)))

    def queryset(self, scope: Scope, qs: QuerySet[Image]) -> QuerySet[Image]:
        """The part on its own: "shared with me" is read from the project's member rows, joined
        (one row per image: a project has one share of an image), in their order (SHARE_SORT_KEYS)."""
        if not self.share_statuses:
            return qs.filter(self.where)
        shares = _on_members(_my_shares_q(scope, self.share_statuses))
        return qs.filter(self.where).filter(shares).alias(**SHARE_SORT_KEYS)


# The sort keys the member rows carry (ImageMember.image_name, image_created_at: copies the
# database keeps equal to the image's), as aliases of the "shared with me" part: sorted by these,
# a project's shares come from an index in list order, and a page stops reading after its rows.
SHARE_SORT_KEYS = {"share_name": F("members__image_name"), "share_created_at": F("members__image_created_at")}


def share_sort_key(part: QuerySet[Image], field: str) -> F | None:
    """What a list part is to be sorted by for this image field where the part reads shares and
    their member rows carry a copy of the field (SHARE_SORT_KEYS); None: sort by the image's."""
    alias = f"share_{field}"
    return F(alias) if alias in SHARE_SORT_KEYS and alias in part.query.annotations else None


def _with_my_status(scope: Scope, qs: QuerySet[Image]) -> QuerySet[Image]:
    """Annotate my_status: the current project's share status, only while the image is shared."""
    status = Subquery(_memberships(scope).values("status")[:1])
    return qs.annotate(my_status=Case(When(visibility=Visibility.SHARED, then=status), default=None))


def _readable_q(scope: Scope) -> Q:
    return (
        Q(owner_id=scope.project_id)
        | Q(visibility__in=[Visibility.PUBLIC, Visibility.COMMUNITY])
        | Q(Exists(_memberships(scope)), visibility=Visibility.SHARED)
    )


def readable_images(scope: Scope) -> QuerySet[Image]:
    """Every image the project may open (its detail page), pending and rejected shares included."""
    qs = Image.objects.select_related("owner")
    if not scope.is_admin:
        qs = qs.filter(_readable_q(scope))
    return _with_my_status(scope, qs)


def _listed_parts(scope: Scope, tab: str, member_status: str | None) -> list[_Part]:
    """Each part of a tab's list: disjoint, and together exactly the list."""
    own = Q(owner_id=scope.project_id)
    public = _visible_as(Visibility.PUBLIC)
    shared = _visible_as(Visibility.SHARED)
    if tab == Tab.PROJECT:
        return [_Part(own)]
    if tab == Tab.PUBLIC:
        return [_Part(public)]
    if tab == Tab.COMMUNITY:
        return [_Part(_visible_as(Visibility.COMMUNITY))]
    if tab == Tab.SHARED:
        statuses = (member_status,) if member_status in MemberStatus.values else tuple(MemberStatus.values)
        return [_Part(shared & ~own, statuses)]
    visible = (MemberStatus.ACCEPTED, MemberStatus.PENDING)
    return [_Part(own), _Part(public & ~own), _Part(shared & ~own, visible)]


def listed_image_parts(
    scope: Scope,
    *,
    tab: str = Tab.CATALOG,
    member_status: str | None = None,
    show_hidden: bool = False,
) -> list[QuerySet[Image]]:
    """listed_images as disjoint parts (own, public, shared with me), for listing.paginate: the
    catalog's OR cannot walk any one index in order, while each part can (a first page of a
    200,000-image world reads a few dozen index entries instead of sorting thousands of rows)."""
    # Only the columns a row of the page shows (presenters.image_rows): not the properties and tags
    # (JSON decoded for every row) or the owner's description.
    qs = Image.objects.select_related("owner").only(*PAGE_ROW_FIELDS)
    if not show_hidden:
        qs = qs.filter(os_hidden=False)
    return [
        _with_my_status(scope, part.queryset(scope, qs)) for part in _listed_parts(scope, tab, member_status)
    ]


# What presenters.image_rows reads of an image (and its owner) besides the id.
PAGE_ROW_FIELDS = (
    "name",
    "owner__name",
    "visibility",
    "status",
    "os_hidden",
    "protected",
    "disk_format",
    "size",
    "created_at",
)


def listed_images(
    scope: Scope,
    *,
    tab: str = Tab.CATALOG,
    member_status: str | None = None,
    show_hidden: bool = False,
) -> QuerySet[Image]:
    """The images one tab of the Images page lists for the project."""
    where = reduce(operator.or_, [part.q(scope) for part in _listed_parts(scope, tab, member_status)])
    qs = Image.objects.select_related("owner").filter(where)
    if not show_hidden:
        qs = qs.filter(os_hidden=False)
    return _with_my_status(scope, qs)


READER_REFUSAL = "Your role on this project is reader: you can look, but not create images."


def can_create(scope: Scope) -> bool:
    """Members create images in their project; readers only look."""
    return scope.can_write


def require_create(scope: Scope) -> None:
    if not can_create(scope):
        raise PermissionDenied(READER_REFUSAL)


def can_publish(scope: Scope) -> bool:
    """Offer "public" in forms: only platform admins make images public."""
    return scope.is_admin


def can_deactivate(scope: Scope, image: Image) -> bool:
    """Deactivate and reactivate an image: the owner project's members and platform admins, as in
    Glance; readers never. Needs only the scope and image.owner_id (no query: the detail page asks)."""
    return scope.is_admin or (scope.can_write and is_owner(scope, image))


def deactivate_refusal(scope: Scope, image: Image, verb: str) -> str:
    if is_owner(scope, image):
        return f"Your role on this project is reader: you can look, but not {verb} images."
    return f"Only the owner project ({image.owner.name}) or a platform admin can {verb} this image."


def can_manage_quotas(scope: Scope) -> bool:
    """Per-project quota overrides are set by platform admins only."""
    return scope.is_admin


def require_quota_admin(scope: Scope) -> None:
    if not can_manage_quotas(scope):
        raise PermissionDenied("Only platform admins manage quotas.")


def all_images(scope: Scope) -> QuerySet[Image]:
    """Every project's images: the Admin → Images page, for platform admins only."""
    if not scope.is_admin:
        raise PermissionDenied("Only platform admins can see every project's images.")
    return Image.objects.select_related("owner")


def _stand_in(project_id: str, user_id: int | None, is_admin: bool) -> Scope:
    """A Scope with placeholders, for building a CompiledQuery (only these fields reach the SQL)."""
    from django.contrib.auth import get_user_model

    from dashboard.models import Project

    return Scope(
        user=get_user_model()(pk=user_id),
        project=Project(pk=project_id),
        roles=frozenset(),
        is_admin=is_admin,
    )


# readable_images(scope).filter(pk=…): built once, since every page and API call on one image reads it.
_readable_by_pk: CompiledQuery[Image] = CompiledQuery(
    lambda project_id, image_id, variant: readable_images(_stand_in(project_id, None, variant)).filter(
        pk=image_id
    )[:1],
    project_id=str,
    image_id=UUID,
)


def get_image_for(scope: Scope, image_id: UUID | str, *, write: bool = False) -> Image:
    """The image if the project may see it (else 404); with write=True, 403 if it may not change it."""
    try:
        pk = image_id if isinstance(image_id, UUID) else UUID(str(image_id))
    except ValueError:
        raise Http404("No such image.") from None
    found = _readable_by_pk.rows(variant=scope.is_admin, project_id=scope.project_id, image_id=pk)
    if not found:
        raise Http404("No such image.")
    image = found[0]
    if write and not can_edit(scope, image):
        raise PermissionDenied(edit_refusal(scope, image))
    return image


def is_owner(scope: Scope, image: Image) -> bool:
    return image.owner_id == scope.project_id


def can_edit(scope: Scope, image: Image) -> bool:
    """Change the image, its visibility (within can_set_visibility) and its members."""
    return scope.is_admin or (scope.can_write and is_owner(scope, image))


def edit_refusal(scope: Scope, image: Image) -> str:
    if is_owner(scope, image):
        return "Your role on this project is reader: you can look, but not change images."
    return f"Only the owner project ({image.owner.name}) can change this image."


def can_set_visibility(scope: Scope, image: Image, visibility: str) -> bool:
    """Owners choose private, shared or community; only platform admins make an image public."""
    if not can_edit(scope, image):
        return False
    return visibility != Visibility.PUBLIC or scope.is_admin or image.visibility == Visibility.PUBLIC


def can_see_members(scope: Scope, image: Image) -> bool:
    """The full member list is the owner's (and admins') business; a target sees only its own share."""
    return scope.is_admin or is_owner(scope, image)


def _require_members_view(scope: Scope, image: Image) -> None:
    if not can_see_members(scope, image):
        raise PermissionDenied("Only the owner project can see who an image is shared with.")


def _members_of_query(image_id: UUID) -> QuerySet[ImageMember]:
    live = ExpressionWrapper(LIVE_SHARE, output_field=BooleanField())
    return (
        ImageMember.objects.filter(image_id=image_id)
        .select_related("member")
        .annotate(live=live)
        .order_by("member__name")
    )


def members_of(scope: Scope, image: Image) -> QuerySet[ImageMember]:
    """The image's members, each with `live` (its share has not expired), by project name."""
    _require_members_view(scope, image)
    return _members_of_query(image.pk)


# What the Members tab shows of members_of, as plain values (no model instances), built and
# compiled once: the tab reads it on every view.
MEMBER_LIST_FIELDS = ("member_id", "member__name", "status", "expires_at", "updated_at", "live")
_member_list: CompiledQuery = CompiledQuery(
    lambda image_id: _members_of_query(image_id).values(*MEMBER_LIST_FIELDS), image_id=UUID
)


def member_list(scope: Scope, image: Image) -> list[dict]:
    """members_of(scope, image) as dicts of MEMBER_LIST_FIELDS, by a query compiled once."""
    _require_members_view(scope, image)
    return _member_list.rows(image_id=image.pk)


def membership(scope: Scope, image: Image) -> ImageMember | None:
    """The current project's share of the image, if it is shared with it and the share counts.

    Read once per image object and project: a page asks it of several predicates (the share box,
    can_download…) and must not pay a query each time. Changing a share forgets it."""
    if image.visibility != Visibility.SHARED or is_owner(scope, image):
        return None
    cache: dict[str, ImageMember | None] = image.__dict__.setdefault("_memberships", {})
    if scope.project_id not in cache:
        found = _membership.rows(image_id=image.pk, project_id=scope.project_id)
        cache[scope.project_id] = found[0] if found else None
    return cache[scope.project_id]


# The current project's live share of one image (membership), built and compiled once.
_membership: CompiledQuery[ImageMember] = CompiledQuery(
    lambda image_id, project_id: (
        live_shares()
        .filter(image_id=image_id, member_id=project_id)
        .select_related("member")
        .order_by("pk")[:1]
    ),
    image_id=UUID,
    project_id=str,
)


def forget_membership(image: Image) -> None:
    """Drop what membership() read of the image's shares (after one of them changed)."""
    image.__dict__.pop("_memberships", None)


def can_answer_shares(scope: Scope) -> bool:
    """Whether the project's shares may be answered in this scope: members (and admins), not readers."""
    return scope.can_write


def can_respond(scope: Scope, share: ImageMember) -> bool:
    """Accept, reject or set back to pending: the target project's members, or a platform admin."""
    if scope.is_admin:
        return True
    return can_answer_shares(scope) and share.member_id == scope.project_id


def share_counts(image: Image, share: ImageMember) -> bool:
    """A share grants anything only while the image is shared and the share has not expired."""
    live = share.expires_at is None or share.expires_at > timezone.now()
    return image.visibility == Visibility.SHARED and live


def can_use(scope: Scope, image: Image) -> bool:
    """Download or launch: owner, admin, public or community, or an accepted share."""
    if scope.is_admin or is_owner(scope, image):
        return True
    if image.visibility in (Visibility.PUBLIC, Visibility.COMMUNITY):
        return True
    if image.visibility == Visibility.SHARED:
        share = membership(scope, image)
        return share is not None and share.status == MemberStatus.ACCEPTED
    return False


def can_download_data(scope: Scope) -> bool:
    """Downloading image data takes the member role (or platform admin), as in Glance 2023.2 and
    later; a reader sees images but cannot download them."""
    return scope.is_admin or scope.can_write


def can_download(scope: Scope, image: Image) -> bool:
    """Download the data: a member (not a reader) of a project that may use the image; a
    deactivated one, only a platform admin."""
    if not can_download_data(scope):
        return False
    if image.status == Status.DEACTIVATED and not scope.is_admin:
        return False
    return can_use(scope, image)


def download_refusal(scope: Scope, image: Image) -> str:
    if not can_download_data(scope):
        return "Your role on this project is reader: you can look at images, but not download them."
    if image.status == Status.DEACTIVATED and not scope.is_admin:
        return f"{image.display_name} is deactivated: only a platform admin can download it."
    share = membership(scope, image)
    if share is not None and share.status == MemberStatus.PENDING:
        return "This image is shared with your project, pending your answer: accept the share first to download it."
    if share is not None and share.status == MemberStatus.REJECTED:
        return "Your project rejected this share: accept the share first to download it."
    return "Your project cannot use this image."


# The header's badges count up to BADGE_CAP + 1 and then read "99+": on every page, counting all of
# a project's pending shares or notices would read each of them, however many there are.
BADGE_CAP = 99


class CountUpTo(Subquery):
    """COUNT(*) of a queryset's first `limit` rows as a scalar subquery: it reads at most `limit`."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS counted)"

    def __init__(self, queryset: QuerySet, limit: int):
        super().__init__(queryset.order_by().values("pk")[:limit], output_field=IntegerField())


def _pending_shares(scope: Scope) -> QuerySet:
    return live_shares().filter(
        member_id=scope.project_id, status=MemberStatus.PENDING, image__visibility=Visibility.SHARED
    )


def pending_share_count(scope: Scope) -> int:
    """Shares waiting for the current project to accept or reject (the header badge), counted up
    to BADGE_CAP + 1."""
    return _pending_shares(scope)[: BADGE_CAP + 1].count()


# The Image API (Glance v2) lists, over the same rules.

API_VISIBILITIES = ("public", "private", "shared", "community", "all")
API_MEMBER_STATUSES = (*MemberStatus.values, "all")


def _api_listed_parts(scope: Scope, visibility: str | None, member_status: str | None) -> list[_Part]:
    """Each part of the API's list: disjoint, and together exactly the list."""
    if member_status == "all":
        statuses = tuple(MemberStatus.values)
    elif member_status in MemberStatus.values:
        statuses = (member_status,)
    else:
        statuses = (MemberStatus.ACCEPTED, MemberStatus.PENDING)
    own = Q(owner_id=scope.project_id)
    shared_with_me = _Part(_visible_as(Visibility.SHARED) & ~own, statuses)
    if visibility == "public":
        return [_Part(_visible_as(Visibility.PUBLIC))]
    if visibility == "community":
        return [_Part(_visible_as(Visibility.COMMUNITY))]
    if visibility == "private":
        return [
            _Part(
                _visible_as(Visibility.PRIVATE) if scope.is_admin else own & _visible_as(Visibility.PRIVATE)
            )
        ]
    if visibility == "shared":
        return [_Part(own & _visible_as(Visibility.SHARED)), shared_with_me]
    if visibility == "all":
        if scope.is_admin:
            return [_Part(Q())]
        everyones = _visible_as(Visibility.PUBLIC, Visibility.COMMUNITY) & ~own
        return [_Part(own), _Part(everyones), shared_with_me]
    return [_Part(own), _Part(_visible_as(Visibility.PUBLIC) & ~own), shared_with_me]


def api_listed_image_parts(
    scope: Scope,
    *,
    visibility: str | None = None,
    member_status: str | None = None,
    hidden: bool = False,
) -> list[QuerySet[Image]]:
    """api_listed_images as disjoint parts (own, public…, shared with me): see listed_image_parts.
    Only the image rows: an API document names its owner by id and has no share status."""
    qs = Image.objects.filter(os_hidden=hidden)
    return [part.queryset(scope, qs) for part in _api_listed_parts(scope, visibility, member_status)]


def api_listed_images(
    scope: Scope,
    *,
    visibility: str | None = None,
    member_status: str | None = None,
    hidden: bool = False,
) -> QuerySet[Image]:
    """The Image API's list: Glance's `visibility` and `member_status` filters over these rules.

    Without member_status, shares count as in the dashboard's catalog (accepted and pending; the
    guide lists pending shares until they are answered); rejected ones need member_status. Only
    `visibility=all` lists community images next to the rest; a platform admin's `all` is every
    image. os_hidden images are listed only when asked for (hidden=True lists only them).
    """
    where = reduce(
        operator.or_, [part.q(scope) for part in _api_listed_parts(scope, visibility, member_status)]
    )
    qs = Image.objects.select_related("owner").filter(where).filter(os_hidden=hidden)
    return _with_my_status(scope, qs)


def visible_members(scope: Scope, image: Image) -> QuerySet[ImageMember]:
    """The members the project may see: all of them for the owner (and admins), its own share for
    a target. Only shared images have members (Glance's rule; dormant rows stay out of sight)."""
    if image.visibility != Visibility.SHARED:
        raise PermissionDenied("Only shared images have members.")
    rows = image.members.select_related("member").order_by("member__name")
    if can_see_members(scope, image):
        return rows
    return rows.filter(member_id=scope.project_id)


# The API's member documents name the member by ID: the member projects are joined for the order
# only, not loaded.
_all_members: CompiledQuery[ImageMember] = CompiledQuery(
    lambda image_id: ImageMember.objects.filter(image_id=image_id).order_by("member__name"),
    image_id=UUID,
)
_own_membership: CompiledQuery[ImageMember] = CompiledQuery(
    lambda image_id, project_id: ImageMember.objects.filter(image_id=image_id, member_id=project_id).order_by(
        "member__name"
    ),
    image_id=UUID,
    project_id=str,
)


def visible_member_list(scope: Scope, image: Image) -> list[ImageMember]:
    """visible_members(scope, image) as a list, by a query built and compiled once (the API's list;
    share.member is not loaded)."""
    if image.visibility != Visibility.SHARED:
        raise PermissionDenied("Only shared images have members.")
    if can_see_members(scope, image):
        return _all_members.rows(image_id=image.pk)
    return _own_membership.rows(image_id=image.pk, project_id=scope.project_id)


# The sharing activity trail (images.models.ShareEvent): who sees which events. Events are
# written by images.services only and never changed, so there is no "can edit" rule.
#
# - the owner project sees every event about its images;
# - the target project sees the events about itself (target = it) while it may still open the
#   image, and for good the ones that ended its access (removed, deleted): it saw the image
#   then, and the trail must tell it where the image went; it never sees events about other
#   projects' shares, nor visibility changes (the owner's business, which name other members);
# - a platform admin sees all, on the admin page; on the project pages, like any project.

# Events that end a target's access: they stay visible to it after it can no longer see the image.
FAREWELL_KINDS = (EventKind.REMOVED, EventKind.DELETED, EventKind.EXPIRED)


def _project_events_q(scope: Scope) -> Q:
    about_me = Q(target_id=scope.project_id) & ~Q(owner_id=scope.project_id)
    still_readable = Q(image_id__in=readable_images(scope).values("pk"))
    return Q(owner_id=scope.project_id) | (
        about_me & ~Q(kind=EventKind.VISIBILITY) & (Q(kind__in=FAREWELL_KINDS) | still_readable)
    )


def project_events(scope: Scope):
    """The events that concern the current project (its activity page), newest first."""
    return ShareEvent.objects.filter(_project_events_q(scope)).select_related("owner", "target")


def image_events(scope: Scope, image: Image):
    """One image's events, for its Activity tab: the owner's and platform admins' business."""
    if not can_see_members(scope, image):
        raise PermissionDenied("Only the owner project can see an image's activity.")
    return ShareEvent.objects.filter(image_id=image.pk).select_related("owner", "target")


def all_events(scope: Scope):
    """Every project's events: the Admin → Activity page, for platform admins only."""
    if not scope.is_admin:
        raise PermissionDenied("Only platform admins can see every project's activity.")
    return ShareEvent.objects.select_related("owner", "target")


# The notifications a project gets: what others did that concerns it. The target hears about
# new shares, removals and deletions; the owner hears about the target's answers; both hear
# about a share that expired. The notifications page and the sharing e-mails (images.notify) both
# follow these two lists.
TARGET_NOTICES = (EventKind.SHARED, EventKind.REMOVED, EventKind.DELETED, EventKind.EXPIRED)
OWNER_NOTICES = (EventKind.ACCEPTED, EventKind.REJECTED, EventKind.PENDING, EventKind.EXPIRED)


def notice_recipients(event: ShareEvent) -> list[str]:
    """The projects whose notifications list the event: its target, its owner, both or neither."""
    told = []
    if event.target_id and event.kind in TARGET_NOTICES:
        told.append(event.target_id)
    if event.kind in OWNER_NOTICES:
        told.append(event.owner_id)
    return told


def _inbox_q(scope: Scope) -> Q:
    to_target = Q(target_id=scope.project_id, kind__in=TARGET_NOTICES)
    to_owner = Q(owner_id=scope.project_id, kind__in=OWNER_NOTICES)
    return _project_events_q(scope) & (to_target | to_owner)


def inbox_events(scope: Scope):
    """The current project's notifications, newest first, each with my_share_status: the
    project's share of the image now (for Accept / Reject on a new share), if it counts."""
    share = live_shares().filter(
        image_id=OuterRef("image_id"), member_id=scope.project_id, image__visibility=Visibility.SHARED
    )
    return (
        ShareEvent.objects.filter(_inbox_q(scope))
        .select_related("owner", "target")
        .annotate(my_share_status=Subquery(share.values("status")[:1]))
    )


def header_counts(scope: Scope) -> dict[str, int]:
    """The header's two badges in one query: pending shares, unread notifications. On every page,
    so the query is built and compiled once (dashboard/compiled.py) and only run here."""
    rows = _header_counts.rows(variant=scope.is_admin, project_id=scope.project_id, user_id=scope.user.pk)
    return rows[0] if rows else {"pending": 0, "unread": 0}


def header_count_annotations(scope: Scope) -> dict[str, Subquery]:
    """The two badges as annotations of the project's row ("pending", "unread"), each counted up
    to BADGE_CAP + 1: for header_counts, and for a page that reads the project's row anyway
    (quotas.meters_and_badges)."""
    from datetime import UTC, datetime

    from django.db.models import DateTimeField, Value
    from django.db.models.functions import Coalesce

    from .models import InboxMarker

    pending = _pending_shares(scope)
    markers = InboxMarker.objects.filter(project_id=scope.project_id)
    # The explainer's project-wide scope has no user, so nothing read.
    markers = markers.filter(user_id=scope.user.pk) if scope.user.pk is not None else markers.none()
    read_until = markers.values("read_until")[:1]
    epoch = Value(datetime(1970, 1, 1, tzinfo=UTC), output_field=DateTimeField())
    unread = ShareEvent.objects.filter(_inbox_q(scope)).order_by()
    unread = unread.filter(created_at__gt=Coalesce(Subquery(read_until), epoch))
    return {"pending": CountUpTo(pending, BADGE_CAP + 1), "unread": CountUpTo(unread, BADGE_CAP + 1)}


def _header_counts_query(project_id: str, user_id: int, variant: bool) -> QuerySet:
    from dashboard.models import Project

    # Both badges ride on one SELECT of the project row.
    scope = _stand_in(project_id, user_id, variant)
    counts = header_count_annotations(scope)
    return (
        Project.objects.filter(pk=scope.project_id)
        .annotate(pending=counts["pending"], unread=counts["unread"])
        .values("pending", "unread")
        .order_by()[:1]
    )


_header_counts = CompiledQuery(_header_counts_query, project_id=str, user_id=int)


# The access explainer: the one reason a project can or cannot see and use an image, for
# troubleshooting ("why is the shared image missing?"). It reads the same facts the rules above
# read (owner, visibility, the project's share, os_hidden, status); tests/test_explainer.py checks
# it against readable_images, listed_images and can_use for every combination.


class Reason:
    ADMIN = "admin"
    OWNER = "owner"
    PUBLIC = "public"
    COMMUNITY = "community"
    ACCEPTED = "accepted"
    PENDING = "pending"
    REJECTED = "rejected"
    DORMANT = "dormant"
    EXPIRED = "expired"
    NO_SHARE = "no-share"
    DEACTIVATED = "deactivated"
    HIDDEN = "hidden"


@dataclass(frozen=True)
class Explanation:
    reason: str
    sentence: str
    can_see: bool  # opens the detail page (readable_images)
    listed: bool  # in the default catalog (listed_images)
    can_use: bool  # download or launch (can_use)
    can_download: bool  # can_download: not readers; a deactivated image only for platform admins


def _scope_for_project(project) -> Scope:
    """A member's view of a project with no particular user: what its members see and use."""
    from django.contrib.auth.models import AnonymousUser

    from dashboard.models import Role

    return Scope(user=AnonymousUser(), project=project, roles=frozenset({Role.MEMBER}))


def explain(scope_or_project, image: Image) -> Explanation:
    """Why the project (a Scope, or a Project seen as one of its members) can or cannot see and
    use the image: one reason, the one that limits it most."""
    scope = scope_or_project if isinstance(scope_or_project, Scope) else _scope_for_project(scope_or_project)
    name = scope.project.name
    owner = is_owner(scope, image)
    share = None
    if not owner:
        live = ExpressionWrapper(LIVE_SHARE, output_field=BooleanField())
        share = (
            ImageMember.objects.filter(image=image, member_id=scope.project_id).annotate(live=live).first()
        )
    shared = image.visibility == Visibility.SHARED
    expired = share is not None and not share.live
    status = share.status if share is not None and shared and not expired else None
    open_to_all = image.visibility in (Visibility.PUBLIC, Visibility.COMMUNITY)
    can_see = scope.is_admin or owner or open_to_all or status is not None
    can_use_it = scope.is_admin or owner or open_to_all or status == MemberStatus.ACCEPTED
    listed_if_shown = (
        owner
        or image.visibility == Visibility.PUBLIC
        or status
        in (
            MemberStatus.ACCEPTED,
            MemberStatus.PENDING,
        )
    )
    listed = listed_if_shown and not image.os_hidden
    deactivated = image.status == Status.DEACTIVATED
    can_download_it = can_use_it and can_download_data(scope) and (scope.is_admin or not deactivated)
    title = image.display_name

    if scope.is_admin:
        reason, sentence = (
            Reason.ADMIN,
            f"{name} is acting as a platform admin, who sees and uses every image.",
        )
    elif share is not None and expired and not open_to_all:
        reason = Reason.EXPIRED
        sentence = (
            f"{name}'s share expired on {share.expires_at:%Y-%m-%d}: it grants nothing any more, "
            "and it is removed at the next clean-up."
        )
    elif share is not None and not shared and not owner:
        left = {
            Visibility.PRIVATE: "it cannot see the image",
            Visibility.COMMUNITY: "it still finds the image under Community, like every project",
            Visibility.PUBLIC: "it still sees the image, which is public",
        }[Visibility(image.visibility)]
        reason = Reason.DORMANT
        sentence = (
            f"{name}'s share ({share.status}) is dormant because the image is "
            f"{image.get_visibility_display().lower()}: {left}; the share counts again if the image is made Shared."
        )
    elif status == MemberStatus.PENDING:
        reason = Reason.PENDING
        sentence = f"{name} has a pending share: it sees the image under Shared with me but cannot use it until it accepts."
    elif share is not None and status == MemberStatus.REJECTED:
        reason = Reason.REJECTED
        sentence = (
            f"{name} rejected the share on {share.updated_at:%Y-%m-%d}: the image is out of its catalog "
            "(findable under Shared with me → Rejected, where it can accept it again)."
        )
    elif not can_see:
        reason = Reason.NO_SHARE
        sentence = (
            f"No share exists: {title} is {image.get_visibility_display().lower()} and not shared with {name}, "
            "so it cannot see it."
        )
    elif deactivated:
        reason = Reason.DEACTIVATED
        sentence = f"The image is deactivated: {name} sees it but only a platform admin can download it."
    elif image.os_hidden and listed_if_shown:
        reason = Reason.HIDDEN
        sentence = (
            f"The image is hidden (os_hidden): {name} can use it, but it is left out of default lists; "
            "tick Show hidden to find it."
        )
    elif owner:
        reason, sentence = Reason.OWNER, f"{name} owns the image."
    elif status == MemberStatus.ACCEPTED:
        reason = Reason.ACCEPTED
        sentence = f"{name} accepted the share: the image is in its catalog and usable."
    elif image.visibility == Visibility.PUBLIC:
        reason, sentence = (
            Reason.PUBLIC,
            f"The image is public: {name}, like every project, sees and uses it.",
        )
    else:
        reason = Reason.COMMUNITY
        sentence = (
            f"The image is a community image: {name} can use it, but it is listed only when it searches "
            "the Community tab."
        )
    return Explanation(
        reason=reason,
        sentence=sentence,
        can_see=can_see,
        listed=listed,
        can_use=can_use_it,
        can_download=can_download_it,
    )


def projects_using(scope: Scope, image: Image) -> int:
    """How many projects use the image through a share: accepted, not expired, while the image is
    shared (dormant members use nothing). Told to the owner before a delete or deactivation."""
    _require_members_view(scope, image)
    if image.visibility != Visibility.SHARED:
        return 0
    return live_shares().filter(image=image, status=MemberStatus.ACCEPTED).count()

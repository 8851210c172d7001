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
from functools import reduce
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db.models import Case, Exists, OuterRef, Q, QuerySet, Subquery, When
from django.http import Http404

from dashboard.identity import Scope

from .models import Image, ImageMember, MemberStatus, Status, Visibility


class Tab:
    CATALOG = "catalog"  # owned + public + accepted shares + pending shares (flagged)
    PROJECT = "project"  # owned
    SHARED = "shared"  # shared with me, by member status
    PUBLIC = "public"
    COMMUNITY = "community"  # listed only here, on an explicit search
    ALL = (CATALOG, PROJECT, SHARED, PUBLIC, COMMUNITY)


def _memberships(scope: Scope, *statuses: str) -> QuerySet[ImageMember]:
    rows = ImageMember.objects.filter(image=OuterRef("pk"), member_id=scope.project_id)
    return rows.filter(status__in=statuses) if statuses else rows


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


def _listed_parts(scope: Scope, tab: str, member_status: str | None) -> list[Q]:
    """The filter of each part of a tab's list: disjoint, and together exactly the list."""
    own = Q(owner_id=scope.project_id)
    public = Q(visibility=Visibility.PUBLIC)
    shared = Q(visibility=Visibility.SHARED)
    if tab == Tab.PROJECT:
        return [own]
    if tab == Tab.PUBLIC:
        return [public]
    if tab == Tab.COMMUNITY:
        return [Q(visibility=Visibility.COMMUNITY)]
    if tab == Tab.SHARED:
        statuses = [member_status] if member_status in MemberStatus.values else MemberStatus.values
        return [shared & Q(Exists(_memberships(scope, *statuses))) & ~own]
    visible_shares = _memberships(scope, MemberStatus.ACCEPTED, MemberStatus.PENDING)
    return [own, public & ~own, shared & Q(Exists(visible_shares)) & ~own]


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
    qs = Image.objects.select_related("owner")
    if not show_hidden:
        qs = qs.filter(os_hidden=False)
    return [_with_my_status(scope, qs.filter(where)) for where in _listed_parts(scope, tab, member_status)]


def listed_images(
    scope: Scope,
    *,
    tab: str = Tab.CATALOG,
    member_status: str | None = None,
    show_hidden: bool = False,
) -> QuerySet[Image]:
    """The images one tab of the Images page lists for the project."""
    where = reduce(operator.or_, _listed_parts(scope, tab, member_status))
    qs = Image.objects.select_related("owner").filter(where)
    if not show_hidden:
        qs = qs.filter(os_hidden=False)
    return _with_my_status(scope, qs)


def all_images(scope: Scope) -> QuerySet[Image]:
    """Every project's images: the Admin → Images page, for platform admins only."""
    if not scope.is_admin:
        raise PermissionDenied("Only platform admins can see every project's images.")
    return Image.objects.select_related("owner")


def get_image_for(scope: Scope, image_id: UUID | str, *, write: bool = False) -> Image:
    """The image if the project may see it (else 404); with write=True, 403 if it may not change it."""
    try:
        image = readable_images(scope).get(pk=image_id)
    except (Image.DoesNotExist, ValueError):
        raise Http404("No such image.") from None
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


def members_of(scope: Scope, image: Image) -> QuerySet[ImageMember]:
    if not can_see_members(scope, image):
        raise PermissionDenied("Only the owner project can see who an image is shared with.")
    return image.members.select_related("member").order_by("member__name")


def membership(scope: Scope, image: Image) -> ImageMember | None:
    """The current project's share of the image, if it is shared with it and the share counts."""
    if image.visibility != Visibility.SHARED or is_owner(scope, image):
        return None
    return (
        ImageMember.objects.filter(image=image, member_id=scope.project_id)
        .select_related("member")
        .first()
    )


def can_respond(scope: Scope, share: ImageMember) -> bool:
    """Accept, reject or set back to pending: the target project's members, or a platform admin."""
    if scope.is_admin:
        return True
    return scope.can_write and share.member_id == scope.project_id


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


def can_download(scope: Scope, image: Image) -> bool:
    """Download the data: whoever may use the image; a deactivated one, only a platform admin."""
    if image.status == Status.DEACTIVATED and not scope.is_admin:
        return False
    return can_use(scope, image)


def download_refusal(scope: Scope, image: Image) -> str:
    if image.status == Status.DEACTIVATED and not scope.is_admin:
        return f"{image.display_name} is deactivated: only a platform admin can download it."
    share = membership(scope, image)
    if share is not None and share.status == MemberStatus.PENDING:
        return "This image is shared with your project, pending your answer: accept the share first to download it."
    if share is not None and share.status == MemberStatus.REJECTED:
        return "Your project rejected this share: accept the share first to download it."
    return "Your project cannot use this image."


def pending_share_count(scope: Scope) -> int:
    """Shares waiting for the current project to accept or reject (the header badge)."""
    return ImageMember.objects.filter(
        member_id=scope.project_id,
        status=MemberStatus.PENDING,
        image__visibility=Visibility.SHARED,
    ).count()


# The Image API (Glance v2) lists, over the same rules.

API_VISIBILITIES = ("public", "private", "shared", "community", "all")
API_MEMBER_STATUSES = (*MemberStatus.values, "all")


def _api_listed_parts(scope: Scope, visibility: str | None, member_status: str | None) -> list[Q]:
    """The filter of each part of the API's list: disjoint, and together exactly the list."""
    if member_status == "all":
        statuses = MemberStatus.values
    elif member_status in MemberStatus.values:
        statuses = [member_status]
    else:
        statuses = [MemberStatus.ACCEPTED, MemberStatus.PENDING]
    own = Q(owner_id=scope.project_id)
    shared_with_me = Q(visibility=Visibility.SHARED) & Q(Exists(_memberships(scope, *statuses))) & ~own
    if visibility == "public":
        return [Q(visibility=Visibility.PUBLIC)]
    if visibility == "community":
        return [Q(visibility=Visibility.COMMUNITY)]
    if visibility == "private":
        return [Q(visibility=Visibility.PRIVATE) if scope.is_admin else own & Q(visibility=Visibility.PRIVATE)]
    if visibility == "shared":
        return [own & Q(visibility=Visibility.SHARED), shared_with_me]
    if visibility == "all":
        if scope.is_admin:
            return [Q()]
        return [own, Q(visibility__in=[Visibility.PUBLIC, Visibility.COMMUNITY]) & ~own, shared_with_me]
    return [own, Q(visibility=Visibility.PUBLIC) & ~own, shared_with_me]


def api_listed_image_parts(
    scope: Scope,
    *,
    visibility: str | None = None,
    member_status: str | None = None,
    hidden: bool = False,
) -> list[QuerySet[Image]]:
    """api_listed_images as disjoint parts (own, public…, shared with me): see listed_image_parts."""
    qs = Image.objects.select_related("owner").filter(os_hidden=hidden)
    return [_with_my_status(scope, qs.filter(where)) for where in _api_listed_parts(scope, visibility, member_status)]


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
    where = reduce(operator.or_, _api_listed_parts(scope, visibility, member_status))
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

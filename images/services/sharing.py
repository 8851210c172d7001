"""Sharing: members added, answered, removed, expired; bulk shares and answers."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from dashboard.identity import Scope
from dashboard.models import Project, project_id_validator

from .. import access, activity, quotas
from ..models import (
    Image,
    ImageMember,
    MemberStatus,
    Visibility,
)
from .base import _locked, _require_edit
from .errors import (
    Conflict,
    InvalidInput,
    LimitExceeded,
    NotFound,
    NotPermitted,
    ServiceError,
)


def _project_for_share(image: Image, project_id: str) -> Project:
    project_id = (project_id or "").strip().lower()
    if not project_id:
        raise InvalidInput("Enter the target project's ID.")
    try:
        project_id_validator(project_id)
    except Exception:
        raise InvalidInput(
            "That is not a project ID: it has 32 hexadecimal characters. "
            "The target project's owner finds it with: openstack project show <name> -c id"
        ) from None
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        raise InvalidInput(f"No project has the ID {project_id}.")
    if not project.enabled:
        raise InvalidInput(f"Project {project.name} is disabled and cannot receive shares.")
    if project.pk == image.owner_id:
        raise InvalidInput(f"{project.name} owns this image; share it with another project.")
    return project


def project_preview(*, image: Image, project_id: str) -> Project:
    """The project a share with project_id would go to, or InvalidInput saying why it can't."""
    return _project_for_share(image, project_id)


@transaction.atomic
def image_share(
    *,
    scope: Scope,
    image: Image,
    project_id: str,
    make_shared: bool = False,
    expires_at: datetime | None = None,
) -> ImageMember:
    """Share the image with a project, pending its acceptance (until expires_at, if given).

    Only shared images have members; with make_shared a private image becomes shared in the same
    transaction (the dashboard's Add Member on a private image).
    """
    _require_edit(scope, image)
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("The expiry must be in the future.", field="expires_at")
    current = _locked(image)
    project = _project_for_share(current, project_id)
    if current.visibility != Visibility.SHARED:
        if not (make_shared and current.visibility == Visibility.PRIVATE):
            raise NotPermitted(
                f"Only shared images have members; this image is {current.visibility}. "
                "Set its visibility to Shared first."
            )
    existing = ImageMember.objects.filter(image=current, member=project).first()
    if existing is not None and existing.expires_at is not None and existing.expires_at <= timezone.now():
        raise Conflict(
            f"{project.name}'s share of this image expired on {existing.expires_at:%Y-%m-%d}; "
            "remove it before sharing again."
        )
    if existing is not None:
        raise Conflict(f"{project.name} is already a member of this image (status: {existing.status}).")
    room = quotas.member_room(ImageMember.objects.filter(image=current).count())
    if room.full:
        raise LimitExceeded(
            f"This image already has {room.limit} members, the most an image can have. "
            "Remove a member before adding another."
        )
    before = current.visibility
    if current.visibility != Visibility.SHARED:
        current.visibility = Visibility.SHARED
        current.save(update_fields=["visibility", "updated_at"])
    try:
        with transaction.atomic():
            share = ImageMember.objects.create(image=current, member=project, expires_at=expires_at)
    except IntegrityError:
        # Only reachable when another request added the same member between our check and insert.
        raise Conflict(f"{project.name} is already a member of this image.") from None
    activity.record_visibility(scope=scope, image=current, before=before, exclude=project.pk)
    activity.record(
        scope=scope,
        kind="shared",
        image=current,
        target_id=project.pk,
        to_status=share.status,
        detail={"expires_at": expires_at.isoformat()} if expires_at else None,
    )
    return share


def _share_of(image: Image, project_id: str) -> ImageMember:
    share = (
        ImageMember.objects.select_for_update(of=("self",))
        .select_related("member")
        .filter(image=image, member_id=project_id)
        .first()
    )
    if share is None:
        raise NotFound("That project is not a member of this image.")
    return share


@transaction.atomic
def member_set_status(*, scope: Scope, image: Image, project_id: str, status: str) -> ImageMember:
    """Accept, reject or return a share to pending: only the target project (or a platform admin)."""
    if status not in MemberStatus.values:
        raise InvalidInput(f"Unknown member status {status!r}: use accepted, rejected or pending.")
    share = _share_of(image, project_id)
    if not access.can_respond(scope, share):
        if access.is_owner(scope, image):
            raise NotPermitted("The owner cannot accept or reject a share: the target project decides.")
        raise NotPermitted("Your role on this project is reader: only members can accept or reject shares.")
    if not scope.is_admin and not access.share_counts(image, share):
        # A dormant or expired share is, to its target, no share at all.
        raise NotFound("This image is not shared with your project.")
    if share.status != status:
        before = share.status
        share.status = status
        share.save(update_fields=["status", "updated_at"])
        access.forget_membership(image)
        activity.record(
            scope=scope,
            kind=activity.STATUS_KINDS[status],
            image=image,
            target_id=share.member_id,
            from_status=before,
            to_status=status,
        )
    return share


@transaction.atomic
def shares_expire() -> int:
    """Remove the shares whose expiry has passed, each with its event (both sides are told in
    their notifications); the number removed. Run by the expire_shares command."""
    expired = (
        ImageMember.objects.select_for_update(of=("self",))
        .select_related("image")
        .filter(expires_at__lte=timezone.now())
        .order_by("pk")
    )
    count = 0
    for share in expired:
        activity.record(
            scope=None,
            kind="expired",
            image=share.image,
            target_id=share.member_id,
            from_status=share.status,
            detail={"expires_at": share.expires_at.isoformat() if share.expires_at else None},
        )
        share.delete()
        count += 1
    return count


# Several at once: share one image with many projects, answer many shares.


@dataclass(frozen=True)
class ShareLine:
    """One pasted line of a bulk share: the project it names, or why it cannot be shared with."""

    text: str
    project: Project | None = None
    error: str = ""


def share_lines_preview(*, scope: Scope, image: Image, text: str) -> list[ShareLine]:
    """Each non-empty line of `text` checked as Add Member would: the project's name, or the
    reason (bad ID, the owner, a member already, listed twice, beyond the member limit)."""
    _require_edit(scope, image)
    existing = dict(ImageMember.objects.filter(image=image).values_list("member_id", "status"))
    member_room = quotas.member_room(len(existing))
    room = member_room.left
    lines: list[ShareLine] = []
    seen: set[str] = set()
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        try:
            project = _project_for_share(image, line)
        except ServiceError as e:
            lines.append(ShareLine(line, error=str(e)))
            continue
        if project.pk in existing:
            lines.append(
                ShareLine(line, error=f"{project.name} is already a member (status: {existing[project.pk]}).")
            )
        elif project.pk in seen:
            lines.append(ShareLine(line, error=f"{project.name} is listed twice."))
        elif room is not None and room <= 0:
            lines.append(ShareLine(line, error=f"Beyond the limit of {member_room.limit} members per image."))
        else:
            seen.add(project.pk)
            room = None if room is None else room - 1
            lines.append(ShareLine(line, project=project))
    return lines


@transaction.atomic
def image_share_many(
    *, scope: Scope, image: Image, text: str, expires_at: datetime | None = None
) -> list[ShareLine]:
    """Share the image with every project the lines name that passes the preview's checks (a
    private image becomes shared); the lines with what became of each."""
    current = _locked(image)
    results = []
    for line in share_lines_preview(scope=scope, image=current, text=text):
        if line.project is not None:
            try:
                image_share(
                    scope=scope,
                    image=current,
                    project_id=line.project.pk,
                    make_shared=True,
                    expires_at=expires_at,
                )
            except ServiceError as e:
                line = ShareLine(line.text, error=str(e))
            current = _locked(current)
        results.append(line)
    return results


@transaction.atomic
def shares_respond(*, scope: Scope, images: Iterable[Image], status: str) -> int:
    """Accept, reject or set back to pending several of the project's shares at once: all or
    nothing; the number changed."""
    changed = 0
    for image in images:
        before = access.membership(scope, image)
        if before is None:
            raise NotFound(f"{image.display_name} is not shared with your project.")
        changed += (
            member_set_status(scope=scope, image=image, project_id=scope.project_id, status=status).status
            != before.status
        )
    return changed


def member_accept(*, scope: Scope, image: Image) -> ImageMember:
    return member_set_status(
        scope=scope, image=image, project_id=scope.project_id, status=MemberStatus.ACCEPTED
    )


def member_reject(*, scope: Scope, image: Image) -> ImageMember:
    return member_set_status(
        scope=scope, image=image, project_id=scope.project_id, status=MemberStatus.REJECTED
    )


@transaction.atomic
def member_remove(*, scope: Scope, image: Image, project_id: str) -> Project:
    """Remove a project from the image's members: it can no longer list or open the image."""
    _require_edit(scope, image)
    current = _locked(image)
    share = _share_of(current, project_id)
    share.delete()
    activity.record(
        scope=scope,
        kind="removed",
        image=current,
        target_id=share.member_id,
        from_status=share.status,
        detail={"dormant": current.visibility != Visibility.SHARED},
    )
    return share.member

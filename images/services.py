"""Domain operations on images and their members.

Each one is keyword-only, atomic, enforces the rules through images.access and raises a
ServiceError subclass whose message is written for the person who asked. Views turn these into
form errors, the API into JSON errors with `status_code`.
"""

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from dashboard.identity import Scope
from dashboard.models import Project, project_id_validator

from . import access
from .models import Image, ImageMember, MemberStatus, Visibility


class ServiceError(Exception):
    status_code = 400


class InvalidInput(ServiceError):
    status_code = 400


class NotPermitted(ServiceError):
    status_code = 403


class NotFound(ServiceError):
    status_code = 404


class Conflict(ServiceError):
    status_code = 409


class LimitExceeded(ServiceError):
    status_code = 413


EDITABLE_FIELDS = {"name", "visibility", "protected", "min_disk", "min_ram", "os_hidden"}


def _locked(image: Image) -> Image:
    """Re-read the image under a row lock so concurrent changes to it and its members serialize."""
    return Image.objects.select_for_update().select_related("owner").get(pk=image.pk)


def _require_edit(scope: Scope, image: Image) -> None:
    if not access.can_edit(scope, image):
        raise NotPermitted(access.edit_refusal(scope, image))


def _require_visibility(scope: Scope, image: Image, visibility: str) -> None:
    if visibility not in Visibility.values:
        raise InvalidInput(f"Unknown visibility {visibility!r}.")
    if not access.can_set_visibility(scope, image, visibility):
        raise NotPermitted("Only a platform admin can make an image public.")


@transaction.atomic
def image_create(
    *,
    scope: Scope,
    name: str,
    disk_format: str = "",
    container_format: str = "",
    visibility: str = Visibility.PRIVATE,
    min_disk: int = 0,
    min_ram: int = 0,
    protected: bool = False,
    os_hidden: bool = False,
    tags: list[str] | None = None,
    properties: dict[str, str] | None = None,
) -> Image:
    """A new image, without data yet (queued), owned by the scope's project; private by default."""
    if not scope.can_write:
        raise NotPermitted("Your role on this project is reader: you can look, but not create images.")
    image = Image(
        name=name,
        owner=scope.project,
        disk_format=disk_format,
        container_format=container_format,
        min_disk=min_disk,
        min_ram=min_ram,
        protected=protected,
        os_hidden=os_hidden,
        tags=list(tags or []),
        properties=dict(properties or {}),
    )
    _require_visibility(scope, image, visibility)
    image.visibility = visibility
    image.save()
    return image


@transaction.atomic
def image_update(*, scope: Scope, image: Image, changes: dict[str, Any]) -> Image:
    """Change editable fields; public only by a platform admin; members go dormant off `shared`."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise NotPermitted(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    _require_edit(scope, image)
    current = _locked(image)
    if "visibility" in changes and changes["visibility"] != current.visibility:
        _require_visibility(scope, current, changes["visibility"])
    for field, value in changes.items():
        setattr(current, field, value)
    current.save(update_fields=[*changes, "updated_at"])
    return current


@transaction.atomic
def image_delete(*, scope: Scope, image: Image) -> None:
    """Delete the image and its members; refused while it is protected."""
    _require_edit(scope, image)
    current = _locked(image)
    if current.protected:
        raise NotPermitted(
            f"{current.display_name} is protected and cannot be deleted. Unset Protected first."
        )
    current.delete()


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
    *, scope: Scope, image: Image, project_id: str, make_shared: bool = False
) -> ImageMember:
    """Share the image with a project, pending its acceptance.

    Only shared images have members; with make_shared a private image becomes shared in the same
    transaction (the dashboard's Add Member on a private image).
    """
    _require_edit(scope, image)
    current = _locked(image)
    project = _project_for_share(current, project_id)
    if current.visibility != Visibility.SHARED:
        if not (make_shared and current.visibility == Visibility.PRIVATE):
            raise NotPermitted(
                f"Only shared images have members; this image is {current.visibility}. "
                "Set its visibility to Shared first."
            )
    existing = ImageMember.objects.filter(image=current, member=project).first()
    if existing is not None:
        raise Conflict(
            f"{project.name} is already a member of this image (status: {existing.status})."
        )
    limit = settings.IMAGE_MEMBER_QUOTA
    if limit >= 0 and ImageMember.objects.filter(image=current).count() >= limit:
        raise LimitExceeded(
            f"This image already has {limit} members, the most an image can have. "
            "Remove a member before adding another."
        )
    if current.visibility != Visibility.SHARED:
        current.visibility = Visibility.SHARED
        current.save(update_fields=["visibility", "updated_at"])
    try:
        with transaction.atomic():
            return ImageMember.objects.create(image=current, member=project)
    except IntegrityError:
        # Only reachable when another request added the same member between our check and insert.
        raise Conflict(f"{project.name} is already a member of this image.") from None


def _share_of(image: Image, project_id: str) -> ImageMember:
    share = (
        ImageMember.objects.select_for_update()
        .select_related("member")
        .filter(image=image, member_id=project_id)
        .first()
    )
    if share is None:
        raise NotFound("That project is not a member of this image.")
    return share


@transaction.atomic
def member_set_status(
    *, scope: Scope, image: Image, project_id: str, status: str
) -> ImageMember:
    """Accept, reject or return a share to pending: only the target project (or a platform admin)."""
    if status not in MemberStatus.values:
        raise InvalidInput(f"Unknown member status {status!r}: use accepted, rejected or pending.")
    share = _share_of(image, project_id)
    if not access.can_respond(scope, share):
        if access.is_owner(scope, image):
            raise NotPermitted(
                "The owner cannot accept or reject a share: the target project decides."
            )
        raise NotPermitted(
            "Your role on this project is reader: only members can accept or reject shares."
        )
    if image.visibility != Visibility.SHARED and not scope.is_admin:
        raise NotFound("No such image.")
    if share.status != status:
        share.status = status
        share.save(update_fields=["status", "updated_at"])
    return share


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
    share = _share_of(_locked(image), project_id)
    share.delete()
    return share.member

"""Domain operations on images and their members.

Each one is keyword-only, atomic, enforces the rules through images.access and raises a
ServiceError subclass whose message is written for the person who asked. Views turn these into
form errors, the API into JSON errors with `status_code`.
"""

import hashlib
import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from dashboard.identity import Scope
from dashboard.models import Project, project_id_validator

from . import access, activity, formats, quotas, stores
from . import properties as well_known
from .models import (
    ContainerFormat,
    DiskFormat,
    Image,
    ImageMember,
    MemberStatus,
    ProjectQuota,
    Status,
    Visibility,
)


class ServiceError(Exception):
    status_code = 400

    def __init__(self, message: str = "", *, field: str | None = None):
        super().__init__(message)
        self.field = field  # the input the message is about (a form shows it there), if any


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
    # of=self: lock the image row only, not its owner project's (which every image shares).
    return Image.objects.select_for_update(of=("self",)).select_related("owner").get(pk=image.pk)


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
    if not access.can_create(scope):
        raise NotPermitted(access.READER_REFUSAL)
    _require_count_quota(scope.project_id)
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
    before = current.visibility
    for field, value in changes.items():
        setattr(current, field, value)
    current.save(update_fields=[*changes, "updated_at"])
    activity.record_visibility(scope=scope, image=current, before=before)
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
    key = str(current.pk)
    activity.record_deletion(scope=scope, image=current)
    current.delete()
    transaction.on_commit(lambda: _delete_data(key))


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
        raise Conflict(
            f"{project.name} is already a member of this image (status: {existing.status})."
        )
    limit = settings.IMAGE_MEMBER_QUOTA
    if limit >= 0 and ImageMember.objects.filter(image=current).count() >= limit:
        raise LimitExceeded(
            f"This image already has {limit} members, the most an image can have. "
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
    if not scope.is_admin and not access.share_counts(image, share):
        # A dormant or expired share is, to its target, no share at all.
        raise NotFound("This image is not shared with your project.")
    if share.status != status:
        before = share.status
        share.status = status
        share.save(update_fields=["status", "updated_at"])
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
            detail={"expires_at": share.expires_at.isoformat()},
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
    room = settings.IMAGE_MEMBER_QUOTA - len(existing) if settings.IMAGE_MEMBER_QUOTA >= 0 else None
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
            lines.append(ShareLine(line, error=f"{project.name} is already a member (status: {existing[project.pk]})."))
        elif project.pk in seen:
            lines.append(ShareLine(line, error=f"{project.name} is listed twice."))
        elif room is not None and room <= 0:
            lines.append(
                ShareLine(line, error=f"Beyond the limit of {settings.IMAGE_MEMBER_QUOTA} members per image.")
            )
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
                    scope=scope, image=current, project_id=line.project.pk, make_shared=True, expires_at=expires_at
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
        changed += member_set_status(
            scope=scope, image=image, project_id=scope.project_id, status=status
        ).status != before.status
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


# Image data: upload, download, deactivation; quotas.
#
# An upload is three short transactions around the stream, never one long one: start (queued →
# saving, quota reserved under the project's quota lock), extend the reservation as bytes exceed
# it, finish (commit the stored object, saving → active). Whatever goes wrong in between aborts
# the store writer (nothing stored) and puts the image back to queued, so it can be retried.

log = logging.getLogger(__name__)

# Storage quota is reserved in steps of this many bytes while data of unknown length streams.
RESERVATION_STEP = 64 * 1024 * 1024


class StoreFailed(ServiceError):
    status_code = 503


def _delete_data(key: str) -> None:
    try:
        stores.get_store().delete(key)
    except Exception:
        log.exception("Could not delete the stored data of image %s", key)


def _require_count_quota(project_id: str) -> None:
    limits = quotas.lock_project(project_id)
    used = quotas.usage_of(project_id)[quotas.COUNT_TOTAL]
    limit = limits[quotas.COUNT_TOTAL]
    if not quotas.within(limit, used + 1):
        raise LimitExceeded(quotas.exceeded_message(quotas.COUNT_TOTAL, usage=used, limit=limit))


@transaction.atomic
def _upload_start(
    *, image: Image, declared_length: int | None, disk_format: str | None, container_format: str | None
) -> Image:
    limits = quotas.lock_project(image.owner_id)
    current = _locked(image)
    if current.status in (Status.ACTIVE, Status.DEACTIVATED):
        raise Conflict(
            f"{current.display_name} already has its data ({current.status}); image data cannot be "
            "replaced. Create a new image instead."
        )
    if current.status == Status.SAVING:
        raise Conflict(f"An upload to {current.display_name} is already in progress.")
    if current.status != Status.QUEUED:
        raise Conflict(f"{current.display_name} is {current.status}: it cannot take data.")
    if disk_format:
        if disk_format not in DiskFormat.values:
            raise InvalidInput(f"Unknown disk format {disk_format!r}.")
        current.disk_format = disk_format
    if container_format:
        if container_format not in ContainerFormat.values:
            raise InvalidInput(f"Unknown container format {container_format!r}.")
        current.container_format = container_format
    if not current.disk_format or not current.container_format:
        raise InvalidInput("Choose the disk format and the container format before uploading data.")
    if declared_length is not None and declared_length < 0:
        raise InvalidInput("The upload's length cannot be negative.")
    used = quotas.usage_of(current.owner_id)
    limit = limits[quotas.COUNT_UPLOADING]
    if not quotas.within(limit, used[quotas.COUNT_UPLOADING] + 1):
        raise LimitExceeded(
            quotas.exceeded_message(quotas.COUNT_UPLOADING, usage=used[quotas.COUNT_UPLOADING], limit=limit)
        )
    reserve = declared_length or 0
    limit = limits[quotas.SIZE_TOTAL]
    if not quotas.within(limit, used[quotas.SIZE_TOTAL] + reserve):
        raise LimitExceeded(
            quotas.exceeded_message(quotas.SIZE_TOTAL, usage=used[quotas.SIZE_TOTAL], limit=limit, adding=reserve)
        )
    current.status = Status.SAVING
    current.upload_reserved = reserve
    current.save(update_fields=["status", "upload_reserved", "disk_format", "container_format", "updated_at"])
    return current


@transaction.atomic
def _upload_reserve(*, image: Image, needed: int, fixed: bool) -> int:
    """Hold at least `needed` bytes of storage quota for the upload; the new reservation."""
    limits = quotas.lock_project(image.owner_id)
    current = Image.objects.select_for_update().filter(pk=image.pk, status=Status.SAVING).first()
    if current is None:
        raise NotFound("The image was deleted while its data was uploading.")
    limit = limits[quotas.SIZE_TOTAL]
    others = quotas.usage_of(current.owner_id)[quotas.SIZE_TOTAL] - current.upload_reserved
    if not quotas.within(limit, others + needed):
        raise LimitExceeded(
            quotas.exceeded_message(quotas.SIZE_TOTAL, usage=others, limit=limit, adding=needed)
        )
    reserve = needed if fixed else max(needed, current.upload_reserved + RESERVATION_STEP)
    if limit != quotas.UNLIMITED:
        reserve = min(reserve, limit - others)
    Image.objects.filter(pk=current.pk).update(upload_reserved=reserve)
    return reserve


@transaction.atomic
def _upload_finish(*, image: Image, writer: stores.Writer, **data: Any) -> Image:
    quotas.lock_project(image.owner_id)
    current = (
        Image.objects.select_for_update(of=("self",)).select_related("owner").filter(pk=image.pk).first()
    )
    if current is None:
        raise NotFound("The image was deleted while its data was uploading.")
    if current.status != Status.SAVING:
        raise Conflict(f"{current.display_name} is {current.status}: the upload was cancelled.")
    try:
        writer.commit()
    except stores.StoreError as e:
        raise StoreFailed(str(e)) from e
    # From here the object exists: if recording it fails, remove it again.
    key = str(current.pk)
    for field, value in data.items():
        setattr(current, field, value)
    current.status = Status.ACTIVE
    current.upload_reserved = 0
    try:
        current.save(update_fields=[*data, "status", "upload_reserved", "updated_at"])
    except Exception:
        _delete_data(key)
        raise
    return current


def _upload_reset(image: Image) -> None:
    """A failed upload: the image goes back to queued, its reservation released."""
    Image.objects.filter(pk=image.pk, status=Status.SAVING).update(status=Status.QUEUED, upload_reserved=0)


def uploads_recover(*, older_than: timedelta) -> list[Image]:
    """Images left `saving` by a server that died mid-upload (older than `older_than`): their
    unfinished data is discarded and they go back to queued, their quota reservation released,
    so the upload can be retried. Run by the recover_uploads command."""
    cutoff = timezone.now() - older_than
    stale = list(Image.objects.filter(status=Status.SAVING, updated_at__lt=cutoff).order_by("pk"))
    store = stores.get_store()
    for image in stale:
        try:
            store.discard_unfinished(str(image.pk))
        except Exception as e:  # the store is unreachable: leave the image for the next run
            raise StoreFailed(f"The image store could not clean up {image.pk}: {e}") from e
        _upload_reset(image)
    return stale


def image_upload(
    *,
    scope: Scope,
    image: Image,
    chunks: Iterable[bytes],
    declared_length: int | None = None,
    disk_format: str | None = None,
    container_format: str | None = None,
) -> Image:
    """Stream data into a queued image: hashed and stored as it arrives, then active.

    Refused for an image that already has data; refused up front when declared_length would
    exceed the storage quota and aborted as soon as the streamed bytes do; refused when the data's
    header contradicts the disk format. On any failure nothing is stored and the image is queued.
    """
    _require_edit(scope, image)
    current = _upload_start(
        image=image,
        declared_length=declared_length,
        disk_format=disk_format,
        container_format=container_format,
    )
    writer = digests = None
    try:
        writer = stores.get_store().writer(str(current.pk))
        digests = _Digests()
        size, reserved = 0, current.upload_reserved
        header, checked = bytearray(), False
        for chunk in chunks:
            if not chunk:
                continue
            size += len(chunk)
            if declared_length is not None and size > declared_length:
                raise InvalidInput(f"More data arrived than the declared {declared_length} bytes.")
            if size > reserved:
                reserved = _upload_reserve(image=current, needed=size, fixed=False)
            if not checked:
                header += chunk[: formats.HEADER_SIZE - len(header)]
                if len(header) >= formats.HEADER_SIZE:
                    _check_format(current.disk_format, bytes(header), complete=False)
                    checked = True
            digests.update(chunk)
            writer.write(chunk)
        md5, sha512 = digests.finish()
        if declared_length is not None and size != declared_length:
            raise InvalidInput(
                f"The upload was incomplete: {size} of {declared_length} bytes arrived. Try again."
            )
        if not checked:
            _check_format(current.disk_format, bytes(header), complete=True)
        sniffed = formats.sniff(bytes(header))
        virtual_size = sniffed.virtual_size if sniffed.format == "qcow2" else None
        return _upload_finish(
            image=current,
            writer=writer,
            size=size,
            checksum=md5.hexdigest(),
            os_hash_algo="sha512",
            os_hash_value=sha512.hexdigest(),
            virtual_size=virtual_size,
        )
    except BaseException as e:
        if digests is not None:
            digests.finish()
        if writer is not None:
            writer.abort()
        _upload_reset(current)
        if isinstance(e, stores.StoreError):
            raise StoreFailed(str(e)) from e
        raise


class _Digests:
    """The md5 and sha512 of a stream, each updated in its own thread while the caller writes the
    chunk and reads the next one. Hashing is most of an upload's work; hashlib releases the GIL on
    large buffers, so the two digests run side by side on two cores instead of one after the
    other, overlapping the request's reads and the store's writes. At most two chunks are held."""

    def __init__(self) -> None:
        self._md5, self._sha512 = hashlib.md5(usedforsecurity=False), hashlib.sha512()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="upload-hash")
        self._pending: list[Future] = []

    def _wait(self) -> None:
        for future in self._pending:
            future.result()
        self._pending = []

    def update(self, chunk: bytes) -> None:
        self._wait()  # the previous chunk first: a digest's updates must stay in order
        self._pending = [self._pool.submit(self._md5.update, chunk), self._pool.submit(self._sha512.update, chunk)]

    def finish(self) -> tuple[Any, Any]:
        """Wait for the last chunk, stop the threads; the two hash objects."""
        try:
            self._wait()
        finally:
            self._pool.shutdown()
        return self._md5, self._sha512


def _check_format(declared: str, header: bytes, *, complete: bool) -> None:
    problem = formats.contradiction(declared, header, complete=complete)
    if problem:
        raise InvalidInput(problem)


@dataclass(frozen=True)
class Download:
    image: Image
    chunks: Iterator[bytes]

    @property
    def filename(self) -> str:
        base = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.image.name) or str(self.image.pk)
        suffix = f".{self.image.disk_format}" if self.image.disk_format else ""
        return base if base.endswith(suffix) else base + suffix


def image_download(*, scope: Scope, image: Image) -> Download:
    """The image's data as a stream, for whoever may use it (access.can_download)."""
    if not access.can_download(scope, image):
        raise NotPermitted(access.download_refusal(scope, image))
    if image.status not in (Status.ACTIVE, Status.DEACTIVATED):
        raise Conflict(f"{image.display_name} has no data to download yet (status: {image.status}).")
    try:
        chunks = stores.get_store().reader(str(image.pk))
        # Readers are generators: read the first chunk now, while a failure can still be a 503
        # rather than a 200 whose body breaks off.
        first = next(chunks, b"")
    except Exception as e:
        raise StoreFailed(f"The image store could not read the data: {e}") from e
    return Download(image=image, chunks=_resumed(first, chunks))


def _resumed(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    """first, then rest; closing it closes rest (the store's reader releases its file)."""
    yield first
    yield from rest


def _status_switch(*, scope: Scope, image: Image, verb: str, before: str, after: str) -> Image:
    if not access.can_deactivate(scope):
        raise NotPermitted(f"Only a platform admin can {verb} an image.")
    current = _locked(image)
    if current.status != before:
        raise Conflict(
            f"Only {before} images can be {verb}d; {current.display_name} is {current.status}."
        )
    current.status = after
    current.save(update_fields=["status", "updated_at"])
    return current


@transaction.atomic
def image_deactivate(*, scope: Scope, image: Image) -> Image:
    """Deactivate an active image (platform admin): only platform admins can download it then."""
    return _status_switch(
        scope=scope, image=image, verb="deactivate", before=Status.ACTIVE, after=Status.DEACTIVATED
    )


@transaction.atomic
def image_reactivate(*, scope: Scope, image: Image) -> Image:
    """Make a deactivated image active again (platform admin)."""
    return _status_switch(
        scope=scope, image=image, verb="reactivate", before=Status.DEACTIVATED, after=Status.ACTIVE
    )


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


# The Image API's changes: an image document (create), a JSON patch (update), tags. Glance's rules
# for what a document may hold, enforced here so the API adds no rule of its own.

# Fields the server sets; a document or patch naming them is refused (Glance answers 403).
READ_ONLY_FIELDS = frozenset(
    {"id", "status", "owner", "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value",
     "created_at", "updated_at", "self", "file", "schema", "direct_url", "locations", "stores"}
)
DOCUMENT_FIELDS = frozenset(
    {"name", "visibility", "protected", "os_hidden", "min_disk", "min_ram", "disk_format",
     "container_format", "tags"}
)
PATCH_OPERATIONS = ("add", "replace", "remove")


def _clean_value(field: str, value: Any) -> Any:
    """A document field's value in the model's terms, or InvalidInput saying what is expected."""
    if field == "name":
        if value is not None and not isinstance(value, str):
            raise InvalidInput("name must be a string.")
        if value and len(value) > 255:
            raise InvalidInput("name is at most 255 characters long.")
        return value or ""
    if field in ("protected", "os_hidden"):
        if not isinstance(value, bool):
            raise InvalidInput(f"{field} must be true or false.")
        return value
    if field in ("min_disk", "min_ram"):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**31 - 1:
            raise InvalidInput(f"{field} must be a whole number, 0 or more.")
        return value
    if field == "disk_format":
        if value not in (None, "", *DiskFormat.values):
            raise InvalidInput(f"Unknown disk format {value!r}: use one of {', '.join(DiskFormat.values)}.")
        return value or ""
    if field == "container_format":
        if value not in (None, "", *ContainerFormat.values):
            raise InvalidInput(
                f"Unknown container format {value!r}: use one of {', '.join(ContainerFormat.values)}."
            )
        return value or ""
    if field == "visibility":
        if value not in Visibility.values:
            raise InvalidInput(f"Unknown visibility {value!r}: use {', '.join(Visibility.values)}.")
        return value
    if field == "tags":
        if not isinstance(value, list) or not all(isinstance(t, str) and 0 < len(t) <= 255 for t in value):
            raise InvalidInput("tags must be a list of strings of 1 to 255 characters.")
        tags = list(dict.fromkeys(value))
        if len(tags) > settings.IMAGE_TAG_QUOTA:
            raise LimitExceeded(f"An image can have at most {settings.IMAGE_TAG_QUOTA} tags.", field="tag")
        return tags
    raise InvalidInput(f"Unknown field {field!r}.")


def _clean_property(key: Any, value: Any) -> str:
    """The value of property key, checked: the one place (API and dashboard) that validates
    property names and values, well-known keys against the catalog in images.properties."""
    problem = well_known.key_problem(key) if isinstance(key, str) else "A property name is a string."
    if problem:
        raise InvalidInput(problem, field="key")
    if well_known.is_reserved(key):
        raise NotPermitted(f"Attribute '{key}' is reserved.", field="key")
    if key in READ_ONLY_FIELDS:
        raise NotPermitted(f"Attribute '{key}' is read-only.", field="key")
    if key in DOCUMENT_FIELDS:
        raise InvalidInput(f"{key} is an attribute of the image, not a property: change it with Edit Image.", field="key")
    if not isinstance(value, str):
        raise InvalidInput(f"The value of property {key!r} must be a string.", field="value")
    problem = well_known.value_problem(key, value)
    if problem:
        raise InvalidInput(problem, field="value")
    return value


def _check_property_limit(properties: dict[str, str]) -> None:
    limit = settings.IMAGE_PROPERTY_QUOTA
    if len(properties) > limit:
        raise LimitExceeded(
            f"An image can have at most {limit} properties. Remove one before adding another.", field="key"
        )


def image_create_from_document(*, scope: Scope, document: dict[str, Any]) -> Image:
    """A new image from an Image API document: known fields, other keys become properties."""
    if not isinstance(document, dict):
        raise InvalidInput("The request body must be a JSON object describing the image.")
    fields: dict[str, Any] = {}
    properties: dict[str, str] = {}
    for key, value in document.items():
        if key in READ_ONLY_FIELDS:
            raise NotPermitted(f"Attribute '{key}' is read-only.")
        if key in DOCUMENT_FIELDS:
            fields[key] = _clean_value(key, value)
        else:
            properties[key] = _clean_property(key, value)
    _check_property_limit(properties)
    return image_create(scope=scope, properties=properties, **{"name": "", **fields})


def _patch_path(operation: Any) -> tuple[str, str, Any]:
    if not isinstance(operation, dict) or operation.get("op") not in PATCH_OPERATIONS:
        raise InvalidInput("Each change is an object with op add, replace or remove, and a path.")
    path = operation.get("path")
    if not isinstance(path, str) or not path.startswith("/") or path.count("/") != 1 or len(path) < 2:
        raise InvalidInput(f"Unsupported path {path!r}: patch top-level attributes such as /name.")
    if operation["op"] != "remove" and "value" not in operation:
        raise InvalidInput(f"The {operation['op']} of {path} needs a value.")
    key = path[1:].replace("~1", "/").replace("~0", "~")
    return operation["op"], key, operation.get("value")


@transaction.atomic
def image_patch(*, scope: Scope, image: Image, operations: Any) -> Image:
    """Apply a JSON patch (add/replace/remove on top-level attributes) all or nothing.

    Read-only attributes are refused (403); properties can be added, replaced and removed,
    built-in attributes only set; formats change only while the image has no data.
    """
    _require_edit(scope, image)
    if not isinstance(operations, list):
        raise InvalidInput("The request body must be a JSON list of changes.")
    current = _locked(image)
    changes: dict[str, Any] = {}
    properties = dict(current.properties)
    for operation in operations:
        op, key, value = _patch_path(operation)
        if key in READ_ONLY_FIELDS:
            raise NotPermitted(f"Attribute '{key}' is read-only.")
        if key in DOCUMENT_FIELDS:
            if op == "remove":
                raise NotPermitted(f"Attribute '{key}' cannot be removed.")
            changes[key] = _clean_value(key, value)
        elif op == "remove" or (op == "replace" and key not in properties):
            if key not in properties:
                raise Conflict(f"Property {key} does not exist.")
            del properties[key]
        else:
            properties[key] = _clean_property(key, value)
    _check_property_limit(properties)
    changes = {k: v for k, v in changes.items() if getattr(current, k) != v}
    for key in ("disk_format", "container_format"):
        if key in changes and current.status != Status.QUEUED:
            raise NotPermitted(f"Attribute {key} can only be changed while the image is queued.")
    if "visibility" in changes:
        _require_visibility(scope, current, changes["visibility"])
    if properties != current.properties:
        changes["properties"] = properties
    before = current.visibility
    for field, value in changes.items():
        setattr(current, field, value)
    if changes:
        current.save(update_fields=[*changes, "updated_at"])
    activity.record_visibility(scope=scope, image=current, before=before)
    return current


@transaction.atomic
def image_tag_add(*, scope: Scope, image: Image, tag: str) -> Image:
    """Tag the image (adding a tag it has changes nothing)."""
    _require_edit(scope, image)
    if not 0 < len(tag) <= 255:
        raise InvalidInput("A tag has 1 to 255 characters.", field="tag")
    current = _locked(image)
    if tag not in current.tags:
        current.tags = _clean_value("tags", [*current.tags, tag])
        current.save(update_fields=["tags", "updated_at"])
    return current


@transaction.atomic
def image_tag_remove(*, scope: Scope, image: Image, tag: str) -> Image:
    """Remove a tag; NotFound when the image does not have it."""
    _require_edit(scope, image)
    current = _locked(image)
    if tag not in current.tags:
        raise NotFound(f"The image has no tag {tag!r}.")
    current.tags = [t for t in current.tags if t != tag]
    current.save(update_fields=["tags", "updated_at"])
    return current


# The dashboard's property editor: one property at a time, with the Image API's rules.


@transaction.atomic
def image_property_set(*, scope: Scope, image: Image, key: str, value: str) -> Image:
    """Add a property or change its value (the owner, or a platform admin); a well-known key's
    value must be one the compute service accepts, and min_disk/min_ram set the image's fields."""
    _require_edit(scope, image)
    current = _locked(image)
    if key in well_known.FIELD_KEYS:
        problem = well_known.value_problem(key, value)
        if problem:
            raise InvalidInput(problem, field="value")
        if getattr(current, key) != int(value):
            setattr(current, key, _clean_value(key, int(value)))
            current.save(update_fields=[key, "updated_at"])
        return current
    changed = {**current.properties, key: _clean_property(key, value)}
    _check_property_limit(changed)
    if changed != current.properties:
        current.properties = changed
        current.save(update_fields=["properties", "updated_at"])
    return current


@transaction.atomic
def image_property_remove(*, scope: Scope, image: Image, key: str) -> Image:
    """Remove a property (the owner, or a platform admin); NotFound when the image does not have it."""
    _require_edit(scope, image)
    current = _locked(image)
    if key in well_known.FIELD_KEYS:
        raise InvalidInput(f"{key} is an attribute of the image and cannot be removed: set it to 0.", field="key")
    if key not in current.properties:
        raise NotFound(f"The image has no property {key}.", field="key")
    if well_known.is_reserved(key):
        raise NotPermitted(f"Attribute '{key}' is reserved.", field="key")
    current.properties = {k: v for k, v in current.properties.items() if k != key}
    current.save(update_fields=["properties", "updated_at"])
    return current

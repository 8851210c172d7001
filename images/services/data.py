"""Image data: upload, download, deactivation.

An upload is three short transactions around the stream, never one long one: start (queued →
saving, quota reserved under the project's quota lock), extend the reservation as bytes exceed
it, finish (commit the stored object, saving → active). Whatever goes wrong in between aborts
the store writer (nothing stored) and puts the image back to queued, so it can be retried.

Each upload holds a token on the image and records, at most every IMAGE_UPLOAD_PROGRESS_SECONDS,
that bytes are still arriving. A `saving` image without progress for IMAGE_UPLOAD_STALE_SECONDS
was interrupted (its server died, its client stalled): uploads_recover puts it back to queued,
releases its quota and discards its partial data. Every step of an upload checks its token, so
a writer that comes back after that cannot record data over a later upload.
"""

import hashlib
import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dashboard.identity import Scope

from .. import access, formats, quotas, stores
from ..models import (
    ContainerFormat,
    DiskFormat,
    Image,
    Status,
)
from .base import _locked, _require_edit
from .errors import (
    Conflict,
    InvalidInput,
    LimitExceeded,
    NotFound,
    NotPermitted,
    StoreFailed,
)

log = logging.getLogger(__name__)

# Storage quota is reserved in steps of this many bytes while data of unknown length streams.
RESERVATION_STEP = 64 * 1024 * 1024


def _delete_data(key: str, *, unfinished: bool = False) -> None:
    try:
        store = stores.get_store()
        store.delete(key)
        if unfinished:
            store.discard_unfinished(key)
    except Exception:
        log.exception("Could not delete the stored data of image %s", key)


def _require_uploadable(image: Image) -> None:
    if image.status in (Status.ACTIVE, Status.DEACTIVATED):
        raise Conflict(
            f"{image.display_name} already has its data ({image.status}); image data cannot be "
            "replaced. Create a new image instead."
        )
    if image.status == Status.SAVING:
        raise Conflict(f"An upload to {image.display_name} is already in progress.")
    if image.status != Status.QUEUED:
        raise Conflict(f"{image.display_name} is {image.status}: it cannot take data.")


def image_upload_check(*, scope: Scope, image: Image) -> None:
    """Refuse early (before any byte is read) an upload image_upload would refuse for the
    image's state: not the project's to change (403), has data or is uploading already (409)."""
    _require_edit(scope, image)
    if image.status == Status.SAVING:
        return  # perhaps an interrupted upload that image_upload recovers first
    _require_uploadable(image)


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
    _require_uploadable(current)
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
            quotas.exceeded_message(
                quotas.SIZE_TOTAL, usage=used[quotas.SIZE_TOTAL], limit=limit, adding=reserve
            )
        )
    current.status = Status.SAVING
    current.upload_reserved = reserve
    current.upload_token = uuid.uuid4()
    current.upload_progress_at = timezone.now()
    current.save(
        update_fields=[
            "status",
            "upload_reserved",
            "upload_token",
            "upload_progress_at",
            "disk_format",
            "container_format",
            "updated_at",
        ]
    )
    return current


def _this_upload(image: Image) -> Q:
    """The image, still saving for this upload (not cancelled, recovered or restarted since)."""
    return Q(pk=image.pk, status=Status.SAVING, upload_token=image.upload_token)


def _upload_progress(image: Image) -> None:
    """Record that bytes are still arriving; refuse to go on if the upload was cancelled."""
    if not Image.objects.filter(_this_upload(image)).update(upload_progress_at=timezone.now()):
        raise Conflict(f"The upload to {image.display_name} was cancelled (deleted or interrupted).")


@transaction.atomic
def _upload_reserve(*, image: Image, needed: int, fixed: bool) -> int:
    """Hold at least `needed` bytes of storage quota for the upload; the new reservation."""
    limits = quotas.lock_project(image.owner_id)
    current = Image.objects.select_for_update().filter(_this_upload(image)).first()
    if current is None:
        raise Conflict(f"The upload to {image.display_name} was cancelled (deleted or interrupted).")
    limit = limits[quotas.SIZE_TOTAL]
    others = quotas.usage_of(current.owner_id)[quotas.SIZE_TOTAL] - current.upload_reserved
    if not quotas.within(limit, others + needed):
        raise LimitExceeded(
            quotas.exceeded_message(quotas.SIZE_TOTAL, usage=others, limit=limit, adding=needed)
        )
    reserve = needed if fixed else max(needed, current.upload_reserved + RESERVATION_STEP)
    if limit != quotas.UNLIMITED:
        reserve = min(reserve, limit - others)
    Image.objects.filter(pk=current.pk).update(upload_reserved=reserve, upload_progress_at=timezone.now())
    return reserve


@transaction.atomic
def _upload_finish(*, image: Image, writer: stores.Writer, **data: Any) -> Image:
    quotas.lock_project(image.owner_id)
    current = (
        Image.objects.select_for_update(of=("self",)).select_related("owner").filter(pk=image.pk).first()
    )
    if current is None:
        raise NotFound("The image was deleted while its data was uploading.")
    if current.status != Status.SAVING or current.upload_token != image.upload_token:
        raise Conflict(f"The upload to {current.display_name} was cancelled (interrupted for too long).")
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
    current.upload_token = current.upload_progress_at = None
    try:
        current.save(
            update_fields=[
                *data,
                "status",
                "upload_reserved",
                "upload_token",
                "upload_progress_at",
                "updated_at",
            ]
        )
    except Exception:
        _delete_data(key)
        raise
    return current


def _upload_reset(image: Image) -> None:
    """A failed upload: the image goes back to queued, its reservation released (unless another
    upload owns it by now)."""
    Image.objects.filter(_this_upload(image)).update(**_QUEUED_AGAIN)


_QUEUED_AGAIN: dict[str, Any] = {
    "status": Status.QUEUED,
    "upload_reserved": 0,
    "upload_token": None,
    "upload_progress_at": None,
}


def _stale(older_than: timedelta) -> Q:
    cutoff = timezone.now() - older_than
    return Q(status=Status.SAVING) & (
        Q(upload_progress_at__lt=cutoff) | Q(upload_progress_at__isnull=True, updated_at__lt=cutoff)
    )


def uploads_recover(*, older_than: timedelta | None = None, project_id: str | None = None) -> list[Image]:
    """Interrupted uploads: images `saving` without progress for `older_than` (default
    IMAGE_UPLOAD_STALE_SECONDS), in one project or all. Each goes back to queued, its quota
    reservation released and its unfinished data discarded, so the upload can be retried; one
    still making progress is left alone. Run by the recover_uploads command, and before every
    upload for the uploading project."""
    if older_than is None:
        older_than = timedelta(seconds=settings.IMAGE_UPLOAD_STALE_SECONDS)
    candidates = Image.objects.filter(_stale(older_than))
    if project_id is not None:
        candidates = candidates.filter(owner_id=project_id)
    recovered = []
    for pk in candidates.order_by("pk").values_list("pk", flat=True):
        image = _recover_one(pk, older_than)
        if image is not None:
            recovered.append(image)
    return recovered


@transaction.atomic
def _recover_one(pk: uuid.UUID, older_than: timedelta) -> Image | None:
    """Under the image's row lock (a new upload cannot start, the old writer cannot record
    progress): still stale? Then queued again and its partial data discarded, or, if the store
    cannot do that now, left as it is for the next run."""
    image = Image.objects.select_for_update().filter(_stale(older_than), pk=pk).first()
    if image is None:
        return None  # it made progress, finished or was deleted meanwhile
    if not Image.objects.filter(_this_upload(image), _stale(older_than)).update(**_QUEUED_AGAIN):
        return None
    try:
        stores.get_store().discard_unfinished(str(image.pk))
    except Exception as e:  # the store is unreachable: roll back, leave the image for the next run
        raise StoreFailed(f"The image store could not clean up {image.pk}: {e}") from e
    return image


def _recover_before_upload(project_id: str) -> None:
    try:
        uploads_recover(project_id=project_id)
    except StoreFailed:
        log.exception("Could not recover the interrupted uploads of project %s", project_id)


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
    header contradicts the disk format, or when the image is unsafe for a hypervisor (a qcow2
    backing file or external data file, formats.Inspection). On any failure nothing is stored and
    the image is queued.
    """
    _require_edit(scope, image)
    _recover_before_upload(image.owner_id)
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
        inspection = formats.Inspection(current.disk_format)
        every, recorded = settings.IMAGE_UPLOAD_PROGRESS_SECONDS, time.monotonic()
        for chunk in chunks:
            if not chunk:
                continue
            if time.monotonic() - recorded >= every:
                _upload_progress(current)
                recorded = time.monotonic()
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
            _inspect(inspection, chunk)
            digests.update(chunk)
            writer.write(chunk)
        md5, sha512 = digests.finish()
        if declared_length is not None and size != declared_length:
            raise InvalidInput(
                f"The upload was incomplete: {size} of {declared_length} bytes arrived. Try again."
            )
        if not checked:
            _check_format(current.disk_format, bytes(header), complete=True)
        virtual_size = _inspect(inspection, None)
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
        self._pending = [
            self._pool.submit(self._md5.update, chunk),
            self._pool.submit(self._sha512.update, chunk),
        ]

    def finish(self) -> tuple[Any, Any]:
        """Wait for the last chunk, stop the threads; the two hash objects."""
        try:
            self._wait()
        finally:
            self._pool.shutdown()
        return self._md5, self._sha512


def _inspect(inspection: formats.Inspection, chunk: bytes | None) -> int | None:
    """Feed a chunk to the format inspection (None: the end, whose answer is the virtual size);
    an unsafe image is invalid input."""
    try:
        if chunk is None:
            return inspection.finish()
        inspection.feed(chunk)
        return None
    except formats.UnsafeImage as e:
        raise InvalidInput(str(e)) from None


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
    if not access.can_deactivate(scope, image):
        raise NotPermitted(access.deactivate_refusal(scope, image, verb))
    current = _locked(image)
    if current.status != before:
        raise Conflict(f"Only {before} images can be {verb}d; {current.display_name} is {current.status}.")
    current.status = after
    current.save(update_fields=["status", "updated_at"])
    return current


@transaction.atomic
def image_deactivate(*, scope: Scope, image: Image) -> Image:
    """Deactivate an active image (its owner project's members, platform admins): only platform
    admins can download it then."""
    return _status_switch(
        scope=scope, image=image, verb="deactivate", before=Status.ACTIVE, after=Status.DEACTIVATED
    )


@transaction.atomic
def image_reactivate(*, scope: Scope, image: Image) -> Image:
    """Make a deactivated image active again (its owner project's members, platform admins)."""
    return _status_switch(
        scope=scope, image=image, verb="reactivate", before=Status.DEACTIVATED, after=Status.ACTIVE
    )

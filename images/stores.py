"""Where image data lives: a small store interface and its two implementations.

A store keeps one object per key (the image id). Data goes in through a writer that accepts chunks
as they stream and is then committed (the object appears, whole) or aborted (nothing is left);
it comes out through a reader that yields chunks. Settings choose the store:

- IMAGE_STORE=filesystem (the default): files under IMAGE_STORE_DIR. A writer writes a temporary
  file in the same directory and renames it into place on commit: one write, atomic.
- IMAGE_STORE=s3: an S3-compatible bucket through boto3. Data is sent as a multipart upload, one
  part at a time as it streams (a small object is sent in one PUT on commit); abort cancels it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

READ_CHUNK = 1024 * 1024


class StoreError(Exception):
    """The store failed (disk full, object storage unreachable…): nothing was stored."""


class Writer(Protocol):
    def write(self, chunk: bytes) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class Store(Protocol):
    name: str

    def writer(self, key: str) -> Writer: ...

    def reader(self, key: str) -> Iterator[bytes]: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def keys(self) -> list[str]: ...

    def discard_unfinished(self, key: str) -> int:
        """Remove what an interrupted writer of `key` left (a crash skips abort); how many."""
        ...


# Filesystem


# Every this many bytes a writer asks the kernel to write what it has so far to disk.
WRITEBACK_STEP = 32 * 1024 * 1024


class FileSystemWriter:
    def __init__(self, final: Path):
        self._final = final
        # Same directory as the final name, so the rename on commit never crosses a filesystem.
        self._temp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.part")
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self._temp, "xb")
        except OSError as e:
            raise StoreError(f"The image store could not start writing: {e.strerror or e}.") from e
        self._written = self._synced = 0

    def write(self, chunk: bytes) -> None:
        try:
            self._file.write(chunk)
            self._written += len(chunk)
            if self._written - self._synced >= WRITEBACK_STEP:
                self._start_writeback()
        except OSError as e:
            raise StoreError(f"The image store could not write: {e.strerror or e}.") from e

    def _start_writeback(self) -> None:
        """Start writing the last step to disk now, without waiting for it, and let its pages
        leave the page cache once written: the fsync on commit then has little left to do (it
        was a second pass over the whole image), and an upload does not fill the page cache."""
        if hasattr(os, "posix_fadvise"):
            self._file.flush()
            os.posix_fadvise(
                self._file.fileno(), self._synced, self._written - self._synced, os.POSIX_FADV_DONTNEED
            )
        self._synced = self._written

    def commit(self) -> None:
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._temp, self._final)
        except OSError as e:
            self.abort()
            raise StoreError(f"The image store could not save the data: {e.strerror or e}.") from e

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self._temp.unlink(missing_ok=True)


class FileSystemStore:
    name = "filesystem"

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not key or "/" in key or key.startswith("."):
            raise ValueError(f"Bad store key {key!r}")
        return self.root / key

    def writer(self, key: str) -> FileSystemWriter:
        return FileSystemWriter(self._path(key))

    def reader(self, key: str) -> Iterator[bytes]:
        with open(self._path(key), "rb") as f:
            while chunk := f.read(READ_CHUNK):
                yield chunk

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def discard_unfinished(self, key: str) -> int:
        self._path(key)  # validates the key
        leftovers = list(self.root.glob(f".{key}.*.part")) if self.root.is_dir() else []
        for path in leftovers:
            path.unlink(missing_ok=True)
        return len(leftovers)

    def keys(self) -> list[str]:
        """Every object, temporary ones included (a leftover .part file is an orphan too)."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_file())


# S3


class S3Writer:
    def __init__(self, store: S3Store, key: str):
        self._store = store
        self._key = key
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict] = []

    @property
    def _client(self):
        return self._store.client

    def write(self, chunk: bytes) -> None:
        self._buffer += chunk
        if len(self._buffer) >= self._store.part_size:
            self._send_part()

    def _send_part(self) -> None:
        try:
            if self._upload_id is None:
                response = self._client.create_multipart_upload(Bucket=self._store.bucket, Key=self._key)
                self._upload_id = response["UploadId"]
            number = len(self._parts) + 1
            response = self._client.upload_part(
                Bucket=self._store.bucket,
                Key=self._key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=bytes(self._buffer),
            )
        except Exception as e:
            raise StoreError(f"The object store refused the data: {e}") from e
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})
        self._buffer.clear()

    def commit(self) -> None:
        try:
            if self._upload_id is None:
                self._client.put_object(Bucket=self._store.bucket, Key=self._key, Body=bytes(self._buffer))
                self._buffer.clear()
                return
            if self._buffer:
                self._send_part()
            self._client.complete_multipart_upload(
                Bucket=self._store.bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        except Exception as e:
            self.abort()
            if isinstance(e, StoreError):
                raise
            raise StoreError(f"The object store could not save the data: {e}") from e

    def abort(self) -> None:
        self._buffer.clear()
        if self._upload_id is None:
            return
        upload_id, self._upload_id = self._upload_id, None
        try:
            self._client.abort_multipart_upload(Bucket=self._store.bucket, Key=self._key, UploadId=upload_id)
        except Exception:
            # The server is gone; S3 lifecycle rules clean up incomplete uploads. Nothing was
            # completed, so no object exists under the key.
            pass


class S3Store:
    name = "s3"

    def __init__(
        self,
        *,
        endpoint_url: str | None,
        bucket: str,
        access_key_id: str | None,
        secret_access_key: str | None,
        region: str | None = None,
        part_size: int = 8 * 1024 * 1024,
    ):
        import boto3
        from botocore.config import Config

        if not bucket:
            raise ImproperlyConfigured("IMAGE_STORE_S3_BUCKET must be set when IMAGE_STORE=s3")
        if part_size < 5 * 1024 * 1024:
            raise ImproperlyConfigured("IMAGE_STORE_S3_PART_SIZE must be at least 5 MiB (S3's minimum)")
        self.bucket = bucket
        self.part_size = part_size
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            region_name=region or None,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 2, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
            ),
        )

    def ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    def writer(self, key: str) -> S3Writer:
        return S3Writer(self, key)

    def reader(self, key: str) -> Iterator[bytes]:
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        try:
            yield from body.iter_chunks(READ_CHUNK)
        finally:
            body.close()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def discard_unfinished(self, key: str) -> int:
        uploads = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=key).get("Uploads", [])
        mine = [u for u in uploads if u["Key"] == key]
        for upload in mine:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload["UploadId"])
        return len(mine)

    def keys(self) -> list[str]:
        """Every object, plus every unfinished multipart upload (an orphan too)."""
        found = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            found += [o["Key"] for o in page.get("Contents", [])]
        uploads = self.client.list_multipart_uploads(Bucket=self.bucket)
        found += [f"(unfinished) {u['Key']}" for u in uploads.get("Uploads", [])]
        return sorted(found)


_stores: dict[tuple[object, ...], Store] = {}


def get_store() -> Store:
    """The store the settings choose (built once per configuration)."""
    kind = settings.IMAGE_STORE
    config: tuple[object, ...]
    if kind == "filesystem":
        config = (kind, str(settings.IMAGE_STORE_DIR))
    elif kind == "s3":
        config = (
            kind,
            settings.IMAGE_STORE_S3_ENDPOINT_URL,
            settings.IMAGE_STORE_S3_BUCKET,
            settings.IMAGE_STORE_S3_ACCESS_KEY_ID,
            settings.IMAGE_STORE_S3_SECRET_ACCESS_KEY,
            settings.IMAGE_STORE_S3_REGION,
            settings.IMAGE_STORE_S3_PART_SIZE,
        )
    else:
        raise ImproperlyConfigured(f"IMAGE_STORE must be filesystem or s3, not {kind!r}")
    store = _stores.get(config)
    if store is None:
        if kind == "filesystem":
            store = FileSystemStore(settings.IMAGE_STORE_DIR)
        else:
            store = S3Store(
                endpoint_url=settings.IMAGE_STORE_S3_ENDPOINT_URL,
                bucket=settings.IMAGE_STORE_S3_BUCKET,
                access_key_id=settings.IMAGE_STORE_S3_ACCESS_KEY_ID,
                secret_access_key=settings.IMAGE_STORE_S3_SECRET_ACCESS_KEY,
                region=settings.IMAGE_STORE_S3_REGION,
                part_size=settings.IMAGE_STORE_S3_PART_SIZE,
            )
            store.ensure_bucket()
        _stores[config] = store
    return store


def _forget_stores(*, setting: str, **kwargs) -> None:
    if setting.startswith("IMAGE_STORE"):
        _stores.clear()


setting_changed.connect(_forget_stores)

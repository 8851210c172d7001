"""The two image stores, each against the real thing: a directory, and a SeaweedFS S3 server."""

import os
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured

from images import stores

MiB = 1024 * 1024


def _data(n: int) -> bytes:
    return os.urandom(n)


def _write(store, key, data, chunk=MiB):
    writer = store.writer(key)
    for i in range(0, len(data), chunk):
        writer.write(data[i : i + chunk])
    return writer


def test_it_stores_an_object_and_streams_it_back(store):
    data = _data(12 * MiB + 123)  # more than two S3 parts
    key = str(uuid.uuid4())
    _write(store, key, data).commit()
    assert store.exists(key)
    chunks = list(store.reader(key))
    assert b"".join(chunks) == data
    assert max(len(c) for c in chunks) <= stores.READ_CHUNK
    assert store.keys() == [key]


def test_it_stores_a_small_object_and_an_empty_one(store):
    _write(store, "small", b"tiny").commit()
    _write(store, "empty", b"").commit()
    assert b"".join(store.reader("small")) == b"tiny"
    assert b"".join(store.reader("empty")) == b""


def test_it_leaves_nothing_behind_when_a_write_is_aborted(store):
    writer = _write(store, "aborted", _data(11 * MiB))
    writer.abort()
    assert not store.exists("aborted")
    assert store.keys() == []


def test_it_deletes_an_object(store):
    _write(store, "gone", b"x" * 100).commit()
    store.delete("gone")
    assert not store.exists("gone")
    assert store.keys() == []
    store.delete("gone")  # deleting what is not there is not an error


def test_the_filesystem_store_renames_its_temporary_file_into_place(fs_store):
    writer = _write(fs_store, "atomic", b"a" * 3 * MiB)
    [temporary] = fs_store.keys()
    assert temporary.startswith(".atomic.") and temporary.endswith(".part")
    assert not fs_store.exists("atomic")  # nothing visible until commit
    inode = os.stat(fs_store.root / temporary).st_ino
    writer.commit()
    assert fs_store.keys() == ["atomic"]
    # The same file, renamed: the data was written once, not copied.
    assert os.stat(fs_store.root / "atomic").st_ino == inode


def test_the_s3_store_sends_parts_while_the_data_streams(s3_store):
    writer = _write(s3_store, "big", _data(11 * MiB))
    uploads = s3_store.client.list_multipart_uploads(Bucket=s3_store.bucket).get("Uploads", [])
    assert [u["Key"] for u in uploads] == ["big"]  # two parts already sent before commit
    assert len(writer._buffer) == MiB  # only the unsent remainder is held
    writer.commit()
    assert s3_store.keys() == ["big"]
    head = s3_store.client.head_object(Bucket=s3_store.bucket, Key="big")
    assert head["ContentLength"] == 11 * MiB


def test_it_refuses_an_unknown_store(settings):
    settings.IMAGE_STORE = "ftp"
    with pytest.raises(ImproperlyConfigured):
        stores.get_store()


def test_it_refuses_s3_parts_smaller_than_s3_allows(settings, seaweedfs):
    settings.IMAGE_STORE = "s3"
    settings.IMAGE_STORE_S3_PART_SIZE = 1024
    with pytest.raises(ImproperlyConfigured, match="5 MiB"):
        stores.get_store()

"""Uploading image data through the dashboard and downloading it, on both stores."""

import hashlib
import io
import json
import os
import struct
import tracemalloc

import pytest

from images import services, stores
from images.models import Image, MemberStatus, Status, Visibility
from tests import disk_images
from tests.conftest import _client

MiB = 1024 * 1024


def qcow2(virtual_size: int, total: int = 70_000) -> bytes:
    header = b"QFI\xfb" + struct.pack(">I", 3) + bytes(16) + struct.pack(">Q", virtual_size)
    return header + bytes(total - len(header))


def file_url(image) -> str:
    return f"/project/images/{image.pk}/file/"


def put(client, image, data: bytes, query: str = ""):
    return client.put(file_url(image) + query, data, content_type="application/octet-stream")


@pytest.fixture
def queued(make_image):
    return make_image("fresh", status=Status.QUEUED, disk_format="raw", container_format="bare")


def test_it_uploads_and_downloads_through_the_dashboard(client_alice, queued, store):
    data = os.urandom(7 * MiB + 17)
    response = put(client_alice, queued, data)
    assert response.status_code == 200, response.content
    queued.refresh_from_db()
    assert queued.status == Status.ACTIVE
    assert queued.size == len(data)
    assert queued.checksum == hashlib.md5(data).hexdigest()
    assert (queued.os_hash_algo, queued.os_hash_value) == ("sha512", hashlib.sha512(data).hexdigest())
    assert response.json()["checksum"] == queued.checksum
    assert store.keys() == [str(queued.pk)]

    download = client_alice.get(file_url(queued))
    assert download.status_code == 200
    assert download["Content-Length"] == str(len(data))
    assert download["Content-MD5"] == hashlib.md5(data).hexdigest()
    body = b"".join(download.streaming_content)
    assert hashlib.sha512(body).hexdigest() == hashlib.sha512(data).hexdigest()


def test_it_creates_an_image_with_its_file(client_alice, platform, store):
    fields = {
        "name": "with-data",
        "disk_format": "qcow2",
        "container_format": "bare",
        "visibility": "private",
        "min_disk": 0,
        "min_ram": 0,
    }
    created = client_alice.post("/project/images/upload/", fields, HTTP_ACCEPT="application/json")
    assert created.status_code == 201, created.content
    urls = created.json()
    data = qcow2(virtual_size=10 * 1024**3)
    uploaded = client_alice.put(urls["upload_url"], data, content_type="application/octet-stream")
    assert uploaded.status_code == 200, uploaded.content
    image = Image.objects.get(pk=urls["id"])
    assert (image.name, image.owner, image.status) == ("with-data", platform, Status.ACTIVE)
    assert image.virtual_size == 10 * 1024**3
    assert image.checksum == hashlib.md5(data).hexdigest()


def test_the_create_page_without_javascript_creates_the_image_queued(client_alice):
    fields = {
        "name": "no-js",
        "disk_format": "raw",
        "container_format": "bare",
        "visibility": "private",
        "min_disk": 0,
        "min_ram": 0,
    }
    response = client_alice.post("/project/images/upload/", fields)
    image = Image.objects.get(name="no-js")
    assert response.status_code == 302 and response["Location"] == f"/project/images/{image.pk}/upload/"
    assert image.status == Status.QUEUED
    page = client_alice.get(response["Location"]).content.decode()
    assert 'id="upload-file"' in page and "needs JavaScript" in page


def test_it_sets_the_formats_chosen_on_the_upload_page(client_alice, make_image, fs_store):
    image = make_image("blank", status=Status.QUEUED, disk_format="", container_format="")
    refused = put(client_alice, image, b"data")
    assert refused.status_code == 400 and "disk format" in refused.json()["error"]
    response = put(client_alice, image, b"data", "?disk_format=raw&container_format=bare")
    assert response.status_code == 200
    image.refresh_from_db()
    assert (image.disk_format, image.container_format, image.status) == ("raw", "bare", Status.ACTIVE)


@pytest.mark.parametrize(
    "declared, data, message",
    [
        ("raw", qcow2(2**30), "The data is a qcow2 image, but the disk format is raw"),
        ("qcow2", os.urandom(40_000), "not a qcow2 image"),
        ("vmdk", b"vhdxfile" + bytes(40_000), "The data is a vhdx image"),
        ("iso", bytes(40_000), "not a iso image"),
        ("vdi", bytes(100), "not a vdi image"),
    ],
)
def test_it_refuses_data_that_contradicts_the_disk_format(
    client_alice, make_image, fs_store, declared, data, message
):
    image = make_image("liar", status=Status.QUEUED, disk_format=declared, container_format="bare")
    response = put(client_alice, image, data)
    assert response.status_code == 400
    assert message in response.json()["error"]
    image.refresh_from_db()
    assert image.status == Status.QUEUED and image.size is None and image.checksum == ""
    assert fs_store.keys() == []


@pytest.mark.parametrize(
    "declared, data",
    [
        ("iso", bytes(32769) + b"CD001" + bytes(5000)),
        ("vmdk", disk_images.vmdk()),
        ("vhdx", b"vhdxfile" + bytes(100)),
        ("vdi", bytes(64) + b"\x7f\x10\xda\xbe" + bytes(100)),
        ("vhd", os.urandom(1000)),  # a fixed VHD has no header to check
        ("raw", os.urandom(50_000)),
    ],
)
def test_it_accepts_data_that_matches_the_disk_format(client_alice, make_image, fs_store, declared, data):
    image = make_image("honest", status=Status.QUEUED, disk_format=declared, container_format="bare")
    assert put(client_alice, image, data).status_code == 200


def test_it_refuses_new_data_for_an_active_image(client_alice, queued, store):
    assert put(client_alice, queued, b"first").status_code == 200
    response = put(client_alice, queued, b"second")
    assert response.status_code == 409
    assert "cannot be replaced" in response.json()["error"]
    queued.refresh_from_db()
    assert queued.checksum == hashlib.md5(b"first").hexdigest()
    assert b"".join(store.reader(str(queued.pk))) == b"first"


def test_readers_and_other_projects_cannot_upload(client_dave, client_carol, make_image, app_team, fs_store):
    image = make_image(
        "theirs",
        owner=app_team,
        status=Status.QUEUED,
        disk_format="raw",
        container_format="bare",
        visibility=Visibility.COMMUNITY,
    )
    reader = put(client_dave, image, b"data")
    assert reader.status_code == 403 and "reader" in reader.json()["error"]
    assert put(client_carol, image, b"data").status_code == 403
    private = make_image("hidden", owner=app_team, status=Status.QUEUED)
    assert put(client_carol, private, b"data").status_code == 404
    assert fs_store.keys() == []


def test_it_needs_a_content_length(client_alice, queued):
    response = client_alice.generic("PUT", file_url(queued), b"", CONTENT_TYPE="application/octet-stream")
    assert response.status_code == 411


class Disconnecting(io.RawIOBase):
    """A request body that breaks after `good` bytes, like a client that goes away."""

    def __init__(self, data: bytes, good: int, *, error: bool = True):
        self.data, self.good, self.error, self.pos = data, good, error, 0

    def read(self, size=-1):
        if self.pos >= self.good:
            if self.error:
                raise OSError("connection reset by peer")
            return b""
        size = len(self.data) if size is None or size < 0 else size
        chunk = self.data[self.pos : min(self.pos + size, self.good)]
        self.pos += len(chunk)
        return chunk


def put_stream(client, image, body, length: int):
    return client.generic(
        "PUT",
        file_url(image),
        b"",
        CONTENT_TYPE="application/octet-stream",
        CONTENT_LENGTH=str(length),
        **{"wsgi.input": body},
    )


@pytest.mark.parametrize("error", [True, False], ids=["reset", "closed"])
def test_a_client_that_disconnects_leaves_the_image_queued_and_nothing_stored(
    client_alice, queued, store, error
):
    data = os.urandom(12 * MiB)
    response = put_stream(client_alice, queued, Disconnecting(data, 9 * MiB, error=error), len(data))
    assert response.status_code == 400
    assert "interrupted" in response.json()["error"] or "incomplete" in response.json()["error"]
    queued.refresh_from_db()
    assert (queued.status, queued.size, queued.checksum, queued.upload_reserved) == (
        Status.QUEUED,
        None,
        "",
        0,
    )
    assert store.keys() == []


def test_the_checksum_is_that_of_the_data_that_completed(client_alice, queued, store):
    first = os.urandom(6 * MiB)
    put_stream(client_alice, queued, Disconnecting(first, 5 * MiB), len(first))
    second = os.urandom(6 * MiB)
    assert put(client_alice, queued, second).status_code == 200
    queued.refresh_from_db()
    assert queued.checksum == hashlib.md5(second).hexdigest() != hashlib.md5(first).hexdigest()
    assert queued.os_hash_value == hashlib.sha512(second).hexdigest()
    assert hashlib.md5(b"".join(store.reader(str(queued.pk)))).hexdigest() == queued.checksum


class Generated(io.RawIOBase):
    """`size` bytes of request body made on the fly (never all in memory), hashed as they go."""

    def __init__(self, size: int):
        self.remaining = size
        self.block = os.urandom(MiB)
        self.md5 = hashlib.md5()

    def read(self, size=-1):
        n = min(self.remaining, MiB if size is None or size < 0 else size)
        chunk = self.block[:n]
        self.remaining -= n
        self.md5.update(chunk)
        return chunk


def test_a_large_upload_streams_in_flat_memory(client_alice, queued, store):
    size = 200 * MiB
    body = Generated(size)
    tracemalloc.start()
    try:
        response = put_stream(client_alice, queued, body, size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200, response.content
    # A chunk being read, plus for S3 the part being assembled and sent: far below the data size.
    assert peak < 40 * MiB, f"peak {peak / MiB:.1f} MiB"
    queued.refresh_from_db()
    assert queued.size == size and queued.checksum == body.md5.hexdigest()


# Download: who may


@pytest.fixture
def uploaded(make_image, fs_store):
    def make(**fields):
        image = make_image(
            "golden", status=Status.QUEUED, disk_format="raw", container_format="bare", **fields
        )
        return services_upload(image)

    return make


def services_upload(image, data=b"golden bytes"):
    writer = stores.get_store().writer(str(image.pk))
    writer.write(data)
    writer.commit()
    Image.objects.filter(pk=image.pk).update(
        status=Status.ACTIVE, size=len(data), checksum=hashlib.md5(data).hexdigest()
    )
    image.refresh_from_db()
    return image


@pytest.mark.parametrize(
    "persona, visibility, share, expected",
    [
        ("alice", Visibility.PRIVATE, None, 200),
        ("root", Visibility.PRIVATE, None, 200),
        ("carol", Visibility.PRIVATE, None, 404),
        ("bob", Visibility.SHARED, MemberStatus.ACCEPTED, 200),
        ("dave", Visibility.SHARED, MemberStatus.ACCEPTED, 403),  # a reader: no downloads (Glance)
        ("bob", Visibility.SHARED, MemberStatus.PENDING, 403),
        ("dave", Visibility.SHARED, MemberStatus.PENDING, 403),
        ("bob", Visibility.SHARED, MemberStatus.REJECTED, 403),
        ("carol", Visibility.SHARED, MemberStatus.ACCEPTED, 404),
        ("bob", Visibility.PRIVATE, MemberStatus.ACCEPTED, 404),  # dormant share
        ("carol", Visibility.PUBLIC, None, 200),
        ("carol", Visibility.COMMUNITY, None, 200),
    ],
)
def test_download_is_for_whoever_may_use_the_image(
    request, uploaded, app_team, persona, visibility, share, expected
):
    client = request.getfixturevalue(f"client_{persona}")
    image = uploaded(visibility=visibility)
    if share:
        image.members.create(member=app_team, status=share)
    response = client.get(file_url(image))
    assert response.status_code == expected
    if expected == 200:
        assert b"".join(response.streaming_content) == b"golden bytes"
    if expected == 403:
        reason = "role on this project is reader" if persona == "dave" else "accept the share first"
        assert reason in response.content.decode()


def test_a_deactivated_image_downloads_only_for_platform_admins(
    client_root, client_alice, client_bob, uploaded
):
    image = uploaded(visibility=Visibility.PUBLIC)
    response = client_bob.post(f"/project/images/{image.pk}/activation/", {"action": "deactivate"})
    assert response.status_code == 403
    client_root.post(f"/project/images/{image.pk}/activation/", {"action": "deactivate"})
    image.refresh_from_db()
    assert image.status == Status.DEACTIVATED
    refused = client_alice.get(file_url(image))
    assert refused.status_code == 403 and "deactivated" in refused.content.decode()
    assert client_root.get(file_url(image)).status_code == 200
    client_root.post(f"/project/images/{image.pk}/activation/", {"action": "reactivate"})
    assert client_alice.get(file_url(image)).status_code == 200


def test_an_image_without_data_has_nothing_to_download(client_alice, queued):
    response = client_alice.get(file_url(queued))
    assert response.status_code == 409 and "no data" in response.content.decode()


def test_deleting_an_image_removes_its_data(client_alice, queued, store, django_capture_on_commit_callbacks):
    assert put(client_alice, queued, os.urandom(MiB)).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client_alice.post(f"/project/images/{queued.pk}/delete/")
    assert response.status_code == 302
    assert not Image.objects.filter(pk=queued.pk).exists()
    assert store.keys() == []


def test_the_detail_page_offers_upload_and_download(client_alice, client_bob, queued, app_team, fs_store):
    page = client_alice.get(f"/project/images/{queued.pk}/").content.decode()
    assert f"/project/images/{queued.pk}/upload/" in page
    put(client_alice, queued, b"data")
    Image.objects.filter(pk=queued.pk).update(visibility=Visibility.SHARED)
    queued.members.create(member=app_team, status=MemberStatus.ACCEPTED)
    page = client_bob.get(f"/project/images/{queued.pk}/").content.decode()
    assert f"/project/images/{queued.pk}/file/" in page and "/upload/" not in page


def test_the_upload_service_refuses_a_second_upload_in_progress(alice, queued, fs_store):
    from dashboard.identity import scopes_for

    scope = scopes_for(alice, None)

    def chunks():
        yield b"a" * 10
        with pytest.raises(services.Conflict, match="already in progress"):
            services.image_upload(scope=scope, image=queued, chunks=[b"b"])
        yield b"c" * 10

    image = services.image_upload(scope=scope, image=queued, chunks=chunks())
    assert image.size == 20 and json.dumps(image.checksum)


def test_an_s3_server_that_stops_mid_upload_leaves_the_image_queued(client_alice, queued, settings, tmp_path):
    from .store_fixtures import s3_client, start_seaweedfs, stop_seaweedfs, use_s3

    process, endpoint = start_seaweedfs(tmp_path)
    try:
        use_s3(settings, endpoint)
        data = os.urandom(16 * MiB)

        class StopsTheServer(Generated):
            def read(self, size=-1):
                if self.remaining <= 8 * MiB and process.poll() is None:
                    stop_seaweedfs(process)  # two 5 MiB parts sent, the server goes away
                return super().read(size)

        response = put_stream(client_alice, queued, StopsTheServer(len(data)), len(data))
        assert response.status_code == 503, response.content
        assert "object store" in response.json()["error"]
        queued.refresh_from_db()
        assert (queued.status, queued.size, queued.upload_reserved) == (Status.QUEUED, None, 0)
        # Back up on the same data: the image's key holds no object.
        process, endpoint = start_seaweedfs(tmp_path, process.ports)
        listed = s3_client(endpoint).list_objects_v2(Bucket=settings.IMAGE_STORE_S3_BUCKET)
        assert listed.get("KeyCount", 0) == 0
    finally:
        if process.poll() is None:
            stop_seaweedfs(process)


def test_a_store_that_cannot_start_writing_answers_503_and_keeps_the_image_queued(
    client_alice, queued, settings, tmp_path
):
    blocker = tmp_path / "not-a-directory"
    blocker.write_bytes(b"")
    settings.IMAGE_STORE_DIR = blocker / "images"  # mkdir below a regular file fails
    response = put(client_alice, queued, b"x" * 1024)
    assert response.status_code == 503
    assert "could not start writing" in response.content.decode()
    queued.refresh_from_db()
    assert queued.status == Status.QUEUED
    assert queued.upload_reserved == 0


def test_an_upload_interrupted_by_a_server_crash_is_recovered(queued, store):
    """A killed worker never runs abort: the image stays `saving` with partial data behind it."""
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from images import stores

    writer = stores.get_store().writer(str(queued.pk))
    writer.write(os.urandom(9 * MiB))  # S3: at least one multipart part already sent
    Image.objects.filter(pk=queued.pk).update(status=Status.SAVING, upload_reserved=9 * MiB)
    assert store.keys() != []

    call_command("recover_uploads", "--older-than-minutes", "60")
    queued.refresh_from_db()
    assert queued.status == Status.SAVING  # still recent: perhaps a slow upload in progress

    Image.objects.filter(pk=queued.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    call_command("recover_uploads", "--older-than-minutes", "60")
    queued.refresh_from_db()
    assert (queued.status, queued.upload_reserved) == (Status.QUEUED, 0)
    assert store.keys() == []


# Deactivation by the owner project (Glance's rule: owner members and platform admins)


def test_the_owner_projects_member_deactivates_and_reactivates_from_the_detail_page(client_alice, uploaded):
    image = uploaded()
    detail = f"/project/images/{image.pk}/"
    page = client_alice.get(detail).content
    assert b">Deactivate</button>" in page and b"download>Download</a>" in page

    client_alice.post(f"/project/images/{image.pk}/activation/", {"action": "deactivate"})
    image.refresh_from_db()
    assert image.status == Status.DEACTIVATED
    page = client_alice.get(detail).content.decode()
    assert ">Reactivate</button>" in page and "until you reactivate it" in page

    client_alice.post(f"/project/images/{image.pk}/activation/", {"action": "reactivate"})
    image.refresh_from_db()
    assert image.status == Status.ACTIVE


def test_readers_and_other_projects_neither_see_nor_use_deactivate(erin, client_bob, uploaded):
    image = uploaded(visibility=Visibility.PUBLIC)
    for client in (_client(erin), client_bob):
        assert b">Deactivate</button>" not in client.get(f"/project/images/{image.pk}/").content
        refused = client.post(f"/project/images/{image.pk}/activation/", {"action": "deactivate"})
        assert refused.status_code == 403
    image.refresh_from_db()
    assert image.status == Status.ACTIVE


def test_a_reader_is_offered_no_download_and_refused_one(erin, uploaded):
    image = uploaded()
    reader = _client(erin)

    assert b"download>Download</a>" not in reader.get(f"/project/images/{image.pk}/").content
    refused = reader.get(file_url(image))
    assert refused.status_code == 403 and "reader" in refused.content.decode()


# Unsafe disk images (oslo.utils' format inspector, as in Glance)


@pytest.mark.parametrize(
    "unsafe, reason",
    [
        (disk_images.qcow2(backing_file="/etc/passwd"), "names a backing file"),
        (disk_images.qcow2(data_file="/etc/passwd"), "names an external data file"),
        (disk_images.qcow2(backing_file="base.qcow2", data_file="/dev/sda"), "backing file"),
        (disk_images.qcow2(total=300), "not a complete qcow2 image"),
    ],
)
def test_an_unsafe_qcow2_is_refused_and_nothing_is_stored(client_alice, make_image, fs_store, unsafe, reason):
    image = make_image("unsafe", status=Status.QUEUED, disk_format="qcow2", container_format="bare")

    response = put(client_alice, image, unsafe)

    assert response.status_code == 400 and reason in response.json()["error"]
    image.refresh_from_db()
    assert image.status == Status.QUEUED and image.size is None and image.checksum == ""
    assert fs_store.keys() == []


def test_a_vmdk_whose_extent_is_a_host_file_is_refused(client_alice, make_image, fs_store):
    image = make_image("unsafe", status=Status.QUEUED, disk_format="vmdk", container_format="bare")

    response = put(client_alice, image, disk_images.vmdk(extent="/etc/passwd"))

    assert response.status_code == 400 and "Invalid extent filenames found" in response.json()["error"]
    image.refresh_from_db()
    assert image.status == Status.QUEUED and fs_store.keys() == []


def test_a_vmdk_goes_active_with_its_virtual_size(client_alice, make_image, fs_store):
    image = make_image("disk", status=Status.QUEUED, disk_format="vmdk", container_format="bare")

    assert put(client_alice, image, disk_images.vmdk(capacity=2 * 1024**3)).status_code == 200
    image.refresh_from_db()
    assert image.status == Status.ACTIVE and image.virtual_size == 2 * 1024**3


def test_an_unsafe_qcow2_declared_raw_is_still_refused(client_alice, queued, fs_store):
    response = put(client_alice, queued, disk_images.qcow2(backing_file="/etc/passwd"))

    assert response.status_code == 400 and "is a qcow2 image" in response.json()["error"]


def test_a_raw_upload_has_its_size_as_virtual_size(client_alice, queued, fs_store):
    assert put(client_alice, queued, os.urandom(12_345)).status_code == 200
    queued.refresh_from_db()
    assert queued.size == queued.virtual_size == 12_345

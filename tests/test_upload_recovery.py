"""Interrupted uploads: an upload that stops making progress is recovered within minutes (by the
next upload in its project or by the recover_uploads command), one still receiving data never
is, and a recovered upload's writer cannot finish over a later upload."""

import hashlib
import os
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from dashboard.identity import scopes_for
from images import quotas, services, stores
from images.models import Image, Status

KiB = 1024
MiB = 1024 * KiB


@pytest.fixture
def scope(alice, platform):
    return scopes_for(alice, platform.pk)


@pytest.fixture
def queued(make_image):
    return make_image("fresh", status=Status.QUEUED, disk_format="raw", container_format="bare")


@pytest.fixture(autouse=True)
def stale_after_five_minutes(settings):
    settings.IMAGE_UPLOAD_STALE_SECONDS = 300
    settings.IMAGE_UPLOAD_PROGRESS_SECONDS = 0  # record progress at every chunk


def crashed_upload(image: Image, data: bytes, *, last_progress: timedelta) -> None:
    """What a server killed mid-upload leaves: the image saving, quota reserved, partial data
    stored, and no writer left to abort."""
    writer = stores.get_store().writer(str(image.pk))
    writer.write(data)
    Image.objects.filter(pk=image.pk).update(
        status=Status.SAVING,
        upload_reserved=len(data),
        upload_token=uuid.uuid4(),
        upload_progress_at=timezone.now() - last_progress,
    )


def stall(image: Image, *, for_: timedelta) -> None:
    """As if the upload's last bytes arrived that long ago."""
    Image.objects.filter(pk=image.pk).update(upload_progress_at=timezone.now() - for_)


def assert_queued_and_empty(image: Image, store) -> None:
    image.refresh_from_db()
    assert (image.status, image.size, image.upload_reserved, image.upload_token) == (
        Status.QUEUED,
        None,
        0,
        None,
    )
    assert str(image.pk) not in "".join(store.keys())


def test_an_upload_without_progress_for_the_stale_time_is_recovered_by_the_command(queued, store, capsys):
    crashed_upload(queued, os.urandom(9 * MiB), last_progress=timedelta(seconds=200))
    call_command("recover_uploads")
    queued.refresh_from_db()
    assert queued.status == Status.SAVING  # 200 s without bytes: perhaps a slow client
    assert store.keys() != []

    stall(queued, for_=timedelta(seconds=400))
    call_command("recover_uploads")
    assert "1 interrupted upload(s) recovered" in capsys.readouterr().out
    assert_queued_and_empty(queued, store)
    assert store.keys() == []


def test_an_upload_still_receiving_data_is_never_recovered(scope, queued, fs_store):
    data = os.urandom(3 * MiB)

    def chunks():
        yield data[:MiB]
        # It started long ago (a big image on a slow link)…
        Image.objects.filter(pk=queued.pk).update(updated_at=timezone.now() - timedelta(hours=1))
        stall(queued, for_=timedelta(hours=1))
        yield data[MiB : 2 * MiB]  # …but bytes keep arriving
        call_command("recover_uploads")
        assert services.uploads_recover(older_than=timedelta(seconds=60)) == []
        yield data[2 * MiB :]

    image = services.image_upload(scope=scope, image=queued, chunks=chunks())
    assert (image.status, image.size, image.checksum) == (
        Status.ACTIVE,
        len(data),
        hashlib.md5(data).hexdigest(),
    )
    assert (image.upload_token, image.upload_progress_at) == (None, None)
    assert b"".join(fs_store.reader(str(queued.pk))) == data


@pytest.mark.parametrize("progress_seconds", [0, 3600], ids=["progress-every-chunk", "progress-rarely"])
def test_a_recovered_uploads_late_writer_cannot_finish_over_a_new_upload(
    scope, queued, fs_store, settings, progress_seconds
):
    settings.IMAGE_UPLOAD_PROGRESS_SECONDS = progress_seconds
    first, second = os.urandom(2 * MiB), os.urandom(MiB + 1)

    def stalled_then_resumed():
        yield first[:MiB]
        stall(queued, for_=timedelta(minutes=10))  # the client went quiet…
        assert [i.pk for i in services.uploads_recover()] == [queued.pk]
        # …the user retried, and that upload finished…
        services.image_upload(scope=scope, image=Image.objects.get(pk=queued.pk), chunks=[second])
        yield first[MiB:]  # …then the first client woke up.

    with pytest.raises(services.Conflict, match="cancelled"):
        services.image_upload(scope=scope, image=queued, chunks=stalled_then_resumed())
    queued.refresh_from_db()
    assert (queued.status, queued.size, queued.checksum) == (
        Status.ACTIVE,
        len(second),
        hashlib.md5(second).hexdigest(),
    )
    assert fs_store.keys() == [str(queued.pk)]
    assert b"".join(fs_store.reader(str(queued.pk))) == second


def test_the_next_upload_in_the_project_recovers_its_interrupted_uploads_and_their_quota(
    client_alice, queued, make_image, fs_store, settings, platform
):
    settings.IMAGE_QUOTA_SIZE_TOTAL = 10 * KiB
    interrupted = make_image("interrupted", status=Status.QUEUED, disk_format="raw", container_format="bare")
    crashed_upload(interrupted, os.urandom(8 * KiB), last_progress=timedelta(seconds=30))

    def put(data):
        url = f"/project/images/{queued.pk}/file/"
        return client_alice.put(url, data, content_type="application/octet-stream")

    data = os.urandom(5 * KiB)
    refused = put(data)  # the other upload may still be running: its reservation holds
    assert refused.status_code == 413
    stall(interrupted, for_=timedelta(minutes=6))
    assert put(data).status_code == 200
    queued.refresh_from_db()
    assert queued.status == Status.ACTIVE
    assert_queued_and_empty(interrupted, fs_store)
    assert quotas.usage_of(platform.pk)[quotas.SIZE_TOTAL] == len(data)
    assert fs_store.keys() == [str(queued.pk)]


def test_an_interrupted_upload_can_be_retried_on_the_same_image_once_stale(client_alice, queued, fs_store):
    crashed_upload(queued, os.urandom(4 * KiB), last_progress=timedelta(seconds=10))
    url = f"/project/images/{queued.pk}/file/"
    busy = client_alice.put(url, b"retry", content_type="application/octet-stream")
    assert busy.status_code == 409 and "in progress" in busy.json()["error"]

    stall(queued, for_=timedelta(minutes=6))
    retried = client_alice.put(url, b"retry", content_type="application/octet-stream")
    assert retried.status_code == 200, retried.content
    queued.refresh_from_db()
    assert (queued.status, queued.size) == (Status.ACTIVE, 5)
    assert b"".join(fs_store.reader(str(queued.pk))) == b"retry"


def test_an_upload_in_another_project_does_not_recover_this_ones(
    client_bob, queued, make_image, app_team, fs_store
):
    crashed_upload(queued, os.urandom(4 * KiB), last_progress=timedelta(hours=1))
    theirs = make_image(
        "theirs", owner=app_team, status=Status.QUEUED, disk_format="raw", container_format="bare"
    )
    url = f"/project/images/{theirs.pk}/file/"
    assert client_bob.put(url, b"data", content_type="application/octet-stream").status_code == 200
    queued.refresh_from_db()
    assert queued.status == Status.SAVING  # left for its own project's next upload or the command


def test_deleting_an_interrupted_upload_removes_its_partial_data(
    scope, queued, store, django_capture_on_commit_callbacks
):
    crashed_upload(queued, os.urandom(9 * MiB), last_progress=timedelta(seconds=5))
    assert store.keys() != []
    with django_capture_on_commit_callbacks(execute=True):
        services.image_delete(scope=scope, image=queued)
    assert not Image.objects.filter(pk=queued.pk).exists()
    assert store.keys() == []


def test_deleting_an_image_while_its_data_streams_stops_the_upload_and_leaves_nothing(
    scope, queued, fs_store, django_capture_on_commit_callbacks, platform
):
    def chunks():
        yield os.urandom(MiB)
        with django_capture_on_commit_callbacks(execute=True):
            services.image_delete(scope=scope, image=Image.objects.get(pk=queued.pk))
        yield os.urandom(MiB)

    with pytest.raises(services.Conflict, match="cancelled"):
        services.image_upload(scope=scope, image=queued, chunks=chunks())
    assert fs_store.keys() == []
    assert quotas.usage_of(platform.pk)[quotas.SIZE_TOTAL] == 0


def test_a_store_that_cannot_clean_up_leaves_the_upload_for_the_next_run(queued, fs_store, settings):
    crashed_upload(queued, os.urandom(KiB), last_progress=timedelta(hours=1))
    settings.IMAGE_STORE = "s3"
    settings.IMAGE_STORE_S3_ACCESS_KEY_ID = settings.IMAGE_STORE_S3_SECRET_ACCESS_KEY = "unused"
    settings.IMAGE_STORE_S3_ENDPOINT_URL = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(services.StoreFailed):
        services.uploads_recover()
    queued.refresh_from_db()
    assert (queued.status, queued.upload_reserved) == (Status.SAVING, KiB)


@pytest.mark.parametrize("progress_seconds", [0, 3600], ids=["progress-every-chunk", "progress-rarely"])
def test_a_recovered_uploads_late_writer_cannot_take_over_the_upload_now_streaming(
    scope, queued, fs_store, settings, progress_seconds
):
    from images.services.data import _upload_start

    settings.IMAGE_UPLOAD_PROGRESS_SECONDS = progress_seconds
    data = os.urandom(2 * MiB)

    def stalled_then_resumed():
        yield data[:MiB]
        stall(queued, for_=timedelta(minutes=10))
        services.uploads_recover()
        # A retry has started and is streaming (saving, its own reservation) when the first
        # client wakes up.
        _upload_start(image=queued, declared_length=5 * MiB, disk_format=None, container_format=None)
        yield data[MiB:]

    with pytest.raises(services.Conflict, match="cancelled"):
        services.image_upload(scope=scope, image=queued, chunks=stalled_then_resumed())
    queued.refresh_from_db()
    assert (queued.status, queued.size, queued.upload_reserved) == (Status.SAVING, None, 5 * MiB)
    assert not fs_store.exists(str(queued.pk))

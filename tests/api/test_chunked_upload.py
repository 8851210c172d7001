"""Uploads with Transfer-Encoding: chunked (no Content-Length), as `glance image-create --file`,
`glance image-upload` and `openstack image create` with data on stdin send them: raw HTTP
against the development server (live_server, which leaves the chunked framing to the
application) and against gunicorn with the production configuration (which decodes it itself)."""

import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.test import Client

from images import quotas
from images.models import Image, Status

from .conftest import issue, token_over_http

pytestmark = pytest.mark.usefixtures("transactional_db")

ROOT = Path(__file__).resolve().parent.parent.parent
KiB = 1024


def framed(*chunks: bytes, extension: bytes = b"", trailers: bytes = b"") -> bytes:
    body = b"".join(b"%x%s\r\n%s\r\n" % (len(c), extension, c) for c in chunks if c)
    return body + b"0\r\n" + trailers + b"\r\n"


def send(base_url: str, token: str, image_id: str, raw_body: bytes, *, stop: bool = False):
    """PUT the image's file with a body already framed as chunked; (status, JSON or None).
    stop: the client then stops sending (half-closes the connection) and waits for the answer."""
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        connection.putrequest("PUT", f"/image/v2/images/{image_id}/file")
        for name, value in {
            "X-Auth-Token": token,
            "Content-Type": "application/octet-stream",
            "Transfer-Encoding": "chunked",
            "Accept": "application/json",
        }.items():
            connection.putheader(name, value)
        connection.endheaders()
        try:
            connection.send(raw_body)
            if stop:
                connection.sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early and closed: its answer is still there to read
        response = connection.getresponse()
        body = response.read()
        return response.status, (json.loads(body) if body else None)
    finally:
        connection.close()


def send_chunks(base_url: str, token: str, image_id: str, chunks) -> int:
    """http.client's own chunked encoding (an iterable body without a length), as clients send it."""
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        connection.request(
            "PUT",
            f"/image/v2/images/{image_id}/file",
            body=iter(chunks),
            headers={"X-Auth-Token": token, "Content-Type": "application/octet-stream"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@pytest.fixture
def token(alice, platform):
    response = issue(Client(), alice.username, platform.name)
    assert response.status_code == 201, response.content
    return response["X-Subject-Token"]


@pytest.fixture
def queued(make_image):
    return make_image("chunked", status=Status.QUEUED, disk_format="raw", container_format="bare")


def assert_active_with(image: Image, data: bytes) -> None:
    image.refresh_from_db()
    assert (image.status, image.size) == (Status.ACTIVE, len(data))
    assert image.checksum == hashlib.md5(data).hexdigest()
    assert (image.os_hash_algo, image.os_hash_value) == ("sha512", hashlib.sha512(data).hexdigest())


@pytest.mark.parametrize(
    "pieces",
    [[], [b"x"], [os.urandom(n) for n in (1, 7, 4096, 65_536, 3, 1_000_003, 17)]],
    ids=["empty", "one-byte", "many-chunks"],
)
def test_a_chunked_upload_stores_exactly_the_data(live_server, token, queued, fs_store, pieces):
    status, _ = send(live_server.url, token, queued.pk, framed(*pieces))
    assert status == 204
    data = b"".join(pieces)
    assert_active_with(queued, data)
    assert b"".join(fs_store.reader(str(queued.pk))) == data


def test_chunk_extensions_and_trailers_are_accepted_and_ignored(live_server, token, queued, fs_store):
    data = os.urandom(100 * KiB)
    body = framed(
        data[:10],
        data[10:],
        extension=b' ; name="value";flag',
        trailers=b"X-Checksum: whatever\r\nX-Other: 1\r\n",
    )
    status, _ = send(live_server.url, token, queued.pk, body)
    assert status == 204
    assert_active_with(queued, data)


def test_http_clients_own_chunked_encoding_uploads(live_server, token, queued, fs_store):
    data = os.urandom(3 * 1024 * KiB + 5)
    pieces = [data[i : i + 64 * KiB] for i in range(0, len(data), 64 * KiB)]
    assert send_chunks(live_server.url, token, queued.pk, pieces) == 204
    assert_active_with(queued, data)


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\nab\r\n0\r\n\r\n",  # not hexadecimal
        b"-2\r\nab\r\n0\r\n\r\n",  # negative
        b"\r\nab\r\n0\r\n\r\n",  # no size at all
        b"0x2\r\nab\r\n0\r\n\r\n",  # a prefix
        b"1" * 17 + b"\r\nab\r\n0\r\n\r\n",  # a size of more than 64 bits
        b"2\nab\r\n0\r\n\r\n",  # a bare LF
        b"2\r\nabc\r\n0\r\n\r\n",  # longer than its size
        b"2\r\nab\r\n0\r\nno colon here\r\n\r\n",  # a malformed trailer
        b"2" + b";x" * 3000 + b"\r\nab\r\n0\r\n\r\n",  # an endless size line
    ],
    ids=["hex", "negative", "empty", "prefix", "huge", "bare-lf", "overlong", "trailer", "long-line"],
)
def test_malformed_chunked_framing_is_a_400_and_the_image_stays_queued(
    live_server, token, queued, fs_store, body
):
    status, answer = send(live_server.url, token, queued.pk, body)
    assert status == 400, answer
    assert "chunk" in answer["message"]
    queued.refresh_from_db()
    assert (queued.status, queued.size, queued.upload_reserved) == (Status.QUEUED, None, 0)
    assert fs_store.keys() == []


@pytest.mark.parametrize(
    "body",
    [b"10\r\nonly-part", b"4\r\nabcd\r\n", b"4\r\nabcd", b"4"],
    ids=["mid-chunk", "no-last-chunk", "no-crlf", "mid-size"],
)
def test_a_client_that_stops_sending_leaves_the_image_queued(live_server, token, queued, fs_store, body):
    status, answer = send(live_server.url, token, queued.pk, body, stop=True)
    assert status == 400, answer
    assert "interrupted" in answer["message"]
    queued.refresh_from_db()
    assert (queued.status, queued.upload_reserved) == (Status.QUEUED, 0)
    assert fs_store.keys() == []


def test_a_chunked_upload_over_the_storage_quota_is_refused_as_the_bytes_arrive(
    live_server, token, queued, make_image, fs_store, settings, platform
):
    settings.IMAGE_QUOTA_SIZE_TOTAL = 300 * KiB
    make_image("stored", size=100 * KiB)
    before = quotas.usage_of(platform.pk)[quotas.SIZE_TOTAL]
    data = os.urandom(250 * KiB)
    status, answer = send(
        live_server.url, token, queued.pk, framed(*[data[i : i + KiB] for i in range(0, len(data), KiB)])
    )
    assert status == 413, answer
    assert "quota" in answer["message"].lower()
    queued.refresh_from_db()
    assert (queued.status, queued.size, queued.upload_reserved) == (Status.QUEUED, None, 0)
    assert quotas.usage_of(platform.pk)[quotas.SIZE_TOTAL] == before
    assert fs_store.keys() == []  # the partial data is gone

    # Exactly the remaining quota fits.
    data = os.urandom(200 * KiB)
    status, _ = send(live_server.url, token, queued.pk, framed(data[:KiB], data[KiB:]))
    assert status == 204
    assert_active_with(queued, data)


def test_a_chunked_upload_past_the_size_limit_is_a_413(live_server, token, queued, fs_store, settings):
    settings.IMAGE_UPLOAD_MAX_SIZE = 10 * KiB
    status, answer = send(live_server.url, token, queued.pk, framed(os.urandom(6 * KiB), os.urandom(6 * KiB)))
    assert status == 413, answer
    queued.refresh_from_db()
    assert (queued.status, queued.upload_reserved) == (Status.QUEUED, 0)
    assert fs_store.keys() == []


def test_an_active_image_refuses_a_chunked_upload_with_409(live_server, token, make_image, fs_store):
    active = make_image("done", status=Status.ACTIVE, size=3)
    status, answer = send(live_server.url, token, active.pk, framed(b"abc"))
    assert status == 409, answer
    assert "already has its data" in answer["message"]


def test_openstack_image_create_reads_the_data_piped_on_stdin(openstack, alice, platform, tmp_path, settings):
    data = os.urandom(1_500_000)
    source = tmp_path / "disk.raw"
    source.write_bytes(data)
    created = json.loads(
        openstack(
            alice,
            platform,
            "image",
            "create",
            "--disk-format",
            "raw",
            "--container-format",
            "bare",
            "piped",
            "-f",
            "json",
            stdin=source,
        )
    )
    assert (created["status"], created["size"]) == ("active", len(data))
    assert created["checksum"] == hashlib.md5(data).hexdigest()
    assert_active_with(Image.objects.get(pk=created["id"]), data)


# gunicorn, as in production


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path):
    """gunicorn with gunicorn.conf.py and production settings on a file SQLite database, its
    schema migrated; yields (base URL, database path, store directory, environment)."""
    database = tmp_path / "db.sqlite3"
    store = tmp_path / "store"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_", "DATABASE_"))}
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="a-production-like-secret-key-of-more-than-fifty-characters-0123456789",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DATABASE_URL=f"sqlite:///{database}",
        IMAGE_STORE_DIR=str(store),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        GUNICORN_THREADS="2",
        DJANGO_LOG_LEVEL="WARNING",
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "createcachetable"], cwd=ROOT, env=env, check=True)
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "dashboard.wsgi"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            assert process.poll() is None, log.read_text()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail(f"gunicorn did not start:\n{log.read_text()}")
        yield base, database, store, env
    finally:
        process.terminate()
        process.wait(timeout=20)


SETUP = """
import json
from django.contrib.auth import get_user_model
from dashboard.models import Project, Role, RoleAssignment
from images.models import Image, Status
project = Project.objects.create(name="platform")
user = get_user_model().objects.create_user(username="alice", password="pw-for-gunicorn-0123")
RoleAssignment.objects.create(user=user, project=project, role=Role.MEMBER)
image = Image.objects.create(name="chunked", owner=project, status=Status.QUEUED, disk_format="raw",
                             container_format="bare")
print(json.dumps({"image": str(image.pk)}))
"""

SHOW = """
from images.models import Image
image = Image.objects.get()
print(image.status, image.size, image.checksum, image.os_hash_value)
"""


def test_a_chunked_upload_works_under_gunicorn(gunicorn):
    base, _database, store, env = gunicorn

    def manage_shell(code: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip().splitlines()[-1]

    image_id = json.loads(manage_shell(SETUP))["image"]
    connection = http.client.HTTPConnection("127.0.0.1", urlsplit(base).port, timeout=30)
    token = token_over_http(connection, "alice", "platform", "pw-for-gunicorn-0123")
    connection.close()

    data = os.urandom(2 * 1024 * KiB + 3)
    pieces = [data[i : i + 100 * KiB] for i in range(0, len(data), 100 * KiB)]
    status, answer = send(base, token, image_id, framed(*pieces, extension=b";x=1", trailers=b"X-T: 1\r\n"))
    assert status == 204, answer
    assert manage_shell(SHOW).split() == [
        "active",
        str(len(data)),
        hashlib.md5(data).hexdigest(),
        hashlib.sha512(data).hexdigest(),
    ]
    assert (store / image_id).read_bytes() == data


def test_an_image_with_data_is_a_409_before_the_body_is_looked_at(token, make_image):
    active = make_image("done", status=Status.ACTIVE, size=3)
    response = Client().generic(
        "PUT",
        f"/image/v2/images/{active.pk}/file",
        b"",
        content_type="text/plain",  # neither the media type nor a length is checked first
        headers={"X-Auth-Token": token},
        CONTENT_LENGTH="",
    )
    assert response.status_code == 409, response.content


def test_a_declared_length_past_the_size_limit_is_a_413_up_front(token, queued, settings, fs_store):
    settings.IMAGE_UPLOAD_MAX_SIZE = 10 * KiB
    response = Client().generic(
        "PUT",
        f"/image/v2/images/{queued.pk}/file",
        os.urandom(10 * KiB + 1),
        content_type="application/octet-stream",
        headers={"X-Auth-Token": token},
    )
    assert response.status_code == 413, response.content
    queued.refresh_from_db()
    assert queued.status == Status.QUEUED
    assert fs_store.keys() == []

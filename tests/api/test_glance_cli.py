"""The real `glance` client (python-glanceclient) against this server.

glanceclient sends no Accept header, so it reads errors as the HTML page Glance sends by
default; uploads without a known length (a file, or data piped on stdin) go chunked. Each call
starts a Python process (a few seconds), so the commands are grouped into a few journeys.
"""

import os
import re

import pytest

from images.models import Image, MemberStatus, Status, Visibility
from tests import disk_images

pytestmark = pytest.mark.usefixtures("transactional_db")


def field(output: str, name: str) -> str:
    """A value from glanceclient's property table."""
    match = re.search(rf"^\|\s*{name}\s*\|\s*(.*?)\s*\|$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def test_the_owner_uploads_downloads_and_deactivates_with_glance(glance, alice, platform, tmp_path):
    raw = tmp_path / "disk.raw"
    raw.write_bytes(os.urandom(300_000))
    base = ("--disk-format", "raw", "--container-format", "bare")

    # image-create --file: created and uploaded (chunked) in one command.
    created = glance(alice, platform, "image-create", "--name", "from-file", *base, "--file", str(raw))
    assert (field(created, "status"), field(created, "size")) == ("active", "300000")
    assert field(created, "virtual_size") == "300000"
    from_file = field(created, "id")

    # image-create with the data piped on a non-terminal stdin (a qcow2: its virtual size is read).
    qcow2 = tmp_path / "disk.qcow2"
    qcow2.write_bytes(disk_images.qcow2(virtual_size=3 * 1024**3))
    piped = glance(
        alice, platform, "image-create", "--name", "piped", "--disk-format", "qcow2",
        "--container-format", "bare", stdin=qcow2,
    )  # fmt: skip
    assert (field(piped, "status"), field(piped, "virtual_size")) == ("active", str(3 * 1024**3))

    # image-create without data, then image-upload.
    queued = field(glance(alice, platform, "image-create", "--name", "later", *base), "id")
    glance(alice, platform, "image-upload", "--file", str(raw), queued)
    assert Image.objects.get(pk=queued).status == Status.ACTIVE

    # image-download: the same bytes back.
    glance(alice, platform, "image-download", "--file", str(tmp_path / "back.raw"), from_file)
    assert (tmp_path / "back.raw").read_bytes() == raw.read_bytes()

    # The owner project's member deactivates and reactivates its image, as in Glance.
    glance(alice, platform, "image-deactivate", from_file)
    assert Image.objects.get(pk=from_file).status == Status.DEACTIVATED
    glance(alice, platform, "image-reactivate", from_file)
    assert Image.objects.get(pk=from_file).status == Status.ACTIVE

    # Errors print the server's message: 409 (data cannot be replaced) and 404.
    again = glance(alice, platform, "image-upload", "--file", str(raw), from_file, check=False)
    assert again.returncode != 0 and "409 Conflict" in again.stderr
    assert "already has its data (active); image data cannot be replaced" in again.stderr
    missing = glance(alice, platform, "image-show", "00000000-0000-4000-8000-000000000000", check=False)
    assert missing.returncode != 0
    assert (
        "HTTP 404 Not Found: No image found with ID 00000000-0000-4000-8000-000000000000." in missing.stderr
    )


def test_an_unsafe_qcow2_is_refused_with_the_reason_and_stays_queued(glance, alice, platform, tmp_path):
    unsafe = tmp_path / "unsafe.qcow2"
    unsafe.write_bytes(disk_images.qcow2(backing_file="/etc/passwd"))

    refused = glance(
        alice, platform, "image-create", "--name", "unsafe", "--disk-format", "qcow2",
        "--container-format", "bare", "--file", str(unsafe), check=False,
    )  # fmt: skip

    assert refused.returncode != 0 and "400 Bad Request" in refused.stderr
    assert "names a backing file" in refused.stderr
    image = Image.objects.get(name="unsafe")
    assert image.status == Status.QUEUED and image.size is None


def test_glance_prints_the_refusals_of_other_projects_and_readers(
    glance, alice, bob, erin, platform, app_team, make_image, tmp_path
):
    image = make_image("golden", visibility=Visibility.SHARED, members={app_team: MemberStatus.ACCEPTED})

    not_owner = glance(bob, app_team, "image-deactivate", str(image.pk), check=False)
    assert not_owner.returncode != 0 and "403 Forbidden" in not_owner.stderr
    assert (
        "Only the owner project (platform) or a platform admin can deactivate this image." in not_owner.stderr
    )

    reader = glance(erin, platform, "image-deactivate", str(image.pk), check=False)
    assert reader.returncode != 0
    assert "Your role on this project is reader: you can look, but not deactivate images." in reader.stderr

    download = glance(
        erin, platform, "image-download", "--file", str(tmp_path / "x"), str(image.pk), check=False
    )
    assert download.returncode != 0 and "403 Forbidden" in download.stderr
    assert "you can look at images, but not download them" in download.stderr
    image.refresh_from_db()
    assert image.status == Status.ACTIVE

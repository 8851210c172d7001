"""The real `openstack` client (python-openstackclient) against this server, as the guide uses it.

Each test starts the server (pytest-django's live_server) and runs `openstack` as a subprocess
with password authentication, the way a user with this server's auth URL does. Every call costs
about a second of Python start-up, so the commands are grouped into a few journeys.
"""

import json
import os

import pytest
from django.urls import reverse

from images.models import ImageMember, MemberStatus, Visibility

pytestmark = pytest.mark.usefixtures("transactional_db")


def listed(output: str) -> list[str]:
    return sorted(row["Name"] for row in json.loads(output))


def test_the_guides_commands_work_as_written(openstack, alice, bob, platform, app_team, client_bob, tmp_path):
    # The target project's owner finds its ID as the guide says.
    target_id = openstack(bob, app_team, "project", "show", "app-team", "-c", "id", "-f", "value").strip()
    assert target_id == app_team.pk

    # The platform team uploads an image: private by default, and the data comes back intact.
    data = tmp_path / "ubuntu.raw"
    data.write_bytes(os.urandom(200_000))
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
            "--file",
            str(data),
            "ubuntu-24.04-lts",
            "-f",
            "json",
        )
    )
    assert (created["visibility"], created["status"], created["size"]) == ("private", "active", 200_000)
    openstack(alice, platform, "image", "save", "--file", str(tmp_path / "back.raw"), "ubuntu-24.04-lts")
    assert (tmp_path / "back.raw").read_bytes() == data.read_bytes()

    # Share it with app-team: pending until app-team accepts.
    openstack(alice, platform, "image", "set", "--shared", "ubuntu-24.04-lts")
    member = json.loads(
        openstack(alice, platform, "image", "add", "project", "ubuntu-24.04-lts", target_id, "-f", "json")
    )
    assert (member["member_id"], member["status"]) == (target_id, "pending")
    members = json.loads(
        openstack(alice, platform, "image", "member", "list", "ubuntu-24.04-lts", "-f", "json")
    )
    assert [(m["Member ID"], m["Status"]) for m in members] == [(target_id, "pending")]
    pending = openstack(
        bob, app_team, "image", "list", "--shared", "--member-status", "pending", "-f", "json"
    )
    assert listed(pending) == ["ubuntu-24.04-lts"]
    refused = openstack(
        bob, app_team, "image", "save", "--file", str(tmp_path / "no.raw"), created["id"], check=False
    )
    assert refused.returncode != 0

    # Bob accepts in the browser; the image is in his catalog, from the CLI too.
    client_bob.post(reverse("images:share-respond", args=[created["id"]]), {"status": "accepted"})
    assert "ubuntu-24.04-lts" in listed(openstack(bob, app_team, "image", "list", "-f", "json"))

    # Remove project from image members, as the guide writes it: gone from the target's catalog.
    openstack(alice, platform, "image", "remove", "project", "ubuntu-24.04-lts", target_id)
    assert "ubuntu-24.04-lts" not in listed(openstack(bob, app_team, "image", "list", "-f", "json"))
    assert openstack(bob, app_team, "image", "show", created["id"], check=False).returncode != 0
    assert client_bob.get(reverse("images:detail", args=[created["id"]])).status_code == 404

    # Community images: discoverable on request, never in the default list.
    openstack(alice, platform, "image", "create", "my-app-image")
    openstack(alice, platform, "image", "set", "--community", "my-app-image")
    assert "my-app-image" in listed(openstack(bob, app_team, "image", "list", "--community", "-f", "json"))
    assert "my-app-image" not in listed(openstack(bob, app_team, "image", "list", "-f", "json"))


def test_the_target_answers_shares_and_only_an_admin_makes_images_public(
    openstack, alice, bob, root, carol, platform, app_team, ops, data_team, make_image
):
    image = make_image("golden", visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING})
    share = ImageMember.objects.get(image=image)
    image_id = str(image.pk)

    openstack(bob, app_team, "image", "set", "--reject", image_id)
    share.refresh_from_db()
    assert share.status == MemberStatus.REJECTED
    assert "golden" not in listed(openstack(bob, app_team, "image", "list", "-f", "json"))
    rejected = openstack(
        bob, app_team, "image", "list", "--shared", "--member-status", "rejected", "-f", "json"
    )
    assert listed(rejected) == ["golden"]
    openstack(bob, app_team, "image", "set", "--pending", image_id)
    openstack(bob, app_team, "image", "set", "--accept", "golden")
    share.refresh_from_db()
    assert share.status == MemberStatus.ACCEPTED

    # The owner cannot answer for the target; a member cannot make the image public; the admin can.
    owner_accepts = openstack(
        alice, platform, "image", "set", "--accept", "--project", app_team.pk, "golden", check=False
    )
    assert "target project decides" in owner_accepts.stderr
    member_publishes = openstack(alice, platform, "image", "set", "--public", "golden", check=False)
    assert "Only a platform admin can make an image public" in member_publishes.stderr
    openstack(root, ops, "image", "set", "--public", image_id)
    assert listed(openstack(carol, data_team, "image", "list", "--public", "-f", "json")) == ["golden"]

    # Properties, hidden images, the private list, protection and delete.
    make_image("scratch")
    assert listed(openstack(alice, platform, "image", "list", "--private", "-f", "json")) == ["scratch"]
    openstack(alice, platform, "image", "set", "--property", "os_distro=ubuntu", "--hidden", "golden")
    shown = json.loads(openstack(alice, platform, "image", "show", "golden", "-f", "json"))
    assert shown["properties"]["os_distro"] == "ubuntu"
    assert "golden" not in listed(openstack(alice, platform, "image", "list", "-f", "json"))
    assert "golden" in listed(openstack(alice, platform, "image", "list", "--hidden", "-f", "json"))
    openstack(alice, platform, "image", "set", "--protected", "golden")
    protected = openstack(alice, platform, "image", "delete", "golden", check=False)
    assert "protected and cannot be deleted" in protected.stderr
    openstack(alice, platform, "image", "set", "--unprotected", "golden")
    openstack(alice, platform, "image", "delete", "golden")
    assert not type(image).objects.filter(pk=image.pk).exists()


def test_piped_data_save_and_owner_deactivation_with_openstack(
    openstack, alice, erin, bob, platform, app_team, tmp_path
):
    from images.models import Image, Status
    from tests import disk_images

    # Data piped on a non-terminal stdin (scripts, CI): uploaded chunked, saved back intact.
    data = tmp_path / "piped.raw"
    data.write_bytes(os.urandom(150_000))
    created = json.loads(
        openstack(
            alice, platform, "image", "create", "--disk-format", "raw", "--container-format", "bare",
            "piped", "-f", "json", stdin=data,
        )
    )  # fmt: skip
    assert (created["status"], created["size"], created["virtual_size"]) == ("active", 150_000, 150_000)
    openstack(alice, platform, "image", "save", "--file", str(tmp_path / "back.raw"), "piped")
    assert (tmp_path / "back.raw").read_bytes() == data.read_bytes()

    # The owner project's member deactivates and reactivates, as in Glance.
    openstack(alice, platform, "image", "set", "--deactivate", "piped")
    assert Image.objects.get(pk=created["id"]).status == Status.DEACTIVATED
    openstack(alice, platform, "image", "set", "--activate", "piped")
    assert Image.objects.get(pk=created["id"]).status == Status.ACTIVE

    # A reader of the owner project is refused (403). openstacksdk does not look at the answer to
    # an image action, so the command exits 0 without a message (docs/api.md); the image is unchanged.
    openstack(erin, platform, "image", "set", "--deactivate", created["id"], check=False)
    assert Image.objects.get(pk=created["id"]).status == Status.ACTIVE
    # Nor may a reader download: the SDK writes the error body and then refuses its checksum.
    saved = openstack(
        erin, platform, "image", "save", "--file", str(tmp_path / "no.raw"), created["id"], check=False
    )
    assert saved.returncode != 0 and "checksum" in saved.stderr.lower()

    # Errors print the server's message: an unsafe qcow2 (400).
    unsafe = tmp_path / "unsafe.qcow2"
    unsafe.write_bytes(disk_images.qcow2(data_file="/etc/passwd"))
    refused = openstack(
        alice, platform, "image", "create", "--disk-format", "qcow2", "--container-format", "bare",
        "unsafe", stdin=unsafe, check=False,
    )  # fmt: skip
    assert refused.returncode != 0 and "names an external data file" in refused.stderr
    # openstacksdk deletes the image it created when the upload fails; nothing was stored.
    assert not Image.objects.filter(name="unsafe").exists()

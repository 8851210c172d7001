"""Load the demo world: three projects, five users, images of every visibility. Idempotent."""

import hashlib
import struct
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand

from dashboard.identity import Scope
from dashboard.models import Project, Role, RoleAssignment
from images import services
from images.models import Image, ImageMember, MemberStatus, Status, Visibility

PROJECTS = {
    "platform": "Platform team: maintains the golden images.",
    "app-team": "Application team.",
    "data-team": "Data team.",
}

# user name → (password, [(project, role), ...]); the README lists these.
USERS = {
    "alice": ("alice-demo-pw", [("platform", Role.MEMBER)]),
    "bob": ("bob-demo-pw", [("app-team", Role.MEMBER)]),
    "carol": ("carol-demo-pw", [("data-team", Role.MEMBER)]),
    "dave": ("dave-demo-pw", [("app-team", Role.READER)]),
    "admin": ("admin-demo-pw", [("platform", Role.MEMBER), ("platform", Role.ADMIN)]),
}

GiB = 1024**3
# (owner, name, visibility, extra fields, {member project: status})
IMAGES: list[tuple[str, str, Visibility, dict[str, Any], dict[str, MemberStatus]]] = [
    (
        "platform",
        "golden-ubuntu-24.04",
        Visibility.SHARED,
        {
            "size": 3 * GiB,
            "properties": {"os_distro": "ubuntu", "os_version": "24.04", "architecture": "x86_64"},
        },
        {"app-team": MemberStatus.PENDING},
    ),
    (
        "platform",
        "golden-debian-12",
        Visibility.SHARED,
        {"size": 2 * GiB, "properties": {"os_distro": "debian", "os_version": "12"}},
        {"app-team": MemberStatus.ACCEPTED, "data-team": MemberStatus.ACCEPTED},
    ),
    (
        "platform",
        "golden-rocky-9",
        Visibility.SHARED,
        {"size": 2 * GiB + 512 * 1024**2, "properties": {"os_distro": "rocky", "os_version": "9"}},
        {"data-team": MemberStatus.REJECTED},
    ),
    ("platform", "platform-build-tools", Visibility.PRIVATE, {"size": 800 * 1024**2}, {}),
    ("platform", "legacy-centos-7", Visibility.PRIVATE, {"os_hidden": True, "size": GiB}, {}),
    (
        "platform",
        "ubuntu-24.04-lts",
        Visibility.PUBLIC,
        {"size": 3 * GiB, "protected": True, "properties": {"os_distro": "ubuntu", "os_version": "24.04"}},
        {},
    ),
    ("platform", "cirros-0.6.2", Visibility.PUBLIC, {"size": 21 * 1024**2}, {}),
    ("platform", "alpine-3.20-community", Visibility.COMMUNITY, {"size": 60 * 1024**2}, {}),
    ("app-team", "app-base", Visibility.PRIVATE, {"size": 4 * GiB}, {}),
    ("app-team", "app-runtime-community", Visibility.COMMUNITY, {"size": GiB}, {}),
    ("data-team", "spark-worker", Visibility.SHARED, {"size": 5 * GiB}, {"platform": MemberStatus.PENDING}),
]


def demo_qcow2(name: str, virtual_size: int) -> bytes:
    """A small, valid qcow2 header announcing virtual_size, followed by bytes unique to the image."""
    header = b"QFI\xfb" + struct.pack(">IQIIQ", 3, 0, 0, 16, virtual_size)
    body = hashlib.sha512(name.encode()).digest() * 1024  # 64 KiB
    return header.ljust(512, b"\0") + body


class Command(BaseCommand):
    help = "Create (or complete) the demo projects, users and images. Safe to run again."

    def handle(self, *args, **options):
        # Not one transaction: uploads commit their data step by step, like any upload.
        projects = {}
        for name, description in PROJECTS.items():
            projects[name], _ = Project.objects.get_or_create(
                name=name, defaults={"description": description}
            )
        users: dict[str, User] = {}  # project name → a member who uploads its demo images
        for username, (password, roles) in USERS.items():
            # example.org never receives mail: with the console backend of `make run`, the sharing
            # e-mails show in the terminal.
            user, created = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.org"}
            )
            if created:
                user.set_password(password)
                user.save()
            elif not user.email:
                user.email = f"{username}@example.org"
                user.save(update_fields=["email"])
            for project, role in roles:
                RoleAssignment.objects.get_or_create(user=user, project=projects[project], role=role)
                if role == Role.MEMBER:
                    users.setdefault(project, user)
        for owner, name, visibility, extra, members in IMAGES:
            extra = dict(extra)
            virtual_size = extra.pop("size")
            image, created = Image.objects.get_or_create(
                owner=projects[owner],
                name=name,
                defaults={
                    "visibility": visibility,
                    "status": Status.QUEUED,
                    "disk_format": "qcow2",
                    "container_format": "bare",
                    **extra,
                },
            )
            if created:
                for project, status in members.items():
                    ImageMember.objects.create(image=image, member=projects[project], status=status)
            if image.status == Status.QUEUED:
                # Real (small) data through the real upload path, so Download works in the demo.
                scope = Scope(user=users[owner], project=projects[owner], roles=frozenset({Role.MEMBER}))
                services.image_upload(scope=scope, image=image, chunks=[demo_qcow2(name, virtual_size)])
        self.stdout.write("Demo world ready: " + ", ".join(f"{n} ({p.pk})" for n, p in projects.items()))

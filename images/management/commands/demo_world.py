"""Load the demo world: three projects, five users, images of every visibility. Idempotent."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from dashboard.models import Project, Role, RoleAssignment
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
IMAGES = [
    ("platform", "golden-ubuntu-24.04", Visibility.SHARED,
     {"size": 3 * GiB, "properties": {"os_distro": "ubuntu", "os_version": "24.04", "architecture": "x86_64"}},
     {"app-team": MemberStatus.PENDING}),
    ("platform", "golden-debian-12", Visibility.SHARED,
     {"size": 2 * GiB, "properties": {"os_distro": "debian", "os_version": "12"}},
     {"app-team": MemberStatus.ACCEPTED, "data-team": MemberStatus.ACCEPTED}),
    ("platform", "golden-rocky-9", Visibility.SHARED,
     {"size": 2 * GiB + 512 * 1024**2, "properties": {"os_distro": "rocky", "os_version": "9"}},
     {"data-team": MemberStatus.REJECTED}),
    ("platform", "platform-build-tools", Visibility.PRIVATE, {"size": 800 * 1024**2}, {}),
    ("platform", "legacy-centos-7", Visibility.PRIVATE, {"os_hidden": True, "size": GiB}, {}),
    ("platform", "ubuntu-24.04-lts", Visibility.PUBLIC,
     {"size": 3 * GiB, "protected": True, "properties": {"os_distro": "ubuntu", "os_version": "24.04"}}, {}),
    ("platform", "cirros-0.6.2", Visibility.PUBLIC, {"size": 21 * 1024**2}, {}),
    ("platform", "alpine-3.20-community", Visibility.COMMUNITY, {"size": 60 * 1024**2}, {}),
    ("app-team", "app-base", Visibility.PRIVATE, {"size": 4 * GiB}, {}),
    ("app-team", "app-runtime-community", Visibility.COMMUNITY, {"size": GiB}, {}),
    ("data-team", "spark-worker", Visibility.SHARED, {"size": 5 * GiB}, {"platform": MemberStatus.PENDING}),
]


class Command(BaseCommand):
    help = "Create (or complete) the demo projects, users and images. Safe to run again."

    @transaction.atomic
    def handle(self, *args, **options):
        projects = {}
        for name, description in PROJECTS.items():
            projects[name], _ = Project.objects.get_or_create(
                name=name, defaults={"description": description}
            )
        User = get_user_model()
        for username, (password, roles) in USERS.items():
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                user.save()
            for project, role in roles:
                RoleAssignment.objects.get_or_create(user=user, project=projects[project], role=role)
        for owner, name, visibility, extra, members in IMAGES:
            image, created = Image.objects.get_or_create(
                owner=projects[owner],
                name=name,
                defaults={
                    "visibility": visibility,
                    "status": Status.ACTIVE,
                    "disk_format": "qcow2",
                    "container_format": "bare",
                    **extra,
                },
            )
            if created:
                for project, status in members.items():
                    ImageMember.objects.create(image=image, member=projects[project], status=status)
        self.stdout.write(
            "Demo world ready: " + ", ".join(f"{n} ({p.pk})" for n, p in projects.items())
        )

"""Personas and builders shared by every test.

- owner:    alice, member of `platform`, which owns the images under test
- target:   bob, member of `app-team`, the project images get shared with
- reader:   dave, reader of `app-team`
- outsider: carol, member of `data-team`, never shared with
- admin:    root, platform admin (admin role on the `ops` project, which owns nothing here)
"""

import os
import tempfile

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from dashboard.models import Project, Role, RoleAssignment
from images.models import Image, ImageMember, Status, Visibility

PASSWORD = "correct-horse-battery"

# Fixture modules every test may ask for: the image stores (SeaweedFS for S3) and the real CLI.
pytest_plugins = ["tests.store_fixtures", "tests.openstack_cli"]


def pytest_configure(config):
    from django.conf import settings

    # Hashing the personas' passwords with PBKDF2's 10^6 rounds is most of a test's set-up time;
    # what the tests check about sign-in does not depend on the hasher. Production keeps PBKDF2.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """A test database per run, so two runs on one PostgreSQL server never drop each other's."""
    from django.conf import settings
    from pytest_django.fixtures import _set_suffix_to_test_databases

    _set_suffix_to_test_databases(suffix=f"run{os.getpid()}")
    # SQLite: a file, not Django's shared-cache :memory: database, so tests that race threads get
    # what production gets (WAL, busy timeout, one writer at a time) instead of a deadlock.
    for db in settings.DATABASES.values():
        if db["ENGINE"] == "django.db.backends.sqlite3":
            db.setdefault("TEST", {})["NAME"] = os.path.join(
                tempfile.gettempdir(), f"dashboard-test-{os.getpid()}.sqlite3"
            )


def _user(username: str, *roles: tuple[Project, str]):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    for project, role in roles:
        RoleAssignment.objects.create(user=user, project=project, role=role)
    return user


@pytest.fixture
def platform(db):
    return Project.objects.create(name="platform", description="Golden images")


@pytest.fixture
def app_team(db):
    return Project.objects.create(name="app-team")


@pytest.fixture
def data_team(db):
    return Project.objects.create(name="data-team")


@pytest.fixture
def ops(db):
    return Project.objects.create(name="ops")


@pytest.fixture
def alice(platform):
    return _user("alice", (platform, Role.MEMBER))


@pytest.fixture
def bob(app_team):
    return _user("bob", (app_team, Role.MEMBER))


@pytest.fixture
def dave(app_team):
    return _user("dave", (app_team, Role.READER))


@pytest.fixture
def erin(platform):
    """A reader of the platform project (alice's): looks at its images, changes nothing."""
    return _user("erin", (platform, Role.READER))


@pytest.fixture
def carol(data_team):
    return _user("carol", (data_team, Role.MEMBER))


@pytest.fixture
def root(ops):
    return _user("root", (ops, Role.MEMBER), (ops, Role.ADMIN))


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def client_alice(alice):
    return _client(alice)


@pytest.fixture
def client_bob(bob):
    return _client(bob)


@pytest.fixture
def client_dave(dave):
    return _client(dave)


@pytest.fixture
def client_carol(carol):
    return _client(carol)


@pytest.fixture
def client_root(root):
    return _client(root)


@pytest.fixture
def make_image(platform):
    """Build an image: make_image(name, visibility=…, owner=…, members={project: status}, **fields)."""

    def make(name="golden-ubuntu", *, visibility=Visibility.PRIVATE, owner=None, members=None, **fields):
        fields.setdefault("status", Status.ACTIVE)
        fields.setdefault("disk_format", "qcow2")
        fields.setdefault("container_format", "bare")
        image = Image.objects.create(name=name, owner=owner or platform, visibility=visibility, **fields)
        for project, status in (members or {}).items():
            ImageMember.objects.create(image=image, member=project, status=status)
        return image

    return make

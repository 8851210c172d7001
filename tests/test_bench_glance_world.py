"""bench/glance_world.py: a generated world copied into Glance 33's tables (tests/glance33_schema.sql,
no Glance needed), column for column. PostgreSQL only: the copy is COPY to COPY."""

import io
import json
from datetime import UTC
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from bench import glance_world
from images.models import Image, ImageMember

SCHEMA = (Path(__file__).parent / "glance33_schema.sql").read_text()

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY needs PostgreSQL")


def conninfo(**extra: str) -> str:
    settings = connection.settings_dict
    params = {
        "dbname": settings["NAME"],
        "user": settings["USER"],
        "password": settings["PASSWORD"],
        "host": settings["HOST"],
        "port": str(settings["PORT"] or ""),
        **extra,
    }
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v})


@pytest.fixture
def glance():
    """A connection whose search path is an empty copy of Glance's image tables."""
    with psycopg.connect(conninfo(), autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS glance33 CASCADE")
        conn.execute(SCHEMA)
        try:
            yield conn
        finally:
            conn.execute("DROP SCHEMA glance33 CASCADE")


@pytest.mark.django_db(transaction=True)
def test_the_world_lands_in_glances_tables_column_for_column(glance):
    call_command("generate_world", projects=6, images=120, members=100, seed=5, stdout=io.StringIO())
    images = {str(image.id): image for image in Image.objects.all()}
    members = list(ImageMember.objects.all())
    with psycopg.connect(conninfo(options=glance_world.READ_ONLY)) as source:
        assert not glance_world.holds_world(source, glance)
        counts = glance_world.load(
            source, glance, store="fs", location_prefix="file:///g/", echo=lambda _: None
        )

    with_data = {i for i, image in images.items() if image.status in ("active", "deactivated")}
    assert counts == {
        "images": len(images),
        "image_properties": sum(len(image.properties) for image in images.values()),
        "image_tags": sum(len(image.tags) for image in images.values()),
        "image_locations": len(with_data),
        "image_members": len(members),
    }
    assert 0 < len(with_data) < len(images) and counts["image_properties"] and counts["image_tags"]

    rows = glance.execute(
        "SELECT id, name, visibility::text, status, size, virtual_size, disk_format, container_format,"
        " checksum, os_hash_algo, os_hash_value, min_disk, min_ram, owner, protected, os_hidden,"
        " created_at, updated_at, deleted FROM images"
    ).fetchall()
    for row in rows:
        image = images[row[0]]
        assert row[1:] == (
            image.name or None,
            image.visibility,
            image.status,
            image.size,
            image.virtual_size,
            image.disk_format or None,
            image.container_format or None,
            image.checksum or None,
            image.os_hash_algo or None,
            image.os_hash_value or None,
            image.min_disk,
            image.min_ram,
            image.owner_id,
            image.protected,
            image.os_hidden,
            image.created_at.astimezone(UTC).replace(tzinfo=None),
            image.updated_at.astimezone(UTC).replace(tzinfo=None),
            False,
        )

    properties = glance.execute("SELECT image_id, name, value FROM image_properties").fetchall()
    assert sorted(properties) == sorted(
        (i, key, value) for i, image in images.items() for key, value in image.properties.items()
    )
    tags = glance.execute("SELECT image_id, value FROM image_tags").fetchall()
    assert sorted(tags) == sorted((i, tag) for i, image in images.items() for tag in image.tags)
    locations = glance.execute("SELECT image_id, value, meta_data, status FROM image_locations").fetchall()
    assert {row[0] for row in locations} == with_data
    for image_id, value, meta_data, status in locations:
        assert (value, json.loads(meta_data), status) == (f"file:///g/{image_id}", {"store": "fs"}, "active")
    shares = glance.execute("SELECT image_id, member, status, can_share FROM image_members").fetchall()
    assert sorted(shares) == sorted((str(m.image_id), m.member_id, m.status, False) for m in members)

    # Loading again replaces, never adds.
    with psycopg.connect(conninfo(options=glance_world.READ_ONLY)) as source:
        assert glance_world.load(source, glance, echo=lambda _: None) == counts
        assert glance_world.holds_world(source, glance)
    assert glance.execute("SELECT count(*) FROM images").fetchone() == (len(images),)

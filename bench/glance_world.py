"""Copy the benchmark world into a Glance database, so a real Glance serves the same images.

    python -m bench.glance_world --glance-db postgres://postgres@127.0.0.1:5432/glance
        [--database-url postgres://postgres@127.0.0.1:5432/bench]

The Glance database must already have Glance's schema (`glance-manage db_sync`;
`python -m bench.glance_server` does both). This world's database is only read. Each of Glance's
tables is filled by one `COPY (SELECT …) TO STDOUT` from ours streamed into `COPY … FROM STDIN`:
the mapping is the SELECTs below, column for column as glance/db/sqlalchemy/models.py (Glance 33)
names them:

- images: same IDs, names, visibility, status, sizes, formats, hashes, min disk/RAM, flags;
  owner = the owning project's ID; times in UTC without a zone (Glance's DateTime columns);
- image_properties: one row per key of our `properties`; image_tags: one row per tag;
- image_locations: one `file://` location per image that has data (active or deactivated), in the
  store named `store` (Glance's multi-store metadata), so Glance reads the same rows it would for
  an uploaded image — no file exists behind it, nothing here downloads;
- image_members: member = project ID, same status; `can_share` false (our shares cannot be
  re-shared); a share past its expiry grants nothing here, and Glance has no expiry: left out.

Empty strings (no name, no format, no checksum yet) are Glance's NULLs.

Glance keeps no project table: projects live in Keystone, and Glance stores their IDs only.
"""

import argparse
import os
import time

import psycopg

# This world's database is only read: every transaction on it is read-only.
READ_ONLY = "-c default_transaction_read_only=on"
# Timestamps as Glance stores them: naive UTC.
UTC = "AT TIME ZONE 'UTC'"

# (Glance table, its columns, the SELECT on our tables that yields them, in that order).
TABLES: list[tuple[str, str, str]] = [
    (
        "images",
        "id, name, disk_format, container_format, size, virtual_size, status, visibility, checksum,"
        " os_hash_algo, os_hash_value, min_disk, min_ram, owner, protected, os_hidden,"
        " created_at, updated_at, deleted",
        "SELECT i.id::text, NULLIF(i.name, ''), NULLIF(i.disk_format, ''), NULLIF(i.container_format, ''), i.size, i.virtual_size, i.status,"
        " i.visibility, NULLIF(i.checksum, ''), NULLIF(i.os_hash_algo, ''), NULLIF(i.os_hash_value, ''),"
        f" i.min_disk, i.min_ram, i.owner_id, i.protected, i.os_hidden, i.created_at {UTC},"
        f" i.updated_at {UTC}, false FROM images_image i",
    ),
    (
        "image_properties",
        "image_id, name, value, created_at, updated_at, deleted",
        "SELECT i.id::text, p.key, p.value #>> '{}',"
        f" i.created_at {UTC}, i.updated_at {UTC}, false"
        " FROM images_image i CROSS JOIN LATERAL jsonb_each(i.properties) AS p(key, value)",
    ),
    (
        "image_tags",
        "image_id, value, created_at, updated_at, deleted",
        f"SELECT i.id::text, t.value, i.created_at {UTC}, i.updated_at {UTC}, false"
        " FROM images_image i CROSS JOIN LATERAL jsonb_array_elements_text(i.tags) AS t(value)",
    ),
    (
        "image_locations",
        "image_id, value, meta_data, status, created_at, updated_at, deleted",
        "SELECT i.id::text, %(location_prefix)s::text || i.id::text, json_build_object('store', %(store)s::text)::text,"
        f" 'active', i.created_at {UTC}, i.updated_at {UTC}, false"
        " FROM images_image i WHERE i.status IN ('active', 'deactivated')",
    ),
    (
        "image_members",
        "image_id, member, can_share, status, created_at, updated_at, deleted",
        f"SELECT m.image_id::text, m.member_id, false, m.status, m.created_at {UTC}, m.updated_at {UTC},"
        " false FROM images_imagemember m WHERE m.expires_at IS NULL OR m.expires_at > now()",
    ),
]


def load(
    source: psycopg.Connection,
    glance: psycopg.Connection,
    *,
    store: str = "fs",
    location_prefix: str = "file:///var/lib/glance/images/",
    echo=print,
) -> dict[str, int]:
    """Replace the rows of Glance's image tables with this world's; rows copied per table.

    `source` is only read. On `glance`, everything happens in one transaction (committed at the
    end) and the tables are analyzed, as they would be after a long life.
    """
    params = {"store": store, "location_prefix": location_prefix}
    counts: dict[str, int] = {}
    with glance.transaction():
        names = ", ".join(table for table, _, _ in TABLES)
        glance.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        for table, columns, select in TABLES:
            started = time.perf_counter()
            copied = 0
            with (
                source.cursor().copy(f"COPY ({select}) TO STDOUT", params) as out,
                glance.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as into,
            ):
                for data in out:
                    into.write(data)
                    copied += bytes(data).count(b"\n")
            counts[table] = copied
            echo(f"{table}: {copied:,} rows in {time.perf_counter() - started:.1f} s")
    for table, _, _ in TABLES:
        glance.execute(f"ANALYZE {table}")
    return counts


def holds_world(source: psycopg.Connection, glance: psycopg.Connection) -> bool:
    """Whether each of Glance's tables has as many rows as this world would copy into it."""
    for table, _, select in TABLES:
        with source.cursor() as cur:
            params = {"store": "", "location_prefix": ""}  # no count depends on them
            ours = cur.execute(f"SELECT count(*) FROM ({select}) AS copied", params).fetchone()
        if glance.execute(f"SELECT count(*) FROM {table}").fetchone() != ours:
            return False
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.glance_world", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--glance-db", required=True, help="Glance's database (schema from glance-manage db_sync)"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench"),
        help="this world's database, only read (env DATABASE_URL)",
    )
    parser.add_argument("--store", default="fs", help="Glance's store name for the locations")
    parser.add_argument("--location-prefix", default="file:///var/lib/glance/images/")
    args = parser.parse_args(argv)
    with (
        psycopg.connect(args.database_url, options=READ_ONLY) as source,
        psycopg.connect(args.glance_db, autocommit=True) as glance,
    ):
        load(source, glance, store=args.store, location_prefix=args.location_prefix)


if __name__ == "__main__":
    main()

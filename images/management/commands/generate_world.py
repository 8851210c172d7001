"""Generate a large, deterministic world to measure on: thousands of projects, hundreds of
thousands of images and members, users with roles.

Everything generated is named with the `gen-` prefix, so the demo world is never touched and
`--reset` removes exactly what a previous run made. Rows go in by bulk: PostgreSQL's COPY (psycopg
3's cursor.copy()), elsewhere batched INSERTs. The same seed gives the same world.
"""

import json
import random
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.db.models import ForeignObjectRel

from dashboard.models import Project, Role, RoleAssignment
from images.models import CommunityTrigram, Image, ImageMember, MemberStatus, Status, Visibility

PREFIX = "gen-"
PASSWORD = "gen-world-pw"
# Every timestamp counts back from here, so a seed gives the same world whenever it runs.
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)

VISIBILITIES = [
    (Visibility.PRIVATE, 70),
    (Visibility.SHARED, 20),
    (Visibility.COMMUNITY, 7),
    (Visibility.PUBLIC, 3),
]
MEMBER_STATUSES = [(MemberStatus.ACCEPTED, 60), (MemberStatus.PENDING, 30), (MemberStatus.REJECTED, 10)]
STATUSES = [(Status.ACTIVE, 90), (Status.QUEUED, 6), (Status.DEACTIVATED, 2), (Status.KILLED, 2)]
DISTROS = ["ubuntu", "debian", "rocky", "alma", "fedora", "centos", "alpine", "cirros", "windows", "suse"]
ROLES_OF_IMAGES = ["base", "web", "db", "worker", "gpu", "build", "runtime", "edge", "cache", "ml"]
PROPERTIES = {
    "os_distro": DISTROS,
    "os_version": ["8", "9", "11", "12", "20.04", "22.04", "24.04", "2022"],
    "architecture": ["x86_64", "aarch64"],
    "hw_disk_bus": ["virtio", "scsi"],
    "hw_firmware_type": ["bios", "uefi"],
    "os_admin_user": ["root", "cloud-user", "ubuntu"],
    "hypervisor_type": ["kvm", "qemu"],
}
TAGS = ["golden", "ci", "hardened", "gpu", "lts", "nightly"]
MiB = 1024**2
BATCH = 5000


def _column(field: models.Field | None) -> str:
    """A concrete field's database column."""
    if field is None or field.column is None:
        raise CommandError(f"{field} has no column")
    return field.column


def _choices(rng: random.Random, weighted: Sequence[tuple[str, int]], k: int) -> list[str]:
    values, weights = zip(*weighted, strict=False)
    return rng.choices(values, weights=weights, k=k)


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


class BulkWriter:
    """Rows of one model in bulk: only the given columns vary; every other column takes the
    model field's default, computed once (so fields added later need nothing here)."""

    def __init__(self, model: type[models.Model], columns: list[str]):
        self.model = model
        fields = [f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]
        given = {f.attname: f for f in fields if f.attname in columns or f.name in columns}
        missing = set(columns) - {f.attname for f in given.values()} - {f.name for f in given.values()}
        if missing:
            raise CommandError(f"{model.__name__} has no field {', '.join(sorted(missing))}")
        self.fields = [given[c] if c in given else next(f for f in fields if f.name == c) for c in columns]
        self.fields += [f for f in fields if f not in self.fields]
        self.width = len(columns)
        self.constants = []
        for f in self.fields[self.width :]:
            if not f.has_default() and not f.null and not getattr(f, "auto_now", False):
                raise CommandError(
                    f"{model.__name__}.{f.name} has no default: teach generate_world to fill it."
                )
            value = f.get_default() if f.has_default() else None
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value = EPOCH
            self.constants.append(f.get_db_prep_save(value, connection))
        plain = (models.CharField, models.TextField, models.IntegerField, models.BooleanField)
        self.convert = [
            None if isinstance(f, plain) and not isinstance(f, models.ForeignKey) else f
            for f in self.fields[: self.width]
        ]
        self.table = model._meta.db_table
        self.column_names = [_column(f) for f in self.fields]

    def _prepared(self, row: tuple) -> tuple:
        values = [
            v if f is None else f.get_db_prep_save(v, connection)
            for f, v in zip(self.convert, row, strict=False)
        ]
        return (*values, *self.constants)

    def write(self, rows) -> int:
        quoted = ", ".join(connection.ops.quote_name(c) for c in self.column_names)
        table = connection.ops.quote_name(self.table)
        count = 0
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # The raw psycopg cursor: COPY streams rows without one statement per row.
                with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(self._prepared(row))
                        count += 1
                return count
            placeholders = ", ".join(["%s"] * len(self.column_names))
            sql = f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})"
            batch = []
            for row in rows:
                batch.append(self._prepared(row))
                if len(batch) >= BATCH:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
                count += len(batch)
        return count


class Command(BaseCommand):
    help = "Generate a large deterministic world (gen-* projects, users, images, members) to measure on."

    def add_arguments(self, parser):
        parser.add_argument("--projects", type=int, default=2000)
        parser.add_argument("--images", type=int, default=200_000)
        parser.add_argument("--members", type=int, default=400_000, help="member rows on shared images")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--reset", action="store_true", help="remove a previous generated world first")
        parser.add_argument("--remove", action="store_true", help="only remove the generated world")
        parser.add_argument("--typical", action="store_true", help="only print the typical projects, as JSON")

    def handle(self, *args, **options):
        n_projects, n_images, n_members = options["projects"], options["images"], options["members"]
        if not 2 <= n_projects <= 9999:
            raise CommandError("--projects must be between 2 and 9999.")
        if not 0 <= n_images <= 1_000_000:
            raise CommandError("--images must be between 0 and 1,000,000.")
        if options["typical"]:
            self.stdout.write(json.dumps(typical_projects()))
            return
        started = time.monotonic()
        if options["reset"] or options["remove"]:
            removed = remove_generated_world()
            self.stdout.write(f"Removed the generated world ({removed} rows).")
            if options["remove"]:
                return
        if Project.objects.filter(name__startswith=PREFIX).exists():
            raise CommandError("A generated world exists already: add --reset to replace it.")
        rng = random.Random(options["seed"])
        with transaction.atomic():
            projects = self._projects(rng, n_projects)
            self._users(rng, projects)
            shared = self._images(rng, projects, n_images)
            members = self._members(rng, projects, shared, n_members)
        if connection.vendor == "postgresql":
            # Statistics for the planner, and the visibility map for index-only scans: what
            # autovacuum would do after a while, done now so the first measurements are fair.
            # (VACUUM cannot run inside a transaction, as in a test: ANALYZE then.) The community
            # postings too: the triggers filled them with the images, and without statistics the
            # planner takes the table for empty and sorts every match of a search instead of
            # walking its index (10 ms instead of 0.6 ms for "ubuntu" at 200k).
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
            with connection.cursor() as cursor:
                for model in (Image, ImageMember, CommunityTrigram, Project, RoleAssignment):
                    cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Generated {len(projects)} projects, {n_images} images, {members} members "
            f"in {elapsed:.1f} s (seed {options['seed']})."
        )
        self._report_typical()

    def _projects(self, rng: random.Random, n: int) -> list[str]:
        ids = [f"{rng.getrandbits(128):032x}" for _ in range(n)]
        Project.objects.bulk_create(
            Project(id=pid, name=f"{PREFIX}{i + 1:04d}", description="Generated project.")
            for i, pid in enumerate(ids)
        )
        return ids

    def _users(self, rng: random.Random, projects: list[str]) -> None:
        """A member user per project (gen-0001 for project gen-0001, on that project only, so it
        signs in to it), and a reader user on every fourth project (gen-0004-reader), now and
        then also reader of another project."""
        User = get_user_model()
        encoded = make_password(PASSWORD)  # hashed once: hashing 2,000 times would take minutes
        users, roles = [], []
        for i, pid in enumerate(projects):
            name = f"{PREFIX}{i + 1:04d}"
            users.append((User(username=name, password=encoded), [(pid, Role.MEMBER)]))
            if (i + 1) % 4 == 0:
                users.append((User(username=f"{name}-reader", password=encoded), [(pid, Role.READER)]))
                if rng.random() < 0.5:
                    users[-1][1].append((rng.choice(projects), Role.READER))
        created = User.objects.bulk_create([u for u, _ in users])
        if created and created[0].pk is None:  # a backend that does not return ids
            by_name = dict(User.objects.filter(username__startswith=PREFIX).values_list("username", "pk"))
            for user in created:
                user.pk = by_name[user.username]
        for user, (_, assignments) in zip(created, users, strict=False):
            for pid, role in dict.fromkeys(assignments):
                roles.append(RoleAssignment(user_id=user.pk, project_id=pid, role=role))
        RoleAssignment.objects.bulk_create(roles, ignore_conflicts=True)

    def _images(self, rng: random.Random, projects: list[str], n: int) -> list[tuple[uuid.UUID, str]]:
        """Images with random owners, sizes and properties; returns the shared ones (id, owner)."""
        shared: list[tuple[uuid.UUID, str]] = []
        visibilities = _choices(rng, VISIBILITIES, n)
        statuses = _choices(rng, STATUSES, n)
        prop_keys = list(PROPERTIES)
        three_years = 3 * 365 * 86400
        columns = [
            "id",
            "name",
            "owner_id",
            "visibility",
            "status",
            "disk_format",
            "container_format",
            "size",
            "virtual_size",
            "checksum",
            "os_hash_algo",
            "os_hash_value",
            "min_disk",
            "min_ram",
            "os_hidden",
            "tags",
            "properties",
            "created_at",
            "updated_at",
        ]

        def rows():
            for i in range(n):
                image_id = _uuid(rng)
                owner = rng.choice(projects)
                visibility = visibilities[i]
                if visibility == Visibility.SHARED:
                    shared.append((image_id, owner))
                status = statuses[i]
                has_data = status != Status.QUEUED
                size = int(rng.lognormvariate(6.5, 1.2) * MiB) if has_data else None
                digest = f"{rng.getrandbits(512):0128x}" if has_data else ""
                properties = {
                    key: rng.choice(PROPERTIES[key]) for key in rng.sample(prop_keys, rng.randint(0, 5))
                }
                created = EPOCH - timedelta(seconds=rng.randrange(three_years))
                yield (
                    image_id,
                    f"{rng.choice(DISTROS)}-{rng.choice(ROLES_OF_IMAGES)}-{i:07d}",
                    owner,
                    visibility,
                    status,
                    rng.choice(["qcow2", "qcow2", "raw", "iso", "vmdk"]),
                    "bare",
                    size,
                    size and size * rng.randint(2, 8),
                    digest[:32],
                    "sha512" if has_data else "",
                    digest,
                    rng.choice([0, 0, 10, 20, 40]),
                    rng.choice([0, 0, 512, 1024, 2048]),
                    rng.random() < 0.02,
                    rng.sample(TAGS, rng.randint(0, 2)),
                    properties,
                    created,
                    created + timedelta(seconds=rng.randrange(86400 * 30)),
                )

        written = BulkWriter(Image, columns).write(rows())
        self.stdout.write(f"  images: {written}")
        return shared

    def _members(self, rng: random.Random, projects: list[str], shared: list, n: int) -> int:
        """Member rows spread at random over the shared images (about n / len(shared) each, at
        most 128), each to a project other than the owner, at most once per project."""
        if not shared or n <= 0:
            return 0
        cap = min(128, len(projects) - 1)
        n = min(n, cap * len(shared))
        taken: dict[int, set[str]] = {}
        statuses = _choices(rng, MEMBER_STATUSES, n)
        three_months = 90 * 86400

        def rows():
            made = 0
            while made < n:
                k = rng.randrange(len(shared))
                image_id, owner = shared[k]
                members = taken.setdefault(k, {owner})
                if len(members) > cap:
                    continue
                project = rng.choice(projects)
                if project in members:
                    continue
                members.add(project)
                created = EPOCH - timedelta(seconds=rng.randrange(three_months))
                yield image_id, project, statuses[made], created, created
                made += 1

        columns = ["image_id", "member_id", "status", "created_at", "updated_at"]
        written = BulkWriter(ImageMember, columns).write(rows())
        self.stdout.write(f"  members: {written}")
        return written

    def _report_typical(self) -> None:
        for line in typical_report():
            self.stdout.write(line)


def typical_projects() -> dict:
    """The projects to measure as: `browser`, the project whose own + shared-with-it image count
    is the median (it sees those plus every public image), and `owner`, the owner of the shared
    image whose member count is closest to 20. Each with its member user and that image."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.id, p.name,
                   (SELECT count(*) FROM images_image i WHERE i.owner_id = p.id) AS owned,
                   (SELECT count(*) FROM images_imagemember m JOIN images_image i ON i.id = m.image_id
                     WHERE m.member_id = p.id AND i.visibility = 'shared'
                       AND m.status IN ('accepted', 'pending')) AS shares
            FROM dashboard_project p WHERE p.name LIKE %s ORDER BY p.name
            """,
            [PREFIX + "%"],
        )
        rows = cursor.fetchall()
        if not rows:
            raise CommandError("No generated world: run generate_world first.")
        rows.sort(key=lambda r: (r[2] + r[3], r[1]))
        browser = rows[len(rows) // 2]
        cursor.execute(
            """
            SELECT m.image_id, i.owner_id, count(*) AS n FROM images_imagemember m
            JOIN images_image i ON i.id = m.image_id
            JOIN dashboard_project p ON p.id = i.owner_id
            WHERE i.visibility = 'shared' AND p.name LIKE %s
            GROUP BY m.image_id, i.owner_id ORDER BY abs(count(*) - 20), m.image_id LIMIT 1
            """,
            [PREFIX + "%"],
        )
        found = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM images_image WHERE visibility = 'public' AND NOT os_hidden")
        public = cursor.fetchone()[0]
        cursor.execute(
            "SELECT m.image_id FROM images_imagemember m JOIN images_image i ON i.id = m.image_id"
            " WHERE m.member_id = %s AND m.status = 'accepted' AND i.visibility = 'shared'"
            " ORDER BY m.image_id LIMIT 1",
            [browser[0]],
        )
        shared_with_browser = cursor.fetchone()
    owner = Project.objects.get(pk=found[1]) if found else None
    return {
        "browser": {
            "project_id": browser[0],
            "project": browser[1],
            "user": browser[1],
            "password": PASSWORD,
            "owned": browser[2],
            "shares": browser[3],
            "public": public,
            "image_id": str(uuid.UUID(str(shared_with_browser[0]))) if shared_with_browser else None,
        },
        "owner": owner
        and {
            "project_id": owner.pk,
            "project": owner.name,
            "user": owner.name,
            "password": PASSWORD,
            "image_id": str(uuid.UUID(str(found[0]))),
            "members": found[2],
        },
    }


def typical_report() -> list[str]:
    typical = typical_projects()
    b, o = typical["browser"], typical["owner"]
    lines = [
        f"Typical projects (password for every gen-* user: {PASSWORD}):",
        f"  browser: project {b['project']} ({b['project_id']}), user {b['user']}: owns {b['owned']}, "
        f"{b['shares']} accepted or pending shares, plus {b['public']} public images in its catalog",
    ]
    if o:
        lines.append(
            f"  owner:   project {o['project']} ({o['project_id']}), user {o['user']}: "
            f"image {o['image_id']} has {o['members']} members"
        )
    return lines


def remove_generated_world() -> int:
    """Delete every gen-* project, its images and users, and whatever refers to them, in a few
    set-wise statements (the ORM's delete would load the rows into Python first)."""
    User = get_user_model()
    quote = connection.ops.quote_name
    projects = f"SELECT id FROM {quote(Project._meta.db_table)} WHERE name LIKE %s"
    images = f"SELECT id FROM {quote(Image._meta.db_table)} WHERE owner_id IN ({projects})"
    users = f"SELECT {quote(_column(User._meta.pk))} FROM {quote(User._meta.db_table)} WHERE username LIKE %s"
    pattern = PREFIX + "%"
    removed = 0
    with transaction.atomic(), connection.cursor() as cursor:

        def delete_referring(model: type[models.Model], subquery: str, skip: tuple = ()) -> None:
            nonlocal removed
            relations = [
                f
                for f in model._meta.get_fields(include_hidden=True)
                if isinstance(f, ForeignObjectRel)
                and (f.one_to_many or f.one_to_one)
                # Tables the database keeps (community postings: PostgreSQL only) go by its triggers.
                and f.related_model._meta.managed
            ]
            for relation in relations:
                if relation.related_model in skip:
                    continue
                table = quote(relation.related_model._meta.db_table)
                cursor.execute(
                    f"DELETE FROM {table} WHERE {quote(_column(relation.field))} IN ({subquery})", [pattern]
                )
                removed += cursor.rowcount

        delete_referring(Image, images)
        cursor.execute(f"DELETE FROM {quote(Image._meta.db_table)} WHERE owner_id IN ({projects})", [pattern])
        removed += cursor.rowcount
        delete_referring(Project, projects, skip=(Image,))
        delete_referring(User, users)
        for model, subquery in ((Project, projects), (User, users)):
            column = quote(_column(model._meta.pk))
            cursor.execute(
                f"DELETE FROM {quote(model._meta.db_table)} WHERE {column} IN ({subquery})", [pattern]
            )
            removed += cursor.rowcount
    return removed

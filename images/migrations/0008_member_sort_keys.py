"""The image's sort keys on each of its member rows, kept equal by triggers, with an index each.

A project's shares are a few hundred to a few thousand member rows. To list them sorted by the
image's name (or newest first), PostgreSQL had to read every one, fetch its image and sort them,
for a page of 25: a cost that grows with the project's shares, which grow with the world. With the
sort key on the member row, `(member, image_name, image)` and `(member, image_created_at, image)`
give a project's shares in list order, and the read stops after one page.

The copies are kept by the database, not the application, so that no write path can forget them:
a member row takes its image's name and creation time when it is inserted (or moved to another
image), and a change of an image's name updates its member rows. The same triggers on SQLite
(note: when a later migration makes SQLite rebuild images_image or images_imagemember, it drops
their triggers; tests/test_list_parts.py checks that renaming an image reorders the shares).
"""

from django.db import migrations, models

POSTGRESQL_FORWARDS = [
    """
    CREATE FUNCTION images_member_take_sort_keys() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        SELECT name, created_at INTO NEW.image_name, NEW.image_created_at
        FROM images_image WHERE id = NEW.image_id;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER images_member_take_sort_keys
    BEFORE INSERT OR UPDATE OF image_id ON images_imagemember
    FOR EACH ROW EXECUTE FUNCTION images_member_take_sort_keys()
    """,
    """
    CREATE FUNCTION images_image_give_sort_keys() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE images_imagemember SET image_name = NEW.name, image_created_at = NEW.created_at
        WHERE image_id = NEW.id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER images_image_give_sort_keys
    AFTER UPDATE OF name, created_at ON images_image
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION images_image_give_sort_keys()
    """,
    """
    UPDATE images_imagemember AS m SET image_name = i.name, image_created_at = i.created_at
    FROM images_image AS i WHERE i.id = m.image_id
    """,
]
POSTGRESQL_BACKWARDS = [
    "DROP TRIGGER IF EXISTS images_image_give_sort_keys ON images_image",
    "DROP FUNCTION IF EXISTS images_image_give_sort_keys()",
    "DROP TRIGGER IF EXISTS images_member_take_sort_keys ON images_imagemember",
    "DROP FUNCTION IF EXISTS images_member_take_sort_keys()",
]

_TAKE = """
    UPDATE images_imagemember
    SET image_name = (SELECT name FROM images_image WHERE images_image.id = NEW.image_id),
        image_created_at = (SELECT created_at FROM images_image WHERE images_image.id = NEW.image_id)
    WHERE id = NEW.id;
"""
SQLITE_FORWARDS = [
    f"CREATE TRIGGER images_member_take_sort_keys AFTER INSERT ON images_imagemember BEGIN {_TAKE} END",
    "CREATE TRIGGER images_member_move_sort_keys AFTER UPDATE OF image_id ON images_imagemember"
    f" BEGIN {_TAKE} END",
    """
    CREATE TRIGGER images_image_give_sort_keys AFTER UPDATE OF name, created_at ON images_image
    WHEN OLD.name IS NOT NEW.name OR OLD.created_at IS NOT NEW.created_at
    BEGIN
        UPDATE images_imagemember SET image_name = NEW.name, image_created_at = NEW.created_at
        WHERE image_id = NEW.id;
    END
    """,
    """
    UPDATE images_imagemember
    SET image_name = (SELECT name FROM images_image WHERE images_image.id = images_imagemember.image_id),
        image_created_at = (
            SELECT created_at FROM images_image WHERE images_image.id = images_imagemember.image_id
        )
    """,
]
SQLITE_BACKWARDS = [
    "DROP TRIGGER IF EXISTS images_image_give_sort_keys",
    "DROP TRIGGER IF EXISTS images_member_move_sort_keys",
    "DROP TRIGGER IF EXISTS images_member_take_sort_keys",
]


class SortKeyTriggers(migrations.RunSQL):
    """The triggers and the backfill, in each vendor's dialect (PostgreSQL, SQLite)."""

    def __init__(self) -> None:
        super().__init__(sql=[], reverse_sql=[])

    def _run(self, schema_editor, statements: list[str]) -> None:
        for statement in statements:
            schema_editor.execute(statement, params=None)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        vendor = schema_editor.connection.vendor
        self._run(schema_editor, {"postgresql": POSTGRESQL_FORWARDS, "sqlite": SQLITE_FORWARDS}[vendor])

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        vendor = schema_editor.connection.vendor
        self._run(schema_editor, {"postgresql": POSTGRESQL_BACKWARDS, "sqlite": SQLITE_BACKWARDS}[vendor])


class Migration(migrations.Migration):
    dependencies = [
        ("images", "0007_community_trgm"),
    ]

    operations = [
        migrations.AddField(
            model_name="imagemember",
            name="image_created_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="imagemember",
            name="image_name",
            field=models.CharField(blank=True, default="", editable=False, max_length=255),
        ),
        SortKeyTriggers(),
        migrations.AddIndex(
            model_name="imagemember",
            index=models.Index(fields=["member", "image_name", "image"], name="member_image_name"),
        ),
        migrations.AddIndex(
            model_name="imagemember",
            index=models.Index(fields=["member", "image_created_at", "image"], name="member_image_created"),
        ),
    ]

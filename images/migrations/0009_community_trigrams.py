"""Postings of community names' trigrams (PostgreSQL only), kept by triggers, for community search.

The trigram index of 0007 finds every community image whose name contains the term, and they are
then sorted: for a common term ("ubuntu") that is every match of the world, thousands at a million
images. A posting table lists, for each trigram, the community images whose name has it, in name
order (its primary key, a btree): a search walks one of its term's trigrams there, checks each image
against the whole condition (name ILIKE the term among it) and stops when its page is full.

A trigram is 3 consecutive characters inside one alphanumeric run of UPPER(name), the string the
search's ILIKE compares (not pg_trgm's padded word trigrams): if a name matches a term, each such
trigram of the term is one of the name's (listing.term_trigrams takes only ASCII ones, whose case
mapping Python and PostgreSQL agree on). The rows are kept by the database, so that no write path
can forget them: an image's postings are rewritten when it is inserted and when its name or
visibility changes, exist only while it is a community image, and go with it (a delete trigger,
and a truncate trigger: a foreign key would make PostgreSQL refuse `TRUNCATE images_image`, which
Django's flush runs without CASCADE and without this table, Django not managing it).
"""

from django.db import migrations, models

FORWARDS = [
    """
    CREATE TABLE images_communitytrigram (
        trigram text NOT NULL,
        name varchar(255) NOT NULL,
        image_id uuid NOT NULL,
        PRIMARY KEY (trigram, name, image_id)
    )
    """,
    "CREATE INDEX images_communitytrigram_image ON images_communitytrigram (image_id)",
    """
    CREATE FUNCTION images_name_trigrams(name text) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT DISTINCT substr(run, i, 3)
        FROM regexp_split_to_table(upper(name), '[^[:alnum:]]+') AS run,
             generate_series(1, length(run) - 2) AS i
    $$
    """,
    """
    CREATE FUNCTION images_image_post_trigrams() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            DELETE FROM images_communitytrigram WHERE image_id = OLD.id;
        END IF;
        IF NEW.visibility = 'community' THEN
            INSERT INTO images_communitytrigram (trigram, name, image_id)
            SELECT t, NEW.name, NEW.id FROM images_name_trigrams(NEW.name) AS t;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER images_image_post_trigrams_insert
    AFTER INSERT ON images_image
    FOR EACH ROW WHEN (NEW.visibility = 'community')
    EXECUTE FUNCTION images_image_post_trigrams()
    """,
    """
    CREATE TRIGGER images_image_post_trigrams_update
    AFTER UPDATE OF name, visibility ON images_image
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.visibility IS DISTINCT FROM NEW.visibility)
    EXECUTE FUNCTION images_image_post_trigrams()
    """,
    """
    CREATE FUNCTION images_image_drop_trigrams() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            TRUNCATE images_communitytrigram;
        ELSE
            DELETE FROM images_communitytrigram WHERE image_id = OLD.id;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER images_image_drop_trigrams
    AFTER DELETE ON images_image
    FOR EACH ROW WHEN (OLD.visibility = 'community')
    EXECUTE FUNCTION images_image_drop_trigrams()
    """,
    """
    CREATE TRIGGER images_image_truncate_trigrams
    AFTER TRUNCATE ON images_image
    FOR EACH STATEMENT EXECUTE FUNCTION images_image_drop_trigrams()
    """,
    """
    INSERT INTO images_communitytrigram (trigram, name, image_id)
    SELECT t, i.name, i.id FROM images_image AS i, images_name_trigrams(i.name) AS t
    WHERE i.visibility = 'community'
    """,
    # Vacuumed (outside a transaction: the migration is not atomic) so that the postings are
    # read by index-only scans, which the planner prefers to a bitmap scan and a sort.
    "VACUUM ANALYZE images_communitytrigram",
]
BACKWARDS = [
    "DROP TRIGGER IF EXISTS images_image_truncate_trigrams ON images_image",
    "DROP TRIGGER IF EXISTS images_image_drop_trigrams ON images_image",
    "DROP FUNCTION IF EXISTS images_image_drop_trigrams()",
    "DROP TRIGGER IF EXISTS images_image_post_trigrams_update ON images_image",
    "DROP TRIGGER IF EXISTS images_image_post_trigrams_insert ON images_image",
    "DROP FUNCTION IF EXISTS images_image_post_trigrams()",
    "DROP FUNCTION IF EXISTS images_name_trigrams(text)",
    "DROP TABLE IF EXISTS images_communitytrigram",
]


class PostgreSQLOnly(migrations.RunSQL):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("images", "0008_member_sort_keys")]

    operations = [
        migrations.CreateModel(
            name="CommunityTrigram",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "trigram",
                        "name",
                        "image",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("trigram", models.TextField()),
                ("name", models.CharField(max_length=255)),
                (
                    "image",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=models.deletion.DO_NOTHING,
                        related_name="community_trigrams",
                        to="images.image",
                    ),
                ),
            ],
            options={"db_table": "images_communitytrigram", "managed": False},
        ),
        PostgreSQLOnly(sql=FORWARDS, reverse_sql=BACKWARDS),
    ]

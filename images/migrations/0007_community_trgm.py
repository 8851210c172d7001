"""A trigram index on the names of listed community images, for community search on PostgreSQL.

Community images are listed only when a project searches them (substring match on the name). The
index holds only community images that are not hidden (the rows that search can return), so it is
small and its statistics are the community's own; listing.paginate(match_first=True) makes the
search read it. A no-op elsewhere (SQLite has no pg_trgm).
"""

from django.db import migrations


class PostgreSQLOnly(migrations.RunSQL):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("images", "0006_outbox")]

    operations = [
        PostgreSQLOnly(
            sql=[
                "CREATE EXTENSION IF NOT EXISTS pg_trgm",
                "CREATE INDEX IF NOT EXISTS image_community_name_trgm ON images_image"
                " USING gin (UPPER(name) gin_trgm_ops) WHERE visibility = 'community' AND NOT os_hidden",
            ],
            reverse_sql=["DROP INDEX IF EXISTS image_community_name_trgm"],
        )
    ]

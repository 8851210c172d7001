"""Covering indexes for what every page counts: the quota meters (a project's images by status,
with their sizes) and the pending badge (a project's live pending shares on images still shared),
read from the indexes alone on PostgreSQL instead of a table read per row."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0003_login_failures"),
        ("images", "0009_community_trigrams"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="imagemember",
            name="member_project_status",
        ),
        migrations.AddIndex(
            model_name="image",
            index=models.Index(
                fields=["owner", "status"], include=("size", "upload_reserved"), name="image_owner_usage"
            ),
        ),
        migrations.AddIndex(
            model_name="image",
            index=models.Index(fields=["id"], include=("visibility",), name="image_visibility_by_id"),
        ),
        migrations.AddIndex(
            model_name="imagemember",
            index=models.Index(
                fields=["member", "status", "image"], include=("expires_at",), name="member_project_status"
            ),
        ),
    ]

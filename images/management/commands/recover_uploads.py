"""Put back to queued the uploads that stopped making progress; run it from a timer or cron."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand

from images import services


class Command(BaseCommand):
    help = (
        "Reset images stuck in 'saving' (their upload stopped: server or client died), release "
        "their quota and discard their partial data. Uploads still receiving data are left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-minutes",
            type=int,
            default=None,
            help="Only uploads without progress for this long "
            f"(default: IMAGE_UPLOAD_STALE_SECONDS, {settings.IMAGE_UPLOAD_STALE_SECONDS} s).",
        )

    def handle(self, *args, older_than_minutes: int | None, **options):
        older_than = None if older_than_minutes is None else timedelta(minutes=older_than_minutes)
        recovered = services.uploads_recover(older_than=older_than)
        for image in recovered:
            self.stdout.write(f"queued again: {image.pk} {image.display_name}")
        self.stdout.write(f"{len(recovered)} interrupted upload(s) recovered")

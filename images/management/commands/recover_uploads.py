"""Put back to queued the uploads a crashed server left `saving`; suitable for cron."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from images import services


class Command(BaseCommand):
    help = "Reset images stuck in 'saving' (their server died mid-upload) and discard their partial data."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-minutes",
            type=int,
            default=24 * 60,
            help="Only images whose upload has not progressed for this long (default: a day).",
        )

    def handle(self, *args, older_than_minutes: int, **options):
        recovered = services.uploads_recover(older_than=timedelta(minutes=older_than_minutes))
        for image in recovered:
            self.stdout.write(f"queued again: {image.pk} {image.display_name}")
        self.stdout.write(f"{len(recovered)} interrupted upload(s) recovered")

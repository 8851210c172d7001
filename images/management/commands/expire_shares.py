"""Remove image shares whose expiry has passed (suitable for cron, e.g. every 10 minutes).

Expired shares grant nothing even before this runs (images.access); this clears them away, records
each in the activity trail and so tells both projects in their notifications (and, through the
outbox that `send_outbox` sends, by e-mail).
"""

from django.core.management.base import BaseCommand

from images import services


class Command(BaseCommand):
    help = "Remove expired image shares, recording and announcing each."

    def handle(self, *args, **options) -> None:
        count = services.shares_expire()
        self.stdout.write(f"Removed {count} expired share{'s' if count != 1 else ''}.")

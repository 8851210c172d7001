"""Send the e-mail waiting in the outbox: one pass (cron), or --loop (a worker beside the server)."""

import logging
import time

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from images.notify import outbox_send

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Send the queued sharing e-mails; failures are tried again on a later pass."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep sending until stopped.")
        parser.add_argument(
            "--interval", type=float, default=5, help="Seconds between passes with --loop (default 5)."
        )

    def handle(self, *args, loop: bool, interval: float, **options) -> None:
        if not loop:
            result = outbox_send()
            self.stdout.write(f"Sent {result.sent}, failed {result.failed}.")
            return
        try:
            while True:
                close_old_connections()
                try:
                    result = outbox_send()
                except DatabaseError:  # the database restarting must not end the worker
                    log.exception("Could not read the outbox; trying again")
                else:
                    if result.sent or result.failed:
                        self.stdout.write(f"Sent {result.sent}, failed {result.failed}.")
                time.sleep(interval)
        except KeyboardInterrupt:
            return

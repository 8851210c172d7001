"""E-mail to the users of a project a sharing event concerns (its notifications, by mail).

announce() writes the messages to the outbox table in the transaction that records the event, so a
change and its mail are committed together or not at all, and nothing is lost when a process
stops. `manage.py send_outbox` sends them with Django's mail framework (the console backend by
default, SMTP by settings: EMAIL_BACKEND, EMAIL_HOST…), retrying a failure with a doubling delay
up to OUTBOX_MAX_ATTEMPTS times; SHARING_EMAILS=false turns the mail off.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db.models import F
from django.utils import timezone

from .access import notice_recipients
from .models import OutboxMessage, ShareEvent

log = logging.getLogger(__name__)

# A sender's claim on a message while it sends it: another sender leaves it alone this long.
CLAIM = timedelta(minutes=5)
# Sent messages are kept this long (to see what went out), then deleted.
KEEP_SENT = timedelta(days=7)


def sentence(event: ShareEvent, project_id: str) -> str:
    """The event in words, for the project it is sent to."""
    image, owner = event.image_display_name, event.owner.name
    target = event.target.name if event.target else ""
    if project_id == event.target_id:
        return {
            "shared": f"{owner} shared the image {image} with {target}. Accept or reject it on the dashboard.",
            "removed": f"{owner} removed the image {image} from {target}'s shares: it has left its catalog.",
            "deleted": f"The image {image}, shared with {target} by {owner}, was deleted.",
            "expired": f"{target}'s share of the image {image} from {owner} expired.",
        }[event.kind]
    return {
        "accepted": f"{target} accepted the image {image}.",
        "rejected": f"{target} rejected the image {image}.",
        "pending": f"{target} set the image {image} back to pending.",
        "expired": f"{target}'s share of the image {image} expired.",
    }[event.kind]


def announce(event: ShareEvent) -> None:
    """Queue mail to the users of the projects the event concerns, in the caller's transaction."""
    if not settings.SHARING_EMAILS or not notice_recipients(event):
        return
    messages = []
    for project_id in notice_recipients(event):
        users = get_user_model().objects.filter(role_assignments__project_id=project_id, is_active=True)
        emails = sorted(set(users.exclude(email="").values_list("email", flat=True)))
        if emails:
            text = sentence(event, project_id)
            subject = " ".join(f"[Cloud dashboard] {text}".split())[:200]  # a header: one line
            messages.append(OutboxMessage(subject=subject, body=text, recipients=emails))
    OutboxMessage.objects.bulk_create(messages)


@dataclass(frozen=True)
class Sent:
    sent: int
    failed: int


def outbox_send(*, batch: int = 100) -> Sent:
    """Send the due messages of the outbox, oldest first; a failure is tried again later.

    A message is claimed (its next attempt moved past the send) before it is sent, so two senders
    never send it both; a sender that dies mid-send leaves it to be tried again after the claim.
    """
    now = timezone.now()
    due = list(
        OutboxMessage.objects.filter(
            sent_at__isnull=True, next_attempt_at__lte=now, attempts__lt=settings.OUTBOX_MAX_ATTEMPTS
        )
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:batch]
    )
    sent = failed = 0
    connection = get_connection(fail_silently=False)
    for message_id in due:
        claimed = OutboxMessage.objects.filter(
            pk=message_id, sent_at__isnull=True, next_attempt_at__lte=now
        ).update(next_attempt_at=now + CLAIM)
        if not claimed:
            continue  # another sender has it
        message = OutboxMessage.objects.get(pk=message_id)
        try:
            EmailMessage(
                subject=message.subject, body=message.body, bcc=message.recipients, connection=connection
            ).send()
        except Exception as e:  # noqa: BLE001 - any failure of the mail server: try again later
            log.warning("Could not send outbox message %s: %s", message_id, e)
            attempts = message.attempts + 1
            delay = timedelta(seconds=settings.OUTBOX_RETRY_SECONDS * 2 ** min(attempts - 1, 16))
            OutboxMessage.objects.filter(pk=message_id).update(
                attempts=attempts,
                last_error=f"{type(e).__name__}: {e}"[:2000],
                next_attempt_at=timezone.now() + delay,
            )
            if attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                log.error("Gave up on outbox message %s after %s attempts", message_id, attempts)
            failed += 1
        else:
            OutboxMessage.objects.filter(pk=message_id).update(
                sent_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
            )
            sent += 1
    OutboxMessage.objects.filter(sent_at__lt=now - KEEP_SENT).delete()
    return Sent(sent=sent, failed=failed)

"""E-mail to the users of a project a sharing event concerns (its notifications, by mail).

The message is composed when the transaction commits (transaction.on_commit: a rolled-back change
mails nobody) and sent from a background thread, so a slow mail server never holds up the
request. Django's mail framework sends it: the console backend by default, SMTP by settings
(EMAIL_BACKEND, EMAIL_HOST…); SHARING_EMAILS=false turns it off.
"""

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction

from .access import notice_recipients
from .models import ShareEvent

log = logging.getLogger(__name__)
_sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sharing-mail")
_sent: list[Future] = []


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
    """Mail the users of the projects the event concerns, once the transaction commits."""
    if not settings.SHARING_EMAILS or not notice_recipients(event):
        return
    transaction.on_commit(lambda: _compose_and_send(event))


def _compose_and_send(event: ShareEvent) -> None:
    messages = []
    for project_id in notice_recipients(event):
        users = get_user_model().objects.filter(role_assignments__project_id=project_id, is_active=True)
        emails = sorted(set(users.exclude(email="").values_list("email", flat=True)))
        if emails:
            text = sentence(event, project_id)
            subject = " ".join(f"[Cloud dashboard] {text}".split())[:200]  # a header: one line
            messages.append(EmailMessage(subject=subject, body=text, bcc=emails))
    if messages:
        _sent.append(_sender.submit(_send, messages))


def _send(messages: list[EmailMessage]) -> None:
    for message in messages:
        try:
            message.send()
        except Exception:  # a mail server's failure must not go unnoticed, nor break anything else
            log.exception("Could not send a sharing notification")


def wait_for_sending(timeout: float = 10) -> None:
    """Block until the mail queued so far is sent (tests, and the expire_shares command)."""
    while _sent:
        _sent.pop(0).result(timeout=timeout)

"""Sharing e-mail: queued in the outbox with the change (images.notify), sent by `send_outbox`."""

import socket
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from dashboard.identity import scopes_for
from images import services
from images.models import OutboxMessage, Visibility

SHARED_SUBJECT = "[Cloud dashboard] platform shared the image golden-ubuntu with app-team. Accept or reject it on the dashboard."


@pytest.fixture
def golden(make_image):
    return make_image("golden-ubuntu", visibility=Visibility.SHARED)


@pytest.fixture
def with_emails(alice, bob, dave, carol):
    for user in (alice, bob, dave, carol):
        user.email = f"{user.username}@example.org"
        user.save()


def _share(alice, golden, app_team) -> None:
    services.image_share(scope=scopes_for(alice, None), image=golden, project_id=app_team.pk)


def _send() -> str:
    out = StringIO()
    call_command("send_outbox", stdout=out)
    return out.getvalue().strip()


def test_a_share_queues_its_email_and_the_sender_sends_it_once(
    alice, with_emails, golden, app_team, mailoutbox
):
    _share(alice, golden, app_team)

    queued = OutboxMessage.objects.get()
    assert (queued.subject, queued.recipients, queued.sent_at) == (
        SHARED_SUBJECT,
        ["bob@example.org", "dave@example.org"],
        None,
    )
    assert mailoutbox == []  # nothing leaves the web request

    assert _send() == "Sent 1, failed 0."
    assert [(m.subject, sorted(m.bcc), m.to) for m in mailoutbox] == [
        (SHARED_SUBJECT, ["bob@example.org", "dave@example.org"], [])
    ]
    queued.refresh_from_db()
    assert queued.sent_at is not None and queued.attempts == 1

    assert _send() == "Sent 0, failed 0."
    assert len(mailoutbox) == 1


def test_a_rolled_back_change_queues_no_email(alice, with_emails, golden, app_team):
    with pytest.raises(RuntimeError), transaction.atomic():
        _share(alice, golden, app_team)
        assert OutboxMessage.objects.count() == 1  # written in the change's own transaction
        raise RuntimeError("the request failed after the share")

    assert OutboxMessage.objects.count() == 0
    assert golden.members.count() == 0


def test_the_owner_gets_an_email_when_the_target_answers(
    bob, alice, with_emails, golden, app_team, mailoutbox
):
    _share(alice, golden, app_team)
    services.member_reject(scope=scopes_for(bob, None), image=golden)
    _send()

    assert [(m.bcc, m.body) for m in mailoutbox][1:] == [
        (["alice@example.org"], "app-team rejected the image golden-ubuntu.")
    ]


def test_no_email_when_turned_off_or_without_addresses(alice, bob, dave, golden, app_team, settings):
    _share(alice, golden, app_team)  # bob and dave have no address
    assert OutboxMessage.objects.count() == 0

    get_user_model().objects.update(email="x@example.org")
    settings.SHARING_EMAILS = False
    services.member_remove(scope=scopes_for(alice, None), image=golden, project_id=app_team.pk)
    assert OutboxMessage.objects.count() == 0


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on: an SMTP server that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _make_due() -> None:
    """What waiting out the retry delay does, without waiting."""
    OutboxMessage.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_a_message_the_mail_server_refuses_is_retried_later_up_to_the_limit(
    alice, with_emails, golden, app_team, settings, closed_port, mailoutbox
):
    _share(alice, golden, app_team)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port, 5
    settings.OUTBOX_MAX_ATTEMPTS = 3

    assert _send() == "Sent 0, failed 1."
    failed = OutboxMessage.objects.get()
    assert (failed.attempts, failed.sent_at) == (1, None)
    assert "ConnectionRefusedError" in failed.last_error
    assert failed.next_attempt_at > timezone.now() + timedelta(seconds=50)  # OUTBOX_RETRY_SECONDS
    assert _send() == "Sent 0, failed 0."  # not due yet

    _make_due()
    assert _send() == "Sent 0, failed 1."
    failed.refresh_from_db()
    second_delay = failed.next_attempt_at - timezone.now()
    assert second_delay > timedelta(seconds=110)  # doubled

    _make_due()
    assert _send() == "Sent 0, failed 1."
    _make_due()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert _send() == "Sent 0, failed 0."  # given up after 3 attempts
    assert mailoutbox == []


def test_a_message_that_failed_is_sent_when_the_server_is_back(
    alice, with_emails, golden, app_team, settings, closed_port, mailoutbox
):
    _share(alice, golden, app_team)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port, 5
    assert _send() == "Sent 0, failed 1."

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _make_due()

    assert _send() == "Sent 1, failed 0."
    assert [m.subject for m in mailoutbox] == [SHARED_SUBJECT]
    message = OutboxMessage.objects.get()
    assert (message.attempts, message.last_error) == (2, "")


def test_a_message_claimed_by_another_sender_is_left_to_it(alice, with_emails, golden, app_team, mailoutbox):
    _share(alice, golden, app_team)
    # Another sender's claim: the message's next attempt moved past its send.
    OutboxMessage.objects.update(next_attempt_at=timezone.now() + timedelta(minutes=5))

    assert _send() == "Sent 0, failed 0."
    assert mailoutbox == []


def test_sent_messages_are_deleted_after_a_week(alice, with_emails, golden, app_team, mailoutbox):
    _share(alice, golden, app_team)
    _send()
    OutboxMessage.objects.update(sent_at=timezone.now() - timedelta(days=8))

    _send()

    assert OutboxMessage.objects.count() == 0


def test_the_demo_users_have_email_addresses(db, isolated_store):
    call_command("demo_world")

    users = get_user_model().objects.filter(username__in=["alice", "bob", "carol", "dave", "admin"])
    assert sorted(users.values_list("email", flat=True)) == [
        f"{name}@example.org" for name in ("admin", "alice", "bob", "carol", "dave")
    ]

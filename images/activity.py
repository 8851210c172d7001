"""Recording the sharing activity trail: called by images.services only, inside the transaction
that makes the change, so an event exists exactly when its change was committed."""

from typing import Any

from django.contrib.auth.models import User

from dashboard.identity import Scope

from . import notify
from .models import EventKind, Image, ImageMember, ShareEvent, Visibility

STATUS_KINDS = {
    "accepted": EventKind.ACCEPTED,
    "rejected": EventKind.REJECTED,
    "pending": EventKind.PENDING,
}


def record(
    *,
    scope: Scope | None,
    kind: str,
    image: Image,
    target_id: str | None = None,
    from_status: str = "",
    to_status: str = "",
    detail: dict[str, Any] | None = None,
) -> ShareEvent:
    user = scope.user if scope is not None and isinstance(scope.user, User) else None
    event = ShareEvent.objects.create(
        kind=kind,
        image_id=image.pk,
        image_name=image.name,
        owner_id=image.owner_id,
        target_id=target_id,
        actor=user,
        actor_name=user.get_username() if user else "",
        from_status=from_status,
        to_status=to_status,
        detail=detail or {},
    )
    notify.announce(event)
    return event


def _member_list(image: Image, exclude: str | None = None) -> list[dict[str, str]]:
    rows = ImageMember.objects.filter(image=image).select_related("member").order_by("member__name")
    return [
        {"id": m.member_id, "name": m.member.name, "status": m.status} for m in rows if m.member_id != exclude
    ]


def record_visibility(*, scope: Scope, image: Image, before: str, exclude: str | None = None) -> None:
    """A visibility change, with the members it made dormant (leaving shared) or restored
    (returning to shared); exclude: a member added by the same change (it was never dormant)."""
    after = image.visibility
    if before == after:
        return
    members = _member_list(image, exclude=exclude)
    effect = ""
    if members and before == Visibility.SHARED:
        effect = "dormant"
    elif members and after == Visibility.SHARED:
        effect = "restored"
    record(
        scope=scope,
        kind=EventKind.VISIBILITY,
        image=image,
        from_status=before,
        to_status=after,
        detail={"effect": effect, "members": members if effect else []},
    )


def record_deletion(*, scope: Scope, image: Image) -> None:
    """Before an image with members is deleted: one event per member project, so each target
    learns that the image it was offered or used is gone."""
    for member in _member_list(image):
        record(
            scope=scope,
            kind=EventKind.DELETED,
            image=image,
            target_id=member["id"],
            from_status=member["status"],
            detail={"visibility": image.visibility},
        )

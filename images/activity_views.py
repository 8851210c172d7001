"""The sharing activity trail, the notifications inbox and the access explainer: pages over
images.access (who sees which events, why a project can or cannot see an image)."""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, ValidationError
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from dashboard import hostile
from dashboard.decorators import project_required
from dashboard.models import Project, project_id_validator
from dashboard.typing import ScopedRequest

from . import access
from .models import InboxMarker

EVENTS_PAGE_SIZE = 50
BULK_LIMIT = 200


def _page(events, request: ScopedRequest) -> dict:
    """Newest first, EVENTS_PAGE_SIZE at a time; `before` continues after the last id shown."""
    before = request.GET.get("before", "")
    if before:
        number = hostile.whole_number(before)
        if number is None:
            raise BadRequest("This page link is broken: `before` is not an event number.")
        events = events.filter(pk__lt=number)
    rows = list(events[: EVENTS_PAGE_SIZE + 1])
    more = len(rows) > EVENTS_PAGE_SIZE
    rows = rows[:EVENTS_PAGE_SIZE]
    return {"events": rows, "next_before": rows[-1].pk if more else None}


@require_GET
@login_required
@project_required
def project_activity(request: ScopedRequest) -> HttpResponse:
    scope = request.scope
    context = _page(access.project_events(scope), request)
    return render(request, "images/activity.html", {**context, "title": f"Activity of {scope.project.name}"})


@require_GET
@login_required
@project_required
def admin_activity(request: ScopedRequest) -> HttpResponse:
    events = access.all_events(request.scope)
    project = request.GET.get("project", "").strip()
    image = request.GET.get("image", "").strip()
    if project:
        events = events.filter(Q(owner_id=project) | Q(target_id=project))
    if image:
        try:
            events = events.filter(image_id=UUID(image))
        except ValueError:
            events = events.none()
    context = _page(events, request)
    context.update(
        title="All sharing activity",
        admin=True,
        project=project,
        image=image,
        projects=Project.objects.only("id", "name").order_by("name"),
    )
    return render(request, "images/activity.html", context)


@require_GET
@login_required
@project_required
def inbox(request: ScopedRequest) -> HttpResponse:
    scope = request.scope
    context = _page(access.inbox_events(scope), request)
    marker = InboxMarker.objects.filter(project_id=scope.project_id, user=request.user).first()
    context["read_until"] = marker.read_until if marker else None
    context["can_respond"] = access.can_answer_shares(scope)
    context["share_choices"] = [("accepted", "Accept"), ("rejected", "Reject")]
    # Every pending share, for accepting or rejecting several at once (hidden ones included).
    pending = access.listed_images(scope, tab=access.Tab.SHARED, member_status="pending", show_hidden=True)
    context["pending_shares"] = list(pending.order_by("name", "id")[:BULK_LIMIT])
    return render(request, "images/inbox.html", context)


@require_POST
@login_required
@project_required
def inbox_read(request: ScopedRequest) -> HttpResponse:
    """Mark the current project's notifications read, for this user."""
    InboxMarker.objects.update_or_create(
        project_id=request.scope.project_id, user=request.user, defaults={"read_until": timezone.now()}
    )
    messages.success(request, "All notifications marked read.")
    return redirect("images:inbox")


@require_GET
@login_required
@project_required
def image_explain(request: ScopedRequest, image_id: UUID) -> HttpResponse:
    """Why a project can or cannot see and use the image. The owner (and admins) ask about any
    project ID; any other project that can open the image gets its own answer."""
    scope = request.scope
    image = access.get_image_for(scope, image_id)
    may_ask = access.can_see_members(scope, image)
    project_id = request.GET.get("project_id", "").strip().lower() if may_ask else ""
    explanation, error = None, None
    if project_id:
        project = None
        try:
            project_id_validator(project_id)
        except ValidationError:
            error = "That is not a project ID: it has 32 hexadecimal characters."
        else:
            project = Project.objects.filter(pk=project_id).first()
            if project is None:
                error = f"No project has the ID {project_id}."
        if project is not None:
            explanation = access.explain(project, image)
    elif not may_ask:
        explanation = access.explain(scope, image)
    context = {
        "image": image,
        "may_ask": may_ask,
        "project_id": project_id,
        "explanation": explanation,
        "explain_error": error,
    }
    if request.htmx and request.htmx.target == "explain-result":
        return render(request, "images/_explain.html#explain_result", context)
    return render(request, "images/image_explain.html", context)

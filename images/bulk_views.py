"""Several at once: share an image with many projects (pasted IDs, previewed line by line), and
accept or reject many pending shares."""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.decorators import project_required
from dashboard.typing import ScopedRequest

from . import access, quotas, services
from .forms import BulkShareForm
from .models import MemberStatus

MAX_LINES = 200


@require_http_methods(["GET", "POST"])
@login_required
@project_required
def member_add_many(request: ScopedRequest, image_id: UUID) -> HttpResponse:
    """GET: the form; POST action=preview: each line checked; POST action=share: shared."""
    scope = request.scope
    image = access.get_image_for(scope, image_id, write=True)
    form = BulkShareForm(request.POST or None)
    lines, done, status = None, False, 200
    if request.method == "POST":
        if not form.is_valid():
            status = 422
        elif request.POST.get("action") == "share":
            try:
                lines = services.image_share_many(
                    scope=scope,
                    image=image,
                    text=form.cleaned_data["project_ids"],
                    expires_at=form.expires_at(),
                )
            except services.ServiceError as e:
                form.add_error("expires_on" if e.field == "expires_at" else None, str(e))
                status = 422
            else:
                done = True
                shared = sum(1 for line in lines if line.project is not None)
                messages.success(request, f"Shared with {shared} project{'s' if shared != 1 else ''}.")
                image = access.get_image_for(scope, image_id)
        else:
            lines = services.share_lines_preview(
                scope=scope, image=image, text=form.cleaned_data["project_ids"]
            )
    members = image.members.count()
    context = {
        "image": image,
        "form": form,
        "lines": lines,
        "valid": sum(1 for line in lines or () if line.project is not None),
        "done": done,
        "members": members,
        "member_room": quotas.member_room(members),
    }
    return render(request, "images/member_add_many.html", context, status=status)


@require_POST
@login_required
@project_required
def shares_respond(request: ScopedRequest) -> HttpResponse:
    """Accept or reject the chosen pending shares of the current project, all or nothing."""
    scope = request.scope
    status = request.POST.get("status")
    if status not in (MemberStatus.ACCEPTED, MemberStatus.REJECTED):
        return HttpResponse("Choose accepted or rejected.", status=400)
    ids = [value for value in request.POST.getlist("image")[:MAX_LINES] if _is_uuid(value)]
    images = list(access.readable_images(scope).filter(pk__in=ids))
    if not images:
        messages.error(request, "Choose at least one share.")
        return redirect("images:inbox")
    try:
        changed = services.shares_respond(scope=scope, images=images, status=status)
    except services.NotPermitted as e:
        raise PermissionDenied(str(e)) from None
    except services.ServiceError as e:
        messages.error(request, str(e))
    else:
        verb = "Accepted" if status == MemberStatus.ACCEPTED else "Rejected"
        messages.success(request, f"{verb} {changed} share{'s' if changed != 1 else ''}.")
    return redirect("images:inbox")


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True

"""Image data pages and endpoints: upload, download, deactivate, and the quota admin page.

The upload endpoint takes the raw request body (PUT, as Glance's /file does) and hands it to the
upload service chunk by chunk as it is read from the connection; Django's multipart parsing and
upload handlers are never involved, so nothing buffers the body in memory or in a temporary file.
"""

from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
    UnreadablePostError,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.decorators import project_required
from dashboard.models import Project
from dashboard.typing import ScopedRequest

from . import access, quotas, request_body, services
from .forms import ImageForm, QuotaForm, UploadFormatsForm
from .models import ProjectQuota

INVALID = 422


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _upload_urls(image) -> dict:
    return {
        "id": str(image.pk),
        "upload_url": reverse("images:file", args=[image.pk]),
        "detail_url": reverse("images:detail", args=[image.pk]),
        "delete_url": reverse("images:delete", args=[image.pk]),
    }


@require_http_methods(["GET", "POST"])
@login_required
@project_required
def image_create_upload(request: ScopedRequest) -> HttpResponse:
    """Create an image and upload its file from the browser.

    The file input has no name, so the form posts only the image's fields; the page's script then
    PUTs the file to the new image's upload endpoint with a progress bar. Without JavaScript the
    image is created queued and the upload page explains what is needed.
    """
    scope = request.scope
    access.require_create(scope)
    wants_json = "application/json" in request.headers.get("Accept", "")
    form = ImageForm(request.POST or None, can_publish=access.can_publish(scope))
    for name in ("disk_format", "container_format"):
        form.fields[name].required = True
    if request.method == "POST" and form.is_valid():
        try:
            image = services.image_create(scope=scope, **form.cleaned_data)
        except services.ServiceError as e:
            if wants_json:
                return JsonResponse({"errors": {"__all__": [str(e)]}}, status=e.status_code)
            form.add_error(None, str(e))
        else:
            if wants_json:
                return JsonResponse(_upload_urls(image), status=201)
            messages.info(request, f"Image {image.display_name} created (queued): now upload its data.")
            return redirect("images:upload", image_id=image.pk)
    if wants_json and form.errors:
        return JsonResponse({"errors": form.errors}, status=INVALID)
    context = {"form": form, "image": None, "limit_note": _size_note(scope)}
    return render(request, "images/image_upload.html", context, status=INVALID if form.errors else 200)


def _size_note(scope) -> str:
    meter = next(m for m in quotas.meters(scope.project) if m.key == quotas.SIZE_TOTAL)
    if meter.unlimited:
        return ""
    return f"Image storage: {meter.used_text} of {meter.limit_text} used."


@require_GET
@login_required
@project_required
def image_upload(request: ScopedRequest, image_id: UUID) -> HttpResponse:
    """The page to upload data to an existing queued image."""
    scope = request.scope
    image = access.get_image_for(scope, image_id, write=True)
    form = UploadFormatsForm(
        initial={"disk_format": image.disk_format, "container_format": image.container_format}
    )
    context = {"image": image, "form": form, "limit_note": _size_note(scope)}
    return render(request, "images/image_upload.html", context)


@require_http_methods(["GET", "HEAD", "PUT"])
@login_required
@project_required
def image_file(request: ScopedRequest, image_id: UUID) -> HttpResponseBase:
    """GET streams the image's data; PUT takes it as the raw request body (sized or chunked)."""
    if request.method == "PUT":
        return _put_file(request, image_id)
    scope = request.scope
    image = access.get_image_for(scope, image_id)
    try:
        download = services.image_download(scope=scope, image=image)
    except services.ServiceError as e:
        return HttpResponse(str(e), status=e.status_code, content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(download.chunks, content_type="application/octet-stream")
    response["Content-Length"] = str(image.size)
    # Glance's convention: the md5 checksum, hex encoded.
    response["Content-MD5"] = image.checksum
    response["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    return response


def _put_file(request: ScopedRequest, image_id: UUID) -> HttpResponse:
    scope = request.scope
    try:
        image = access.get_image_for(scope, image_id, write=True)
    except PermissionDenied as e:
        return _error(str(e), 403)
    except Http404:
        return _error("No such image.", 404)
    formats = UploadFormatsForm(request.GET)
    if not formats.is_valid():
        return _error("Unknown disk or container format.", 400)
    max_size = settings.IMAGE_UPLOAD_MAX_SIZE
    try:
        services.image_upload_check(scope=scope, image=image)  # 409 before the body is looked at
        length = request_body.declared_length(request, max_size=max_size)
        chunks = request_body.body_chunks(
            request, chunk_size=settings.IMAGE_UPLOAD_CHUNK_SIZE, max_size=max_size
        )
        image = services.image_upload(
            scope=scope,
            image=image,
            chunks=chunks,
            declared_length=length,
            disk_format=formats.cleaned_data["disk_format"] or None,
            container_format=formats.cleaned_data["container_format"] or None,
        )
    except services.ServiceError as e:
        return _error(str(e), e.status_code)
    except request_body.LengthRequired as e:
        return _error(str(e), 411)
    except request_body.MalformedBody as e:
        return _error(f"{e} The image is still queued.", 400)
    except request_body.BodyTooLarge as e:
        return _error(str(e), 413)
    except UnreadablePostError:
        return _error("The upload was interrupted; the image is still queued. Try again.", 400)
    return JsonResponse(
        {
            **_upload_urls(image),
            "status": image.status,
            "size": image.size,
            "checksum": image.checksum,
            "os_hash_algo": image.os_hash_algo,
            "os_hash_value": image.os_hash_value,
        }
    )


@require_POST
@login_required
@project_required
def image_activation(request: ScopedRequest, image_id: UUID) -> HttpResponse:
    """Deactivate or reactivate (the owner project's members, platform admins)."""
    scope = request.scope
    image = access.get_image_for(scope, image_id)
    action = request.POST.get("action")
    if action == "deactivate" and access.can_see_members(scope, image):
        # With projects using it, the admin confirms the number it was shown (asked again if it changed).
        users = access.projects_using(scope, image)
        if users and request.POST.get("confirm_users") != str(users):
            return render(request, "images/image_confirm_deactivate.html", {"image": image, "users": users})
    try:
        if action == "deactivate":
            image = services.image_deactivate(scope=scope, image=image)
            messages.success(
                request, f"{image.display_name} deactivated: only platform admins can download it."
            )
        elif action == "reactivate":
            image = services.image_reactivate(scope=scope, image=image)
            messages.success(request, f"{image.display_name} reactivated.")
        else:
            return HttpResponse("Choose deactivate or reactivate.", status=400)
    except services.NotPermitted as e:
        raise PermissionDenied(str(e)) from None
    except services.ServiceError as e:
        messages.error(request, str(e))
    return redirect("images:detail", image_id=image.pk)


# Platform admin: quotas


@require_GET
@login_required
@project_required
def admin_quotas(request: ScopedRequest) -> HttpResponse:
    access.require_quota_admin(request.scope)
    overrides = {q.project_id: q for q in ProjectQuota.objects.all()}
    rows = [
        (project, quotas.limits_from(overrides.get(project.pk)), overrides.get(project.pk))
        for project in Project.objects.order_by("name")
    ]
    context = {"rows": rows, "defaults": quotas.defaults(), "names": quotas.NAMES}
    return render(request, "images/admin_quotas.html", context)


@require_http_methods(["GET", "POST"])
@login_required
@project_required
def admin_quota_edit(request: ScopedRequest, project_id: str) -> HttpResponse:
    scope = request.scope
    access.require_quota_admin(scope)
    project = get_object_or_404(Project, pk=project_id)
    row = ProjectQuota.objects.filter(project=project).first()
    initial = {key: getattr(row, key) if row else None for key in quotas.NAMES}
    form = QuotaForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.quota_set(scope=scope, project=project, limits=form.cleaned_data)
        except services.ServiceError as e:
            form.add_error(None, str(e))
        else:
            messages.success(request, f"Quotas of {project.name} saved.")
            return redirect("images:admin-quotas")
    context = {
        "project": project,
        "form": form,
        "defaults": quotas.defaults(),
        "meters": quotas.meters(project),
    }
    return render(request, "images/admin_quota_form.html", context, status=INVALID if form.errors else 200)

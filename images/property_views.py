"""The tag and property editor on the image's Overview.

Each change is a plain form post (POST → redirect → GET) that htmx turns into a re-render of the
properties panel; a refused change comes back as the panel (or, without JavaScript, the page) with
the error next to its field and status 422. Who may change what: images.access; the rules for
keys, values and limits: images.services (with the catalog in images.properties).
"""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from dashboard.decorators import project_required
from dashboard.typing import ScopedRequest

from . import access, services
from .forms import PropertyForm, TagForm
from .models import Image
from .views import INVALID, _detail_context

PANEL = "images/_properties.html#properties_panel"
FIELD_NAMES = {"min_disk": "Minimum disk", "min_ram": "Minimum RAM"}


def _panel(
    request: ScopedRequest, image: Image, *, note: str = "", status: int = 200, **errors
) -> HttpResponse:
    """After a change: the panel (htmx) or a redirect to the page; after a refusal: the panel or
    the page, with the errors, as 422."""
    if status == 200 and not request.htmx:
        messages.success(request, note)
        return redirect(reverse("images:detail", args=[image.pk]) + "#properties")
    context = _detail_context(request, image, "overview", oob=bool(request.htmx), **errors)
    if not request.htmx:
        return render(request, "images/image_detail.html", context, status=status)
    response = render(request, PANEL, context, status=status)
    return trigger_client_event(response, "announce", {"text": note}) if note else response


def _field_error(form, error: services.ServiceError) -> None:
    form.add_error(error.field if error.field in form.fields else None, str(error))


@require_POST
@login_required
@project_required
def property_set(request: ScopedRequest, image_id: UUID) -> HttpResponse:
    """Add a property, or change the value of one (the row's form posts origin=row)."""
    scope = request.scope
    image = access.get_image_for(scope, image_id, write=True)
    form = PropertyForm(request.POST)
    from_row = request.POST.get("origin") == "row"
    if form.is_valid():
        key, value = form.cleaned_data["key"], form.cleaned_data["value"]
        existed = key in image.properties
        try:
            image = services.image_property_set(scope=scope, image=image, key=key, value=value)
        except services.ServiceError as e:
            _field_error(form, e)
        else:
            if key in FIELD_NAMES:
                note = f"{FIELD_NAMES[key]} set to {value}."
            else:
                note = f"Property {key} {'changed' if existed else 'added'}."
            return _panel(request, image, note=note)
    if from_row and form.data.get("key") in image.properties:
        return _panel(request, image, status=INVALID, edit_key=form.data["key"], edit_form=form)
    return _panel(request, image, status=INVALID, property_form=form)


@require_POST
@login_required
@project_required
def property_remove(request: ScopedRequest, image_id: UUID) -> HttpResponse:
    scope = request.scope
    image = access.get_image_for(scope, image_id, write=True)
    key = request.POST.get("key", "")
    try:
        image = services.image_property_remove(scope=scope, image=image, key=key)
    except services.NotFound:
        note = f"The image no longer had the property {key}."
    except services.ServiceError as e:
        return _panel(request, image, status=INVALID, remove_error=str(e))
    else:
        note = f"Property {key} removed."
    return _panel(request, image, note=note)


@require_GET
@login_required
@project_required
def property_help(request: ScopedRequest, image_id: UUID) -> HttpResponse:
    """As the owner types a key: its help text and the values it takes (a catalog lookup)."""
    access.get_image_for(request.scope, image_id, write=True)
    context = {"help_key": request.GET.get("key", "").strip()}
    return render(request, "images/_properties.html#property_help", context)


@require_POST
@login_required
@project_required
def tag_add(request: ScopedRequest, image_id: UUID) -> HttpResponse:
    scope = request.scope
    image = access.get_image_for(scope, image_id, write=True)
    form = TagForm(request.POST)
    if form.is_valid():
        tag = form.cleaned_data["tag"]
        try:
            image = services.image_tag_add(scope=scope, image=image, tag=tag)
        except services.ServiceError as e:
            form.add_error("tag", str(e))
        else:
            return _panel(request, image, note=f"Tag {tag} added.")
    return _panel(request, image, status=INVALID, tag_form=form)


@require_POST
@login_required
@project_required
def tag_remove(request: ScopedRequest, image_id: UUID) -> HttpResponse:
    scope = request.scope
    image = access.get_image_for(scope, image_id, write=True)
    tag = request.POST.get("tag", "")
    try:
        image = services.image_tag_remove(scope=scope, image=image, tag=tag)
    except services.NotFound:
        note = f"The image no longer had the tag {tag}."
    else:
        note = f"Tag {tag} removed."
    return _panel(request, image, note=note)

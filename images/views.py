"""Pages and the partials htmx re-renders. Each view: find through access → validate → one
service call → render or redirect. Every htmx action is also a plain form POST."""

from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from dashboard.decorators import project_required
from dashboard.identity import Scope
from dashboard.models import Project
from dashboard.typing import ScopedRequest

from . import access, presenters, quotas, services
from .access import Tab
from .forms import AddMemberForm, EditImageForm, ImageForm, MemberStatusForm
from .listing import DIRECTIONS, SORTS, Page, first_page, paginate, search_first_page
from .models import MemberStatus, Visibility

SHARE_ACTIONS = [("accepted", "Accept"), ("rejected", "Reject"), ("pending", "Back to pending")]
INVALID = 422  # a form that did not validate; htmx is configured to swap it like a 200


def _partials(request: ScopedRequest, names: list[str], context: dict, status: int = 200) -> HttpResponse:
    """Several named partials in one response: the first in place, the others out of band (with
    `oob` set, which makes each partial that can swap out of band say so)."""
    parts = [render_to_string(names[0], context, request)]
    parts += [render_to_string(name, {**context, "oob": True}, request) for name in names[1:]]
    return HttpResponse("".join(parts), status=status)


def _list_params(request: ScopedRequest) -> dict:
    get = request.GET
    tab = get.get("tab") if get.get("tab") in Tab.ALL else Tab.CATALOG
    member_status = get.get("status") if get.get("status") in MemberStatus.values else ""
    return {
        "tab": tab,
        "status": member_status,
        "q": get.get("q", "").strip()[:255],
        "hidden": get.get("hidden") == "1",
        "sort": get.get("sort") if get.get("sort") in SORTS else "name",
        "dir": get.get("dir") if get.get("dir") in DIRECTIONS else "asc",
        "after": get.get("after") or None,
    }


def _list_page(scope: Scope, params: dict, *, search_all: bool) -> Page | None:
    """The page of the Images list that params ask for (by a compiled query where there is one);
    None for the Community tab before a search."""
    size = settings.IMAGES_PAGE_SIZE
    tab, search, after = params["tab"], params["q"], params["after"]
    if tab != Tab.COMMUNITY and not search and not after:
        return first_page(
            scope.project_id,
            tab=tab,
            member_status=params["status"] or None,
            show_hidden=params["hidden"],
            sort=params["sort"],
            direction=params["dir"],
            size=size,
        )
    if tab == Tab.COMMUNITY and search and params["sort"] == "name" and not after:
        page = search_first_page(
            scope.project_id,
            tab=tab,
            search=search,
            show_hidden=params["hidden"],
            direction=params["dir"],
            size=size,
        )
        if page is not None:
            return page
    if tab == Tab.COMMUNITY and not search and not search_all:
        return None
    parts = access.listed_image_parts(
        scope, tab=tab, member_status=params["status"] or None, show_hidden=params["hidden"]
    )
    return paginate(
        parts,
        search=search,
        sort=params["sort"],
        direction=params["dir"],
        after=after,
        size=size,
        # Community search: read the matches by the community trigram index or postings.
        match_first=tab == Tab.COMMUNITY and bool(search),
    )


@require_GET
@login_required
@project_required
def image_list(request: ScopedRequest) -> HttpResponse:
    params = _list_params(request)
    scope = request.scope
    page = _list_page(scope, params, search_all=request.GET.get("search") == "1")
    context: dict[str, Any] = {
        "params": params,
        "page": page,
        "rows": presenters.image_rows(page.rows, project_id=scope.project_id) if page is not None else [],
        "next_path": request.get_full_path(),
        "tabs": TABS,
        "status_choices": MemberStatus.choices,
        "can_create": access.can_create(scope),
        "can_respond": access.can_answer_shares(scope),
    }
    if request.htmx and request.htmx.target == "image-table":
        return render(request, "images/image_list.html#image_table", context)
    # The usage bars, and the header's badges read with them: one query for both.
    context["meters"], context["badges"] = quotas.meters_and_badges(scope)
    return render(request, "images/image_list.html", context)


TABS = [
    (Tab.CATALOG, "Catalog"),
    (Tab.PROJECT, "Project"),
    (Tab.SHARED, "Shared with me"),
    (Tab.PUBLIC, "Public"),
    (Tab.COMMUNITY, "Community"),
]


@require_http_methods(["GET", "POST"])
@login_required
@project_required
def image_create(request: ScopedRequest) -> HttpResponse:
    scope = request.scope
    access.require_create(scope)
    form = ImageForm(request.POST or None, can_publish=access.can_publish(scope))
    if request.method == "POST" and form.is_valid():
        try:
            image = services.image_create(scope=scope, **form.cleaned_data)
        except services.ServiceError as e:
            form.add_error(None, str(e))
        else:
            messages.success(request, f"Image {image.display_name} created (queued, no data yet).")
            return redirect("images:detail", image_id=image.pk)
    status = INVALID if form.errors else 200
    return render(request, "images/image_form.html", {"form": form, "image": None}, status=status)


def _detail_context(request: ScopedRequest, image, tab: str, **extra) -> dict:
    scope = request.scope
    context = {
        "image": image,
        "facts": presenters.image_facts(image),
        "tab": tab,
        "can_edit": access.can_edit(scope, image),
        "can_deactivate": access.can_deactivate(scope, image),
        "can_see_members": access.can_see_members(scope, image),
        "share": access.membership(scope, image),
        "can_respond": access.can_answer_shares(scope),
        "offers_download": (offers_download := access.can_download(scope, image)),
        "download_refusal": None if offers_download else access.download_refusal(scope, image),
        "dormant": image.visibility != Visibility.SHARED,
        "share_actions": SHARE_ACTIONS,
    }
    if tab == "members" and context["can_see_members"]:
        members = access.member_list(scope, image)
        context["members"] = presenters.member_rows(image, members, removable=context["can_edit"])
        context["member_room"] = quotas.member_room(len(context["members"]))
        context.setdefault("form", AddMemberForm())
    if tab == "activity" and context["can_see_members"]:
        # The newest events only; the project's Activity page pages through the rest.
        context["events"] = list(access.image_events(scope, image)[:50])
    context.update(extra)
    return context


@require_GET
@login_required
@project_required
def image_detail(request: ScopedRequest, image_id: UUID) -> HttpResponse:
    image = access.get_image_for(request.scope, image_id)
    tab = request.GET.get("tab", "")
    context = _detail_context(request, image, tab if tab in ("members", "activity") else "overview")
    if request.htmx and request.htmx.target == "tab-panel":
        return render(request, "images/image_detail.html#tab_panel", context)
    return render(request, "images/image_detail.html", context)


@require_http_methods(["GET", "POST"])
@login_required
@project_required
def image_edit(request: ScopedRequest, image_id: UUID) -> HttpResponse:
    scope = request.scope
    image = access.get_image_for(scope, image_id, write=True)
    initial = {f: getattr(image, f) for f in services.EDITABLE_FIELDS}
    form = EditImageForm(request.POST or None, initial=initial, can_publish=access.can_publish(scope))
    if request.method == "POST" and form.is_valid():
        changes = {f: v for f, v in form.cleaned_data.items() if v != initial[f]}
        try:
            image = services.image_update(scope=scope, image=image, changes=changes)
        except services.ServiceError as e:
            form.add_error("visibility" if "visibility" in changes else None, str(e))
        else:
            messages.success(request, f"Image {image.display_name} saved.")
            return redirect("images:detail", image_id=image.pk)
    status = INVALID if form.errors else 200
    return render(request, "images/image_form.html", {"form": form, "image": image}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
@project_required
def image_delete(request: ScopedRequest, image_id: UUID) -> HttpResponse:
    scope = request.scope
    image = access.get_image_for(scope, image_id, write=True)
    error, status = None, 200
    members = access.projects_using(scope, image)
    if request.method == "POST":
        # With projects using it, the owner confirms the number it was shown (asked again if it changed).
        if members and not image.protected and request.POST.get("confirm_users") != str(members):
            error, status = (
                f"{members} project{'s use' if members != 1 else ' uses'} this image: confirm to delete it.",
                INVALID,
            )
        else:
            try:
                services.image_delete(scope=scope, image=image)
            except services.ServiceError as e:
                error, status = str(e), 403
            else:
                messages.success(request, f"Image {image.display_name} deleted.")
                return redirect("images:list")
    context = {"image": image, "error": error, "accepted_members": members}
    return render(request, "images/image_confirm_delete.html", context, status=status)


# Members (owner side)


def _members_response(request: ScopedRequest, image, form: AddMemberForm, status: int = 200) -> HttpResponse:
    context = _detail_context(request, image, "members", form=form)
    if request.htmx:
        names = ["images/image_detail.html#members_panel", "images/image_detail.html#visibility_label"]
        return _partials(request, names, context, status=status)
    return render(request, "images/image_detail.html", context, status=status)


@require_POST
@login_required
@project_required
def member_add(request: ScopedRequest, image_id: UUID) -> HttpResponse:
    scope = request.scope
    image = access.get_image_for(scope, image_id, write=True)
    form = AddMemberForm(request.POST)
    if form.is_valid():
        try:
            share = services.image_share(
                scope=scope,
                image=image,
                project_id=form.cleaned_data["project_id"],
                make_shared=True,
                expires_at=form.expires_at(),
            )
        except services.ServiceError as e:
            form.add_error(
                "expires_on" if getattr(e, "field", None) == "expires_at" else "project_id", str(e)
            )
        else:
            note = f"Shared with {share.member.name}: pending until that project accepts it."
            if not request.htmx:
                messages.success(request, note)
                return redirect(
                    reverse("images:detail", args=[image.pk]) + f"?tab=members#member-{share.member_id}"
                )
            image = access.get_image_for(scope, image_id)
            response = _members_response(request, image, AddMemberForm(), status=200)
            return trigger_client_event(response, "announce", {"text": note})
    return _members_response(request, image, form, status=INVALID)


@require_GET
@login_required
@project_required
def member_lookup(request: ScopedRequest, image_id: UUID) -> HttpResponse:
    """As the owner types a project ID: that project's name, to confirm before adding it."""
    image = access.get_image_for(request.scope, image_id, write=True)
    project_id = request.GET.get("project_id", "").strip()
    project, error = None, None
    if project_id:
        try:
            project = services.project_preview(image=image, project_id=project_id)
        except services.ServiceError as e:
            error = str(e)
    context = {"lookup_project": project, "lookup_error": error, "lookup_confirmed": project is not None}
    return render(request, "images/image_detail.html#member_lookup", context)


@require_http_methods(["GET", "POST"])
@login_required
@project_required
def member_remove(request: ScopedRequest, image_id: UUID, project_id: str) -> HttpResponse:
    scope = request.scope
    image = access.get_image_for(scope, image_id, write=True)
    members_url = reverse("images:detail", args=[image.pk]) + "?tab=members#members-table"
    if request.method == "GET":
        share = access.members_of(scope, image).filter(member_id=project_id).first()
        if share is None:
            return redirect(members_url)
        context = {"image": image, "share": share}
        if request.htmx:
            return render(request, "images/member_confirm_remove.html#confirm_row", context)
        return render(request, "images/member_confirm_remove.html", context)
    try:
        project = services.member_remove(scope=scope, image=image, project_id=project_id)
    except services.NotFound:
        note = "That project was no longer a member."
    else:
        note = f"Removed {project.name}: the image has left its catalog."
    if not request.htmx:
        messages.success(request, note)
        return redirect(members_url)
    response = _members_response(request, image, AddMemberForm())
    return trigger_client_event(response, "announce", {"text": note})


# Shares (target side)


def _safe_next(request: ScopedRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@require_POST
@login_required
@project_required
def share_respond(request: ScopedRequest, image_id: UUID) -> HttpResponse:
    """The target project accepts, rejects, or sets back to pending its share of an image."""
    scope = request.scope
    image = access.get_image_for(scope, image_id)
    form = MemberStatusForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Choose accepted, rejected or pending.", status=400)
    status = form.cleaned_data["status"]
    try:
        services.member_set_status(scope=scope, image=image, project_id=scope.project_id, status=status)
    except services.NotFound:
        raise PermissionDenied("This image is not shared with your project.") from None
    except services.NotPermitted as e:
        raise PermissionDenied(str(e)) from None
    verb = {"accepted": "Accepted", "rejected": "Rejected", "pending": "Set back to pending"}[status]
    note = f"{verb}: {image.display_name}."
    if not request.htmx:
        messages.success(request, note)
        # The fragment brings the keyboard back to the share box (the list's forms name their row).
        return redirect(_safe_next(request, reverse("images:detail", args=[image.pk]) + "#share-box"))
    image = access.get_image_for(scope, image_id)
    context = {
        "image": image,
        "share": access.membership(scope, image),
        "can_respond": access.can_answer_shares(scope),
        "row": presenters.image_rows([image], project_id=scope.project_id)[0],
        "next_path": request.get_full_path(),
        "params": _list_params(request),
        "badges": {"pending": access.pending_share_count(scope)},
        "share_actions": SHARE_ACTIONS,
    }
    region = (
        "images/image_list.html#image_row"
        if request.POST.get("region") == "row"
        else "images/image_detail.html#share_box"
    )
    response = _partials(request, [region, "base.html#pending_badge"], context)
    return trigger_client_event(response, "announce", {"text": note})


# Platform admin


@require_GET
@login_required
@project_required
def admin_images(request: ScopedRequest) -> HttpResponse:
    qs = access.all_images(request.scope)
    params = _list_params(request)
    owner = request.GET.get("owner", "")
    if owner:
        qs = qs.filter(owner_id=owner)
    if params["q"]:
        qs = qs.filter(name__icontains=params["q"])
    page = paginate(
        qs,
        sort=params["sort"],
        direction=params["dir"],
        after=params["after"],
        size=settings.IMAGES_PAGE_SIZE,
    )
    context = {"page": page, "params": params, "owner": owner, "projects": Project.objects.only("id", "name")}
    return render(request, "images/admin_images.html", context)

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from . import throttle
from .identity import scopes_for
from .middleware import SESSION_PROJECT_KEY
from .typing import SignedInRequest


def _client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return "images:list"


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = AuthenticationForm(request, data=request.POST or None)
    status = 200
    if request.method == "POST":
        username = request.POST.get("username", "")
        address = _client_address(request)
        try:
            throttle.attempt(username, address)
        except throttle.Throttled as e:
            wait = throttle.wait_in_words(e.retry_after)
            form = AuthenticationForm(request)
            form.errors["__all__"] = form.error_class(
                [f"Too many failed sign-ins. Wait {wait} and try again."]
            )
            response = render(
                request, "registration/login.html", {"form": form, "next": _next_url(request)}, status=429
            )
            response["Retry-After"] = str(e.retry_after)
            return response
        if form.is_valid():
            throttle.succeeded(username, address)
            login(request, form.get_user())
            return redirect(_next_url(request))
        status = 401
    return render(
        request, "registration/login.html", {"form": form, "next": _next_url(request)}, status=status
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("login")


@require_POST
@login_required
def switch_project(request: SignedInRequest) -> HttpResponse:
    """Make another of the user's projects the current one (kept in the session)."""
    project_id = request.POST.get("project_id", "")
    scope = scopes_for(request.user, project_id)
    if scope is None or scope.project_id != project_id:
        messages.error(request, "You have no role on that project.")
    else:
        request.session[SESSION_PROJECT_KEY] = project_id
        messages.info(request, f"Now working in project {scope.project.name}.")
    return redirect("images:list")


def home(request: HttpRequest) -> HttpResponse:
    return redirect("images:list")

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar, cast

from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import render

from .typing import ScopedRequest, SessionRequest

P = ParamSpec("P")
R = TypeVar("R", bound=HttpResponseBase)


def project_required(
    view: Callable[Concatenate[ScopedRequest, P], R],
) -> Callable[Concatenate[SessionRequest, P], R | HttpResponse]:
    """The view needs a current project: users without any role see why instead of an error."""

    @wraps(view)
    def wrapper(request: SessionRequest, *args: P.args, **kwargs: P.kwargs) -> R | HttpResponse:
        if request.scope is None:
            return render(request, "no_project.html", status=403)
        return view(cast(ScopedRequest, request), *args, **kwargs)

    return wrapper

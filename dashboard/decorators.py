from functools import wraps

from django.shortcuts import render


def project_required(view):
    """The view needs a current project: users without any role see why instead of an error."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.scope is None:
            return render(request, "no_project.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper

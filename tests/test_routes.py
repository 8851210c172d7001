"""dashboard.routes and the templates' url(): the same URLs as reverse(), reversed once."""

import uuid

import pytest
from django.template import engines
from django.urls import NoReverseMatch, clear_script_prefix, reverse, set_script_prefix
from markupsafe import escape

from dashboard import routes
from dashboard.routes import Route

IMAGE = uuid.UUID("0b8e5c52-3c1e-4c55-9d7e-5d0c7a1b2c3d")
# Project IDs as the str converter takes them: plain, and every kind of character reverse() quotes.
PROJECT_IDS = [
    "f2e9702d11e9cdaa6e6981a35d3d9e56",
    "a b",
    "ü-é",
    "50%",
    "a?b#c",
    "a&b<c>\"d'",
    "~:@!$()*+,;=._-",
]


@pytest.mark.parametrize("project_id", PROJECT_IDS)
def test_a_route_makes_what_reverse_makes(project_id):
    expected = reverse("images:member-remove", args=[IMAGE, project_id])

    assert Route("images:member-remove", uuid.UUID, str)(IMAGE, project_id) == expected
    assert routes.url("images:member-remove", IMAGE, project_id) == expected


@pytest.mark.parametrize("project_id", ["", "a/b"])
def test_what_reverse_refuses_a_route_refuses(project_id):
    with pytest.raises(NoReverseMatch):
        reverse("images:member-remove", args=[IMAGE, project_id])
    with pytest.raises(NoReverseMatch):
        Route("images:member-remove", uuid.UUID, str)(IMAGE, project_id)


def test_an_argument_of_another_type_goes_through_reverse():
    route = Route("images:detail", uuid.UUID)

    assert route(str(IMAGE)) == reverse("images:detail", args=[str(IMAGE)])
    with pytest.raises(NoReverseMatch):
        route("not-a-uuid")
    assert routes.url("images:admin-quota-edit", 5) == reverse("images:admin-quota-edit", args=[5])
    assert routes.url("images:list") == reverse("images:list")


def test_a_route_follows_the_script_prefix():
    route = Route("images:detail", uuid.UUID)
    route(IMAGE)
    set_script_prefix("/dashboard/")
    try:
        assert route(IMAGE) == reverse("images:detail", args=[IMAGE]) == f"/dashboard/project/images/{IMAGE}/"
    finally:
        clear_script_prefix()
    assert route(IMAGE) == f"/project/images/{IMAGE}/"


def test_the_templates_url_writes_what_reverse_makes_escaped():
    template = engines["jinja2"].from_string("[{{ url('images:member-remove', image, p) }}]")
    for project_id in PROJECT_IDS:
        written = template.render({"image": IMAGE, "p": project_id})
        assert written == f"[{escape(reverse('images:member-remove', args=[IMAGE, project_id]))}]"

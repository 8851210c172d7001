"""dashboard.templating: Jinja2 with named partials, rendered as Django renders its templates."""

import re
import uuid

import pytest
from django.template import TemplateDoesNotExist, engines
from django.template.loader import get_template, render_to_string
from django.test import RequestFactory

from dashboard.templating import Page, Partial

IMAGE = uuid.UUID("0b8e5c52-3c1e-4c55-9d7e-5d0c7a1b2c3d")


@pytest.fixture
def engine():
    return engines["jinja2"]


def test_a_named_partial_is_one_block_of_the_page(rf_request):
    html = render_to_string("images/image_explain.html", {"image": {"pk": IMAGE}}, rf_request)
    assert "<!doctype html>" in html
    partial = get_template("images/_explain.html#explain_result")
    assert isinstance(partial, Partial)
    alone = partial.render({"explain_error": "No such project."}, rf_request)
    assert alone.strip().startswith('<p id="explain-result"') and "No such project." in alone
    assert "<section" not in alone


def test_an_unknown_partial_is_not_found():
    with pytest.raises(TemplateDoesNotExist):
        get_template("images/image_list.html#no_such_block")


def test_a_block_outside_the_layout_is_only_a_partial():
    page = get_template("images/member_confirm_remove.html")
    assert isinstance(page, Page) and "confirm_row" in page.template.blocks
    share = {"member_id": "p1", "member": {"name": "app-team"}}
    html = page.render({"image": {"pk": IMAGE, "display_name": "golden"}, "share": share})
    assert 'class="confirm-row"' not in html


def test_what_the_view_gives_wins_over_a_context_processor(engine, rf_request):
    template = engine.from_string("{{ badges.pending }}|{{ nav.images }}")
    assert template.render({"badges": {"pending": 7}}, rf_request).startswith("7|/")


def test_a_missing_name_is_empty_and_false_as_in_django_templates(engine):
    template = engine.from_string("[{{ form.name.value() }}]{% if form.errors %}errors{% endif %}")
    assert template.render({}) == "[]"


def test_output_is_escaped_unless_marked_safe(engine):
    from django.utils.safestring import mark_safe

    template = engine.from_string("{{ a }}|{{ b }}")
    assert template.render({"a": "<b>&", "b": mark_safe("<i>")}) == "&lt;b&gt;&amp;|<i>"


def test_every_form_of_a_response_carries_the_same_token_and_a_page_without_one_sets_no_cookie(
    engine, rf_request
):
    html = engine.from_string("{{ csrf_input }}{{ csrf_input }}|{{ csrf_token }}").render({}, rf_request)
    tokens = re.findall(r'value="([^"]+)"', html)
    assert len(tokens) == 2 and tokens[0] == tokens[1] == html.rsplit("|", 1)[1]
    quiet = RequestFactory().get("/")
    engine.from_string("no form").render({}, quiet)
    assert "CSRF_COOKIE" not in quiet.META


@pytest.fixture
def rf_request():
    return RequestFactory().get("/")

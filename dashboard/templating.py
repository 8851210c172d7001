"""The pages' template engine: Jinja2, with named partials for what htmx re-renders.

Why Jinja2: it compiles each template to Python once, where Django's template language interprets
every variable node on every render (look-up, localisation, escaping). On the Images page that was
over half of each request's CPU (docs/performance.md, "Where the time goes"); the same page renders
several times faster here.

A named partial is a `{% block %}`: `render(request, "images/image_list.html#image_table", ctx)`
renders only that block of the page, with the same context the whole page would have (context
processors included). A block inside a loop or a `{% with %}` is `scoped`, so that it sees the
loop's variable when the page renders it; rendered alone, it gets that variable from the context.
A block of a page that extends base.html but lies outside the layout's blocks is never part of the
page: a partial only htmx asks for (member_confirm_remove.html's confirm_row).

Templates behave as Django's did where they rely on it: an undefined name (or an attribute of one)
renders empty and is false; `obj.name` on a plain dict reads the key first (what most rows and facts
here are). Everything is escaped unless marked safe (Django's SafeString and Jinja's Markup both).
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import jinja2
from django.middleware.csrf import get_token
from django.template import TemplateDoesNotExist
from django.template.backends.jinja2 import Jinja2 as DjangoJinja2
from django.template.backends.jinja2 import Template as DjangoJinja2Template
from django.template.defaultfilters import date as date_format
from django.template.defaultfilters import filesizeformat, pluralize
from django.templatetags.static import static
from django.utils import timezone
from django.utils.html import format_html
from django_htmx.jinja import htmx_script

from dashboard import routes


class SilentUndefined(jinja2.ChainableUndefined):
    """What Django's templates do with a name the context lacks: empty, false, and so is any
    attribute of it or call on it (`form.name.value()` where no form was given)."""

    def __call__(self, *args: Any, **kwargs: Any) -> "SilentUndefined":  # type: ignore[override]
        return self


class Environment(jinja2.Environment):
    def getattr(self, obj: Any, attribute: str) -> Any:
        # A dict's key before its attribute: `row.name`, `facts.size`… without an AttributeError
        # raised and caught per look-up (what jinja2 does for a dict otherwise).
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def date(value: Any, format_string: str | None = None) -> str:
    """Django's `date` filter, after the conversion to local time that Django's templates make."""
    if value in (None, ""):
        return ""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return date_format(value, format_string)


def unlocalize(value: Any) -> str:
    """A number as the machine reads it (an attribute value), never with separators."""
    return str(value)


def environment(**options: Any) -> jinja2.Environment:
    options["undefined"] = SilentUndefined
    env = Environment(**options)
    env.globals.update(
        {
            "static": static,
            "url": routes.url,
            "htmx_script": htmx_script,
        }
    )
    env.filters.update(
        {
            "date": date,
            "filesizeformat": filesizeformat,
            "pluralize": pluralize,
            "unlocalize": unlocalize,
        }
    )
    # The images app's helpers: the property catalog, form fields, share dates.
    from images import template_helpers

    env.globals.update(template_helpers.GLOBALS)
    env.filters.update(template_helpers.FILTERS)
    return env


class _Once:
    """A value worked out on first use, then written as it is wherever the template writes it."""

    __slots__ = ("make", "value")

    def __init__(self, make: Callable[[], str]):
        self.make: Callable[[], str] = make
        self.value: str | None = None

    def __html__(self) -> str:
        value = self.value
        if value is None:
            value = self.value = self.make()
        return value

    __str__ = __html__


def _csrf(request: Any) -> tuple[_Once, _Once]:
    """The request's CSRF token and form field: one masked token for every form of the response (a
    mask costs 32 random choices; Django's lazy values make one per form), and none at all, so no
    CSRF cookie, for a page without a form."""
    token = _Once(lambda: get_token(request))
    field = _Once(lambda: format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token))
    return token, field


class Page(DjangoJinja2Template):
    """A template rendered as Django renders one, except that what the view gives wins over
    what a context processor adds (as with Django's own templates; Django's Jinja2 backend lets
    the processors win)."""

    def render(self, context: dict | None = None, request: Any = None) -> str:
        return self.template.render(self.context_for(context, request))

    def context_for(self, context: dict | None, request: Any) -> dict:
        full: dict[str, Any] = {}
        if request is not None:
            for context_processor in self.backend.template_context_processors:
                full.update(context_processor(request))
            full["request"] = request
            full["csrf_token"], full["csrf_input"] = _csrf(request)
        if context:
            full.update(context)
        return full


class Partial(Page):
    """One block of a template (a named partial), rendered as the whole template would be."""

    def __init__(self, template: jinja2.Template, backend: "Jinja2", block: str):
        super().__init__(template, backend)
        self.block = block

    def render(self, context: dict | None = None, request: Any = None) -> str:
        template = self.template
        render_block = template.blocks[self.block]
        try:
            return "".join(render_block(template.new_context(self.context_for(context, request))))
        except Exception:
            return template.environment.handle_exception()


class Jinja2(DjangoJinja2):
    """Django's Jinja2 backend, plus "page.html#block" for a named partial."""

    def get_template(self, template_name: str) -> Page:
        name, _, block = template_name.partition("#")
        template = super().get_template(name).template
        if not block:
            return Page(template, self)
        if block not in template.blocks:
            raise TemplateDoesNotExist(template_name, backend=self)
        return Partial(template, self, block)

    def from_string(self, template_code: str) -> Page:
        return Page(self.env.from_string(template_code), self)

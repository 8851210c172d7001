"""Template helpers for forms: a field's widget tied to its help text and its errors."""

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

register = template.Library()


def error_id(field: BoundField) -> str:
    return f"{field.auto_id}_error"


@register.filter
def described_widget(field: BoundField) -> SafeString:
    """The field's widget with aria-describedby naming its help text and its error message (the
    ids field_errors and the templates' help paragraphs use), and aria-invalid while it has errors."""
    ids = []
    if field.help_text:
        ids.append(f"{field.auto_id}_helptext")
    attrs: dict[str, str | bool] = {}
    if field.errors:
        ids.append(error_id(field))
        attrs["aria-invalid"] = "true"
    if ids:
        attrs["aria-describedby"] = " ".join(ids)
    return field.as_widget(attrs=attrs)


@register.inclusion_tag("_field_errors.html")
def field_errors(field: BoundField) -> dict:
    """The field's error messages, in the element its widget's aria-describedby names."""
    return {"id": error_id(field), "errors": field.errors}

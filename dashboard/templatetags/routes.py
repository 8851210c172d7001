"""`{% route 'name' arg … %}`: `{% url 'name' arg … %}` with the route reversed once per process
(dashboard.routes), for pages that link or post to the same route many times."""

from django import template
from django.template.base import FilterExpression, Node, Parser, Token
from django.template.context import Context
from django.utils.html import conditional_escape

from dashboard import routes

register = template.Library()


class RouteNode(Node):
    def __init__(self, viewname: FilterExpression, args: list[FilterExpression]):
        self.viewname = viewname
        self.args = args

    def render(self, context: Context) -> str:
        url = routes.url(self.viewname.resolve(context), *(arg.resolve(context) for arg in self.args))
        return conditional_escape(url) if context.autoescape else url


@register.tag
def route(parser: Parser, token: Token) -> RouteNode:
    bits = token.split_contents()
    if len(bits) < 2:
        raise template.TemplateSyntaxError(f"'{bits[0]}' takes the name of a route and its arguments")
    return RouteNode(parser.compile_filter(bits[1]), [parser.compile_filter(bit) for bit in bits[2:]])

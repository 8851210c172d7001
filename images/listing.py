"""Sorting and keyset pagination for image lists (no OFFSET: page N costs what page 1 costs)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core import signing
from django.core.exceptions import BadRequest
from django.db import connections
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce

SORTS = {"name": "name", "created": "created_at", "size": "size"}
DIRECTIONS = ("asc", "desc")


@dataclass(frozen=True)
class Page:
    rows: list
    next_cursor: str | None


def _sort_expression(sort: str):
    if sort == "size":
        # Images without data have no size yet: they sort as the smallest.
        return Coalesce(F("size"), Value(-1))
    return F(SORTS[sort])


CURSOR_SALT = "images.listing.cursor"


class BadCursor(BadRequest):
    """A page cursor this server did not make for this sort (forged, edited or from an older
    version): 400, never a query with a value of the wrong type."""


def encode_cursor(value, pk, *, sort: str, direction: str) -> str:
    """The position after (value, pk) in this sort, signed: the server reads back only what it wrote."""
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    return signing.dumps([sort, direction, value, str(pk)], salt=CURSOR_SALT, compress=False)


def decode_cursor(cursor: str, *, sort: str, direction: str):
    """(value, pk) from a cursor made by encode_cursor for this sort and direction; BadCursor otherwise."""
    try:
        made_for_sort, made_for_direction, value, pk = signing.loads(cursor, salt=CURSOR_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        raise BadCursor("This page link is broken or out of date: start again from the first page.") from None
    if (made_for_sort, made_for_direction) != (sort, direction):
        raise BadCursor("This page link belongs to another sort order: start again from the first page.")
    if isinstance(value, dict):
        value = datetime.fromisoformat(value["t"])
    return value, str(uuid.UUID(pk))


def paginate(
    qs: QuerySet | Sequence[QuerySet], *, sort: str, direction: str, after: str | None, size: int
) -> Page:
    """One page of qs in (sort, id) order, starting after the cursor; one query.

    qs may be a list of disjoint querysets (access.listed_image_parts): the page is then the first
    rows of their UNION ALL, and where the database can (PostgreSQL) each part is ordered and
    limited on its own, so each walks its own index instead of the whole list being sorted.
    """
    sort = sort if sort in SORTS else "name"
    descending = direction == "desc"
    position = decode_cursor(after, sort=sort, direction=direction) if after else None
    order = ("-sort_value", "-pk") if descending else ("sort_value", "pk")

    def part_page(part: QuerySet) -> QuerySet:
        part = part.annotate(sort_value=_sort_expression(sort))
        if position is not None:
            value, pk = position
            beyond = "lt" if descending else "gt"
            part = part.filter(
                Q(**{f"sort_value__{beyond}": value}) | Q(sort_value=value, **{f"pk__{beyond}": pk})
            )
        return part

    parts = [part_page(part) for part in ([qs] if isinstance(qs, QuerySet) else qs)]
    rows = first_rows(parts, order, size + 1)
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = encode_cursor(last.sort_value, last.pk, sort=sort, direction=direction)
    return Page(rows=rows, next_cursor=next_cursor)


def first_rows(parts: Sequence[QuerySet], order: Sequence[str], count: int) -> list:
    """The first `count` rows, in `order` (names of columns or annotations), of the union of
    disjoint querysets; one query. Where the database can order and limit each member of a UNION
    (PostgreSQL), each part reads only its own first rows, in its own index's order."""
    parts = [part.order_by(*order) for part in parts]
    if len(parts) == 1:
        return list(parts[0][:count])
    if connections[parts[0].db].features.supports_slicing_ordering_in_compound:
        parts = [part[:count] for part in parts]
    else:
        parts = [part.order_by() for part in parts]
    return list(parts[0].union(*parts[1:], all=True).order_by(*order)[:count])

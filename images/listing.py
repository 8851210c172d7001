"""Sorting and keyset pagination for image lists (no OFFSET: page N costs what page 1 costs)."""

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

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


def encode_cursor(value, pk) -> str:
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    raw = json.dumps([value, str(pk)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str):
    """(value, pk) from a cursor, or None when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["t"])
        elif not isinstance(value, (str, int)):
            return None
        return value, str(uuid.UUID(str(pk)))
    except (ValueError, TypeError, KeyError):
        return None


def paginate(qs: QuerySet, *, sort: str, direction: str, after: str | None, size: int) -> Page:
    """One page of qs in (sort, id) order, starting after the cursor; one query."""
    sort = sort if sort in SORTS else "name"
    descending = direction == "desc"
    qs = qs.annotate(sort_value=_sort_expression(sort))
    position = decode_cursor(after) if after else None
    if position is not None:
        value, pk = position
        beyond = "lt" if descending else "gt"
        qs = qs.filter(
            Q(**{f"sort_value__{beyond}": value}) | Q(sort_value=value, **{f"pk__{beyond}": pk})
        )
    order = ("-sort_value", "-pk") if descending else ("sort_value", "pk")
    rows = list(qs.order_by(*order)[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = encode_cursor(last.sort_value, last.pk)
    return Page(rows=rows, next_cursor=next_cursor)

"""Sorting and keyset pagination for image lists (no OFFSET: page N costs what page 1 costs)."""

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core import signing
from django.core.exceptions import BadRequest
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import DateTimeField, ExpressionWrapper, F, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Concat

from dashboard.compiled import CompiledQuery

from .access import share_sort_key

SORTS = {"name": "name", "created": "created_at", "size": "size"}
DIRECTIONS = ("asc", "desc")


@dataclass(frozen=True)
class Page:
    rows: list
    next_cursor: str | None


def _sort_expression(sort: str, part: QuerySet, *, match_first: bool = False):
    if sort == "size":
        # Images without data have no size yet: they sort as the smallest.
        return Coalesce(F("size"), Value(-1))
    if match_first and sort == "name":
        # The same order, but not an index's: see paginate(match_first=True).
        return Concat(F("name"), Value(""))
    if match_first:
        return ExpressionWrapper(F(SORTS[sort]) + Value(timedelta(0)), output_field=DateTimeField())
    # The part "shared with me" sorts by the member rows' copy of the key (access.share_sort_key).
    return share_sort_key(part, SORTS[sort]) or F(SORTS[sort])


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
    qs: QuerySet | Sequence[QuerySet],
    *,
    sort: str,
    direction: str,
    after: str | None,
    size: int,
    search: str = "",
    match_first: bool = False,
) -> Page:
    """One page of qs in (sort, id) order, starting after the cursor; one query.

    qs may be a list of disjoint querysets (access.listed_image_parts): the page is then the first
    rows of their UNION ALL, and where the database can (PostgreSQL) each part is ordered and
    limited on its own, so each walks its own index instead of the whole list being sorted.

    match_first: find the matching rows through a search index, then sort them, instead of walking
    the sort column's index until enough rows match. PostgreSQL assumes matches are spread evenly
    along that index, so for a common term that sorts late (community search for "ubuntu") it
    walks most of the index; sorting by an expression with the same order but no index makes it
    read the trigram index (images/migrations/0007_community_trgm.py) instead. Sorted by name on
    PostgreSQL, with a term that has a trigram (term_trigrams), the matches are instead read in
    name order from the postings of one of its trigrams (images/migrations/0009), and the read
    stops when the page is full: each posting's image is checked against the part's whole filter.

    search: only the rows whose name contains this (case-insensitive), in every part.
    """
    sort = sort if sort in SORTS else "name"
    descending = direction == "desc"
    position = decode_cursor(after, sort=sort, direction=direction) if after else None
    order = ("-sort_value", "-pk") if descending else ("sort_value", "pk")
    parts = [qs] if isinstance(qs, QuerySet) else list(qs)
    trigrams = term_trigrams(search) if match_first and sort == "name" else []
    walk = bool(trigrams) and connections[parts[0].db].vendor == "postgresql"
    if search and not walk:
        parts = [part.filter(name__icontains=search) for part in parts]

    def part_page(part: QuerySet) -> QuerySet:
        if walk:
            # The term is matched against the posting's copy of the name (one filter call: one
            # join), not the image's: a prepared statement's generic plan, which cannot tell a
            # common term from a rare one, would otherwise read every match through the trigram
            # index of 0007 and sort them (46 ms for "ubuntu" at 1M against 0.6 ms walking).
            part = _walk_postings(part, " ".join(trigrams), search)
        else:
            part = part.annotate(sort_value=_sort_expression(sort, part, match_first=match_first))
        if position is not None:
            value, pk = position
            beyond = "lt" if descending else "gt"
            part = part.filter(
                Q(**{f"sort_value__{beyond}": value}) | Q(sort_value=value, **{f"pk__{beyond}": pk})
            )
            if walk:
                # Implied by the condition above, but a bound the postings' index can start from.
                part = part.filter(**{f"sort_value__{beyond}e": value})
        return part

    parts = [part_page(part) for part in parts]
    rows = first_rows(parts, order, size + 1)
    return _page(rows, size, sort=sort, direction=direction)


_ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")


def term_trigrams(term: str) -> list[str]:
    """The trigrams of a search term as the community postings hold them (3 consecutive characters
    of an alphanumeric run, upper case), distinct, in the term's order. Only ASCII runs: their case
    mapping is the same in Python and PostgreSQL, and they lie inside one alphanumeric run of any
    name that contains the term, so each is a trigram of every matching name."""
    runs = [run.upper() for run in _ALNUM_RUN.findall(term)]
    windows = (run[i : i + 3] for run in runs for i in range(len(run) - 2))
    return list(dict.fromkeys(windows))


# The most postings counted per trigram when choosing the one to walk.
POSTINGS_COUNTED = 200


def _fewest_postings(trigrams: str) -> RawSQL:
    """The term's trigram with the fewest community postings (counted up to POSTINGS_COUNTED each,
    so the choice reads a bounded number of index entries), in the same query. `trigrams`: the
    term's trigrams joined by spaces (one string parameter: a compiled query can swap it)."""
    return RawSQL(
        "SELECT c.trigram FROM unnest(string_to_array(%s, ' ')) WITH ORDINALITY AS c(trigram, n)"
        " ORDER BY (SELECT count(*) FROM (SELECT FROM images_communitytrigram AS p"
        " WHERE p.trigram = c.trigram LIMIT %s) AS counted), c.n LIMIT 1",
        (trigrams, POSTINGS_COUNTED),
    )


def _walk_postings(part: QuerySet, trigrams: str, search: str) -> QuerySet:
    """The part's rows whose name contains `search`, read in name order from the postings of the
    term's rarest trigram (see paginate), sort_value the posting's copy of the name."""
    part = part.filter(
        community_trigrams__trigram=_fewest_postings(trigrams),
        community_trigrams__name__icontains=search,
    )
    return part.annotate(sort_value=F("community_trigrams__name"))


def _search_first_page_query(project_id: str, trigrams: str, search: str, variant: tuple) -> QuerySet:
    from . import access

    tab, show_hidden, direction, size = variant
    scope = access._stand_in(project_id, None, False)
    [part] = access.listed_image_parts(scope, tab=tab, show_hidden=show_hidden)
    order = ("-sort_value", "-pk") if direction == "desc" else ("sort_value", "pk")
    return first_rows_query([_walk_postings(part, trigrams, search)], order, size + 1)


# The first page of a community search by name (what the search box shows): built and compiled
# once per direction and page size, only run per request, like first_page.
_search_first_pages = CompiledQuery(_search_first_page_query, project_id=str, trigrams=str, search=str)


def search_first_page(
    project_id: str, *, tab: str, search: str, show_hidden: bool, direction: str, size: int
) -> Page | None:
    """paginate(access.listed_image_parts(…), search=search, sort="name", after=None,
    match_first=True) for a tab of one part (community) on PostgreSQL, by a compiled query; None
    where that would not walk the postings (a term without a trigram, another database)."""
    trigrams = term_trigrams(search)
    if not trigrams or connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        return None
    direction = "desc" if direction == "desc" else "asc"
    rows = _search_first_pages.rows(
        variant=(tab, show_hidden, direction, size),
        project_id=project_id,
        trigrams=" ".join(trigrams),
        search=search,
    )
    return _page(rows, size, sort="name", direction=direction)


def _page(rows: list, size: int, *, sort: str, direction: str) -> Page:
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
    return list(first_rows_query(parts, order, count))


def first_rows_query(parts: Sequence[QuerySet], order: Sequence[str], count: int) -> QuerySet:
    parts = [part.order_by(*order) for part in parts]
    if len(parts) == 1:
        return parts[0][:count]
    if connections[parts[0].db].features.supports_slicing_ordering_in_compound:
        parts = [part[:count] for part in parts]
    else:
        parts = [part.order_by() for part in parts]
    return parts[0].union(*parts[1:], all=True).order_by(*order)[:count]


def _first_page_query(project_id: str, variant: tuple) -> QuerySet:
    from . import access

    tab, member_status, show_hidden, sort, direction, size = variant
    scope = access._stand_in(project_id, None, False)
    parts = access.listed_image_parts(scope, tab=tab, member_status=member_status, show_hidden=show_hidden)
    order = ("-sort_value", "-pk") if direction == "desc" else ("sort_value", "pk")
    parts = [part.annotate(sort_value=_sort_expression(sort, part)) for part in parts]
    return first_rows_query(parts, order, size + 1)


# The first page of a tab without a search (what every visit to the Images page shows first):
# built and compiled once per tab, filter and sort (dashboard/compiled.py), only run per request.
_first_pages = CompiledQuery(_first_page_query, project_id=str)


def first_page(
    project_id: str,
    *,
    tab: str,
    member_status: str | None,
    show_hidden: bool,
    sort: str,
    direction: str,
    size: int,
) -> Page:
    """paginate(access.listed_image_parts(…), after=None) for the project, by a compiled query."""
    sort = sort if sort in SORTS else "name"
    direction = "desc" if direction == "desc" else "asc"
    variant = (tab, member_status, show_hidden, sort, direction, size)
    return _page(
        _first_pages.rows(variant=variant, project_id=project_id), size, sort=sort, direction=direction
    )

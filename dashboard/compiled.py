"""Querysets built and compiled once, run many times with new parameter values.

Building a queryset (filters, Q objects, subqueries, annotations) and compiling it to SQL is most of
the CPU time of a small request: for `GET /v2/images/{id}` the two primary-key reads cost ~0.1 ms in
the database and ~2 ms in the ORM. A `CompiledQuery` calls its `build` function once per database
alias (and per `variant`, for parts of the structure that depend on a flag), with placeholder
values, compiles it, remembers where each placeholder went in the SQL parameters, and afterwards
only swaps in the real values. The rows come back through Django's own iterables, so model
instances, `select_related` objects, annotations and `values()` dicts are what the queryset gives.

The rules still live in the queryset the `build` function returns (images/access.py keeps them);
this only skips rebuilding identical SQL. Any value that varies between calls must be a parameter:
`build` is called once, so a value it reads from elsewhere (the clock, settings) is frozen —
use database-side expressions such as `Now()` for those.
"""

import threading
import uuid
import weakref
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def _placeholder(kind: type, n: int) -> Any:
    """A value of this type that no real call would pass, distinct per parameter."""
    if kind is str:
        return f"~compiled-parameter-{n}~"
    if kind is int:
        return -918_273_645 - n
    if kind is uuid.UUID:
        return uuid.UUID(int=0x7E57_0000_0000_4000_8000_0000_0000_0000 + n)
    if kind is datetime:
        return datetime(1901, 2, 3, 4, 5, 6, 789, tzinfo=UTC) + timedelta(seconds=n)
    raise TypeError(f"unsupported parameter type {kind!r}")


def _forms(value: Any, connection) -> list[tuple[Any, Callable[[Any], Any]]]:
    """The ways a value may appear among compiled parameters, each with how to produce it."""
    forms: list[tuple[Any, Callable[[Any], Any]]] = [(value, lambda v: v)]
    if isinstance(value, uuid.UUID):
        forms += [(value.hex, lambda v: v.hex), (str(value), str)]
    if isinstance(value, datetime):
        adapt = connection.ops.adapt_datetimefield_value
        forms.append((adapt(value), adapt))
    if isinstance(value, str):
        # `contains`/`icontains`: the value inside a LIKE pattern, its %, _ and \ escaped.
        forms.append((f"%{value}%", lambda v: f"%{connection.ops.prep_for_like_query(v)}%"))
    return forms


class _Frozen:
    """One compiled form of the query: its SQL, its parameters, and where the placeholders are."""

    def __init__(self, queryset: QuerySet, placeholders: dict[str, Any]):
        self.queryset = queryset
        self.compiler = queryset.query.get_compiler(using=queryset.db)
        self.sql, params = self.compiler.as_sql()
        self.params = tuple(params)
        connection = self.compiler.connection
        self.slots: list[tuple[int, str, Callable[[Any], Any]]] = []
        for name, value in placeholders.items():
            found = False
            for form, produce in _forms(value, connection):
                for index, param in enumerate(self.params):
                    if type(param) is type(form) and param == form:
                        self.slots.append((index, name, produce))
                        found = True
            if not found:
                raise ValueError(f"parameter {name!r} does not reach the SQL of {queryset.model.__name__}")
        frozen_class = type(
            f"Frozen{type(self.compiler).__name__}",
            (type(self.compiler),),
            {"as_sql": _as_sql, "get_converters": _get_converters},
        )
        self.compiler_class = frozen_class
        # The columns' converters, per connection (one per thread): the select list never changes.
        self.converters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def queryset_for(self, values: dict[str, Any]) -> QuerySet:
        params = list(self.params)
        for index, name, produce in self.slots:
            params[index] = produce(values[name])
        compiler: Any = object.__new__(self.compiler_class)  # a shallow copy, of the frozen class
        compiler.__dict__ = self.compiler.__dict__.copy()
        compiler.connection = connections[self.queryset.db]  # this thread's connection
        compiler.frozen = (self.sql, tuple(params))
        compiler.frozen_converters = self.converters
        qs = object.__new__(type(self.queryset))
        qs.__dict__ = self.queryset.__dict__.copy()
        qs.query = _FrozenQuery(self.queryset.query, compiler)  # type: ignore[assignment]
        qs._result_cache = None
        qs._prefetch_done = False  # type: ignore[attr-defined]
        return qs


def _as_sql(self, *args: Any, **kwargs: Any) -> tuple[str, tuple]:
    return self.frozen


def _get_converters(self: Any, expressions: Any) -> dict:
    """The compiler's own get_converters, worked out once per connection and select list (a
    frozen query's never changes; its expressions are the same objects on every call)."""
    per_connection = self.frozen_converters.get(self.connection)
    if per_connection is None:
        per_connection = self.frozen_converters[self.connection] = {}
    key = tuple(map(id, expressions))
    converters = per_connection.get(key)
    if converters is None:
        converters = per_connection[key] = super(type(self), self).get_converters(expressions)
    return converters


class _FrozenQuery:
    """The built query, whose compiler is the frozen one; everything else reads the real query."""

    def __init__(self, query: Any, compiler: Any):
        self._query = query
        self._compiler = compiler

    def get_compiler(self, using: Any = None, connection: Any = None, elide_empty: bool = True) -> Any:
        return self._compiler

    def chain(self, *args: Any, **kwargs: Any) -> Any:
        # Filtering further would build from the placeholder query: refuse rather than mislead.
        raise TypeError("a compiled query runs as it is: filter in its build function instead")

    clone = chain

    def __getattr__(self, name: str) -> Any:
        return getattr(self._query, name)


class CompiledQuery(Generic[M]):
    """`build(**params)` → QuerySet, compiled once per database and variant; `rows(...)` runs it.

    `params` names each parameter and its type (str, int, uuid.UUID, datetime).
    """

    def __init__(self, build: Callable[..., QuerySet[M]], **params: type):
        self.build = build
        self.params = params
        self._frozen: dict[tuple[str, Hashable], _Frozen] = {}
        self._lock = threading.Lock()

    def _compiled(self, using: str, variant: Hashable) -> _Frozen:
        key = (using, variant)
        frozen = self._frozen.get(key)
        if frozen is None:
            placeholders = {name: _placeholder(kind, n) for n, (name, kind) in enumerate(self.params.items())}
            kwargs = dict(placeholders)
            if variant is not None:
                kwargs["variant"] = variant
            queryset = self.build(**kwargs)
            if queryset.db != using:
                queryset = queryset.using(using)
            frozen = _Frozen(queryset, placeholders)
            with self._lock:
                self._frozen[key] = frozen
        return frozen

    def queryset(self, *, using: str = "default", variant: Hashable = None, **values: Any) -> QuerySet[M]:
        """The compiled queryset with these values, to iterate once (not to filter further)."""
        return self._compiled(using, variant).queryset_for(values)

    def rows(self, *, using: str = "default", variant: Hashable = None, **values: Any) -> list:
        return list(self.queryset(using=using, variant=variant, **values))

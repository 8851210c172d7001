"""Querysets built once and run with new values (dashboard/compiled.py) give what building them
each time gives."""

import threading
import uuid
from datetime import datetime

import pytest
from django.db import connection

from dashboard.compiled import CompiledQuery
from images.models import Image, ImageMember, Visibility

by_owner_and_name: CompiledQuery[Image] = CompiledQuery(
    lambda owner_id, name, variant: (
        Image.objects.select_related("owner")
        .filter(owner_id=owner_id, name__gte=name, os_hidden=variant)
        .order_by("name")
    ),
    owner_id=str,
    name=str,
)


def test_it_runs_the_compiled_query_with_each_call_s_values(make_image, platform, app_team):
    make_image("alpha-1", owner=platform)
    make_image("alpha-2", owner=platform)
    make_image("alpha-3", owner=app_team)
    make_image("beta-1", owner=platform)
    make_image("alpha-hidden", owner=platform, os_hidden=True)
    for owner, name, hidden in [
        (platform, "alpha", False),
        (app_team, "alpha", False),
        (platform, "beta", False),
        (platform, "alpha", True),
        (app_team, "zzz", False),
    ]:
        built = list(
            Image.objects.filter(owner_id=owner.pk, name__gte=name, os_hidden=hidden).order_by("name")
        )
        rows = by_owner_and_name.rows(variant=hidden, owner_id=owner.pk, name=name)
        assert rows == built
        assert all(row.owner.name == owner.name for row in rows)  # select_related came along


def test_it_fills_uuid_and_datetime_values_and_values_rows(make_image, app_team, data_team):
    image = make_image("shared-1", visibility=Visibility.SHARED, members={data_team: "accepted"})
    other = make_image("shared-2", visibility=Visibility.SHARED)
    members = CompiledQuery(
        lambda image_id, since: ImageMember.objects.filter(image_id=image_id, created_at__gt=since).values(
            "member_id"
        ),
        image_id=uuid.UUID,
        since=datetime,
    )
    long_ago = datetime(2000, 1, 1, tzinfo=datetime.now().astimezone().tzinfo)
    assert members.rows(image_id=image.pk, since=long_ago) == [{"member_id": data_team.pk}]
    assert members.rows(image_id=other.pk, since=long_ago) == []
    assert members.rows(image_id=image.pk, since=datetime(2999, 1, 1, tzinfo=long_ago.tzinfo)) == []


def test_it_refuses_a_parameter_that_does_not_reach_the_sql_as_it_is(db):
    unused = CompiledQuery(lambda owner_id, name: Image.objects.filter(name=name), owner_id=str, name=str)
    with pytest.raises(ValueError, match="owner_id"):
        unused.rows(owner_id="x", name="y")
    # A value the ORM rewrites (here into a LIKE pattern) cannot be swapped in later either.
    pattern = CompiledQuery(lambda name: Image.objects.filter(name__startswith=name), name=str)
    with pytest.raises(ValueError, match="name"):
        pattern.rows(name="alpha")


def test_a_contains_pattern_is_escaped_as_the_orm_escapes_it(make_image, platform):
    for name in ["100% linux", "1000 linux", "a_b", "axb", "back\\slash", "backslash"]:
        make_image(name, owner=platform)
    contains = CompiledQuery(
        lambda name: Image.objects.filter(name__icontains=name).order_by("name").values("name"),
        name=str,
    )
    for term in ["0%", "a_b", "K\\S", "LINUX", "%", "_", "nothing"]:
        expected = list(Image.objects.filter(name__icontains=term).order_by("name").values("name"))
        assert contains.rows(name=term) == expected, term
    assert contains.rows(name="0%") == [{"name": "100% linux"}]


def test_it_refuses_to_filter_a_compiled_queryset_further(make_image, platform):
    make_image("alpha-1", owner=platform)
    qs = by_owner_and_name.queryset(variant=False, owner_id=platform.pk, name="alpha")
    with pytest.raises(TypeError):
        qs.filter(name="alpha-1")


@pytest.mark.django_db(transaction=True)
def test_each_thread_runs_it_on_its_own_connection(platform, make_image):
    make_image("alpha-1", owner=platform)
    assert by_owner_and_name.rows(variant=False, owner_id=platform.pk, name="alpha")  # compiled here
    seen: list = []
    main_connection = connection.connection  # django.db.connection is per thread: keep this one

    def other_thread() -> None:
        from django.db import connections

        rows = by_owner_and_name.rows(variant=False, owner_id=platform.pk, name="alpha")
        seen.append((len(rows), connections["default"].connection is not main_connection))
        connections.close_all()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert seen == [(1, True)]

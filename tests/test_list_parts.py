"""The lists read as a UNION of parts (images/access.py *_parts, images/listing.py first_rows) are
exactly the lists the rules define: same images, no image twice, same pages in the same order."""

import itertools
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from dashboard.identity import scopes_for
from images import access, listing
from images.access import Tab
from images.listing import DIRECTIONS, SORTS, paginate
from images.models import CommunityTrigram, Image, ImageMember, MemberStatus, Visibility

VISIBILITIES = [Visibility.PRIVATE, Visibility.SHARED, Visibility.COMMUNITY, Visibility.PUBLIC]
STATUSES = [None, MemberStatus.PENDING, MemberStatus.ACCEPTED, MemberStatus.REJECTED]


@pytest.fixture
def mixed_world(make_image, platform, app_team, data_team, ops):
    """Every visibility × every share status of app-team and data-team, owned by three projects,
    some hidden, some without size, and names that repeat (the id breaks ties)."""
    n = 0
    for owner, visibility, to_app, to_data in itertools.product(
        [platform, app_team, data_team], VISIBILITIES, STATUSES, [None, MemberStatus.ACCEPTED]
    ):
        members = {}
        if to_app and owner != app_team:
            members[app_team] = to_app
        if to_data and owner != data_team:
            members[data_team] = to_data
        n += 1
        make_image(
            f"image-{n % 7}",
            owner=owner,
            visibility=visibility,
            members=members,
            os_hidden=n % 5 == 0,
            size=None if n % 3 == 0 else n * 1000,
        )


@pytest.fixture
def scopes(alice, bob, dave, carol, root):
    return [scopes_for(user, None) for user in (alice, bob, dave, carol, root)]


def _ids(qs) -> list:
    return list(qs.values_list("pk", flat=True))


def _assert_same_set(parts, whole) -> None:
    part_ids = [pk for part in parts for pk in _ids(part)]
    assert len(part_ids) == len(set(part_ids)), "an image is in two parts"
    assert set(part_ids) == set(_ids(whole))


@pytest.mark.parametrize("tab", Tab.ALL)
def test_the_pages_parts_are_exactly_each_tabs_list(mixed_world, scopes, tab):
    for scope, status, hidden in itertools.product(scopes, [None, *MemberStatus.values], [False, True]):
        parts = access.listed_image_parts(scope, tab=tab, member_status=status, show_hidden=hidden)
        whole = access.listed_images(scope, tab=tab, member_status=status, show_hidden=hidden)
        _assert_same_set(parts, whole)


@pytest.mark.parametrize("visibility", [None, *access.API_VISIBILITIES])
def test_the_apis_parts_are_exactly_its_list(mixed_world, scopes, visibility):
    for scope, status, hidden in itertools.product(
        scopes, [None, *access.API_MEMBER_STATUSES], [False, True]
    ):
        parts = access.api_listed_image_parts(
            scope, visibility=visibility, member_status=status, hidden=hidden
        )
        whole = access.api_listed_images(scope, visibility=visibility, member_status=status, hidden=hidden)
        _assert_same_set(parts, whole)


def _walk(source, sort: str, direction: str) -> list:
    rows, after = [], None
    for _ in range(100):
        page = paginate(source, sort=sort, direction=direction, after=after, size=4)
        rows += [(image.pk, image.my_status, image.owner.name) for image in page.rows]
        if page.next_cursor is None:
            return rows
        after = page.next_cursor
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize("sort,direction", list(itertools.product(SORTS, DIRECTIONS)))
def test_it_pages_through_the_parts_as_through_the_whole_list(mixed_world, bob, sort, direction):
    scope = scopes_for(bob, None)
    for tab in (Tab.CATALOG, Tab.SHARED):
        parts = access.listed_image_parts(scope, tab=tab, show_hidden=True)
        whole = access.listed_images(scope, tab=tab, show_hidden=True)
        by_parts, by_whole = _walk(parts, sort, direction), _walk(whole, sort, direction)
        assert by_parts == by_whole
        assert len(by_parts) == whole.count() > 4


def test_the_shares_keep_their_images_sort_keys(make_image, bob, app_team, data_team):
    """The part "shared with me" is read in the order of the member rows' copies of their images'
    name and creation time (ImageMember.image_name, image_created_at), which the database keeps
    equal to the image's whatever writes it: a share made, an image renamed by save() or by an
    UPDATE, its creation time changed. Paging by the parts stays paging by the rules."""
    images = [
        make_image(f"shared-{n}", visibility=Visibility.SHARED, members={app_team: MemberStatus.ACCEPTED})
        for n in range(6)
    ]
    ImageMember.objects.create(image=images[0], member=data_team)
    images[0].name = "zz-renamed-last"
    images[0].save()
    Image.objects.filter(pk=images[1].pk).update(name="aa-renamed-first")
    Image.objects.filter(pk=images[2].pk).update(created_at=timezone.now() - timedelta(days=3))
    copies = ImageMember.objects.values_list(
        "image_name", "image_created_at", "image__name", "image__created_at"
    )
    assert copies.count() == 7
    assert all(
        (name, created) == (image_name, image_created) for name, created, image_name, image_created in copies
    )
    scope = scopes_for(bob, None)
    parts = access.listed_image_parts(scope, tab=Tab.SHARED)
    whole = access.listed_images(scope, tab=Tab.SHARED)
    for sort, direction in itertools.product(["name", "created"], DIRECTIONS):
        assert _walk(parts, sort, direction) == _walk(whole, sort, direction)
    by_name = [pk for pk, _, _ in _walk(parts, "name", "asc")]
    assert by_name[0] == images[1].pk and by_name[-1] == images[0].pk


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="community postings exist on PostgreSQL only"
)


def _postings(image: Image) -> set[str]:
    return set(CommunityTrigram.objects.filter(image=image).values_list("trigram", flat=True))


@postgresql_only
def test_the_community_postings_follow_names_and_visibility(make_image):
    image = make_image("Ubuntu-22.04 Ärger", visibility=Visibility.COMMUNITY)
    assert _postings(image) == {"UBU", "BUN", "UNT", "NTU", "ÄRG", "RGE", "GER"}
    Image.objects.filter(pk=image.pk).update(name="deb-12")
    assert _postings(image) == {"DEB"}
    image.refresh_from_db()
    image.visibility = Visibility.PRIVATE
    image.save()
    assert _postings(image) == set()
    Image.objects.filter(pk=image.pk).update(visibility=Visibility.COMMUNITY)
    assert _postings(image) == {"DEB"}
    image.delete()
    assert not CommunityTrigram.objects.exists()


def _community_search(scope, term: str) -> list:
    rows, after = [], None
    for _ in range(100):
        parts = access.listed_image_parts(scope, tab=Tab.COMMUNITY)
        page = paginate(
            parts, search=term, sort="name", direction="asc", after=after, size=3, match_first=True
        )
        rows += [(image.pk, image.my_status, image.owner.name) for image in page.rows]
        if page.next_cursor is None:
            return rows
        after = page.next_cursor
    raise AssertionError("pagination did not end")


@postgresql_only
def test_community_search_walks_a_trigrams_postings_to_the_same_pages(make_image, bob, monkeypatch):
    names = [
        "Ubuntu-22.04",
        "ubuntu",
        "my UBUNTU minimal",
        "xubuntu.x",
        "Über-ubuntu",
        "debian-12",
        "ubuntu",
        "ubun-tu",
        "ärger ubuntu",
        "Ubuntu 24.04 (noble)",
    ]
    for n, name in enumerate(names * 2):
        make_image(name, visibility=Visibility.COMMUNITY, os_hidden=n % 7 == 0)
    make_image("ubuntu private", visibility=Visibility.PRIVATE)
    scope = scopes_for(bob, None)
    terms = [
        "ubuntu",
        "UbUnTu",
        "buntu",
        "ubuntu-22.04",
        "tu 24",
        "über-ub",
        "ärger ubu",
        "(noble)",
        "ubun-tu",
    ]
    walked = {term: _community_search(scope, term) for term in terms}
    monkeypatch.setattr(listing, "term_trigrams", lambda term: [])
    for term in terms:
        assert walked[term] == _community_search(scope, term), term
    assert len(walked["ubuntu"]) > 3


@postgresql_only
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("show_hidden", [False, True])
def test_a_community_searchs_first_page_by_its_compiled_query_is_the_paginated_one(
    make_image, bob, direction, show_hidden
):
    names = ["Ubuntu-22.04", "ubuntu", "my UBUNTU minimal", "deb_100%", "deb\\x", "debx", "a_b", "aXb"]
    for n, name in enumerate(names * 3):
        make_image(name, visibility=Visibility.COMMUNITY, os_hidden=n % 4 == 0)
    scope = scopes_for(bob, None)
    # Terms whose LIKE pattern needs escaping too: %, _ and \ match only themselves.
    for term in ["ubuntu", "UBU", "ubuntu-22", "100%", "deb\\", "a_b", "nothing here", "%", "x"]:
        for size in (2, 50):
            compiled = listing.search_first_page(
                scope.project_id,
                tab=Tab.COMMUNITY,
                search=term,
                show_hidden=show_hidden,
                direction=direction,
                size=size,
            )
            parts = access.listed_image_parts(scope, tab=Tab.COMMUNITY, show_hidden=show_hidden)
            paginated = paginate(
                parts, search=term, sort="name", direction=direction, after=None, size=size, match_first=True
            )
            if not listing.term_trigrams(term):
                assert compiled is None, term
                continue
            assert compiled is not None
            shown = [(image.pk, image.my_status, image.owner.name) for image in compiled.rows]
            assert shown == [(image.pk, image.my_status, image.owner.name) for image in paginated.rows], term
            assert (compiled.next_cursor is None) == (paginated.next_cursor is None), term

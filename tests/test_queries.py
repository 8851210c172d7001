"""Pinned query counts: list and detail pages cost the same whatever the number of rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.models import Project
from images.models import ImageMember, MemberStatus, Visibility


@pytest.fixture
def world(make_image, app_team, platform):
    def build(n_images: int, n_members: int = 0):
        for i in range(n_images):
            visibility = [Visibility.PRIVATE, Visibility.SHARED, Visibility.PUBLIC, Visibility.COMMUNITY][
                i % 4
            ]
            members = {app_team: MemberStatus.PENDING} if visibility == Visibility.SHARED else {}
            make_image(f"image-{i:04d}", visibility=visibility, members=members)
        shared = make_image("golden", visibility=Visibility.SHARED, members={app_team: MemberStatus.ACCEPTED})
        others = Project.objects.bulk_create(Project(name=f"team-{i:03d}") for i in range(n_members))
        ImageMember.objects.bulk_create(ImageMember(image=shared, member=p) for p in others)
        return shared

    return build


@pytest.fixture(autouse=True)
def steady_session(client_alice, client_bob, client_root):
    """One request first, so the session already holds the current project (as it does in use)."""
    for client in (client_alice, client_bob, client_root):
        client.get("/project/images/?tab=project")


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("n", [5, 200])
def test_it_lists_images_in_constant_queries(client_bob, world, django_assert_num_queries, n, settings):
    settings.IMAGES_PAGE_SIZE = 1000  # the whole list on one page: rows must not add queries
    world(n)
    # 1 session (+user, +role assignments, +projects), 2 images page, 3 quota usage bars with the
    # header's two badges
    with django_assert_num_queries(3):
        response = client_bob.get("/project/images/")
    assert response.content.decode().count('id="row-') >= n // 2


@pytest.mark.parametrize("tab", ["project", "shared", "public", "community&search=1"])
def test_every_tab_costs_the_same(client_bob, world, django_assert_num_queries, tab):
    world(40)
    # 1 session (+user, +role assignments, +projects), 2 images page, 3 quota usage bars with the
    # header's two badges
    with django_assert_num_queries(3):
        client_bob.get(f"/project/images/?tab={tab}")


@pytest.mark.parametrize("n_members", [3, 120])
def test_it_shows_the_members_tab_in_constant_queries(
    client_alice, world, django_assert_num_queries, n_members
):
    image = world(5, n_members=n_members)
    # 1 session (+user, +role assignments, +projects), 2 image (+owner, +my share status),
    # 3 members (+project), 4 pending-share badge
    with django_assert_num_queries(4):
        response = client_alice.get(f"/project/images/{image.pk}/?tab=members")
    assert response.content.decode().count('<tr id="member-') == n_members + 1


def test_it_shows_the_detail_page_to_a_target_in_constant_queries(
    client_bob, world, django_assert_num_queries
):
    image = world(5, n_members=50)
    # 1 session (+user, +role assignments, +projects), 2 image (+owner), 3 my share,
    # 4 pending-share badge
    with django_assert_num_queries(4):
        client_bob.get(f"/project/images/{image.pk}/")


def test_the_admin_page_does_not_grow_with_images(client_root, world):
    world(5)
    small = _count(client_root, "/admin/images/")
    world(100)
    assert _count(client_root, "/admin/images/") == small

"""Notifications: what others did that concerns the current project, an unread count in the
header, mark read, and Accept / Reject right from the inbox."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.identity import scopes_for
from images import services
from images.models import ImageMember, MemberStatus, ShareEvent, Visibility


def _badge(client) -> str:
    page = client.get("/project/images/").content.decode()
    start = page.index('id="unread-badge"')
    return page[start : page.index("</a>", start)]


def _notices(client) -> str:
    return client.get("/project/notifications/").content.decode()


@pytest.fixture
def golden(make_image):
    return make_image("golden-ubuntu", visibility=Visibility.SHARED)


@pytest.fixture
def shared(alice, golden, app_team):
    services.image_share(scope=scopes_for(alice, None), image=golden, project_id=app_team.pk)
    return golden


def test_the_target_is_told_of_a_new_share_and_can_accept_it_there(client_bob, shared, app_team):
    page = _notices(client_bob)
    assert "platform</strong> shared" in page and "golden-ubuntu</a> with you" in page
    assert 'aria-label="Accept golden-ubuntu"' in page and 'aria-label="Reject golden-ubuntu"' in page

    response = client_bob.post(
        f"/project/images/{shared.pk}/share/", {"status": "accepted", "next": "/project/notifications/"}
    )

    assert response.status_code == 302 and response["Location"] == "/project/notifications/"
    assert ImageMember.objects.get(image=shared, member=app_team).status == MemberStatus.ACCEPTED
    after = _notices(client_bob)
    assert 'aria-label="Accept golden-ubuntu"' not in after
    assert 'Your share is now <span class="share share-accepted">accepted' in after


def test_a_reader_sees_the_new_share_without_the_buttons(client_dave, shared):
    page = _notices(client_dave)
    assert "golden-ubuntu</a> with you" in page and 'aria-label="Accept golden-ubuntu"' not in page


def test_the_owner_is_told_of_the_answer(client_alice, bob, shared):
    services.member_accept(scope=scopes_for(bob, None), image=shared)

    page = _notices(client_alice)

    assert "app-team</strong> accepted <strong>golden-ubuntu</strong>" in page
    assert "shared <strong>golden-ubuntu" not in page  # its own action is in Activity, not in the inbox


def test_the_target_is_told_of_a_removal_and_of_a_deletion(alice, bob, client_bob, make_image, app_team):
    a = scopes_for(alice, None)
    gone = make_image("gone", visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING})
    used = make_image("used", visibility=Visibility.SHARED, members={app_team: MemberStatus.ACCEPTED})

    services.member_remove(scope=a, image=gone, project_id=app_team.pk)
    services.image_delete(scope=a, image=used)

    page = _notices(client_bob)
    assert "platform</strong> removed <strong>gone</strong>: it has left your catalog" in page
    assert "<strong>used</strong> you use was deleted by platform" in page


def test_an_outsider_is_told_nothing(client_carol, shared, bob):
    services.member_accept(scope=scopes_for(bob, None), image=shared)

    assert "golden-ubuntu" not in _notices(client_carol)
    assert ">0</span>" in _badge(client_carol)


def test_the_header_counts_unread_notifications_until_they_are_marked_read(
    client_bob, alice, make_image, app_team
):
    a = scopes_for(alice, None)
    assert ">0</span>" in _badge(client_bob)
    for name in ("one", "two"):
        image = make_image(name, visibility=Visibility.SHARED)
        services.image_share(scope=a, image=image, project_id=app_team.pk)
    assert 'Notifications <span class="badge badge-hot">2</span>' in _badge(client_bob)
    assert _notices(client_bob).count('<span class="tag">new</span>') == 2

    response = client_bob.post("/project/notifications/read/")

    assert response.status_code == 302
    assert 'Notifications <span class="badge">0</span>' in _badge(client_bob)
    assert '<span class="tag">new</span>' not in _notices(client_bob)
    services.image_share(
        scope=a, image=make_image("three", visibility=Visibility.SHARED), project_id=app_team.pk
    )
    assert 'Notifications <span class="badge badge-hot">1</span>' in _badge(client_bob)


def test_read_markers_are_per_user(client_bob, client_dave, shared):
    client_bob.post("/project/notifications/read/")

    assert 'Notifications <span class="badge">0</span>' in _badge(client_bob)
    assert 'Notifications <span class="badge badge-hot">1</span>' in _badge(client_dave)


def test_mark_read_is_a_post(client_bob, shared):
    assert client_bob.get("/project/notifications/read/").status_code == 405


def test_the_accept_from_the_inbox_goes_through_the_target_rules(client_carol, shared):
    # data-team cannot answer a share that is not its own (the image is invisible to it: 404).
    response = client_carol.post(f"/project/images/{shared.pk}/share/", {"status": "accepted"})
    assert response.status_code == 404
    assert ShareEvent.objects.filter(kind="accepted").count() == 0


@pytest.fixture(autouse=True)
def steady_session(request):
    for name in ("client_alice", "client_bob"):
        if name in request.fixturenames:
            request.getfixturevalue(name).get("/project/images/?tab=project")


@pytest.mark.parametrize("n", [2, 40])
def test_the_inbox_costs_the_same_whatever_the_number_of_notices(
    client_bob, alice, make_image, app_team, django_assert_num_queries, n
):
    a = scopes_for(alice, None)
    for i in range(n):
        services.image_share(
            scope=a, image=make_image(f"img-{i}", visibility=Visibility.SHARED), project_id=app_team.pk
        )
    # 1 session (+user, +role assignments, +projects), 2 read marker,
    # 3 notices (+owner, +target, +my share status), 4 pending shares (+owner),
    # 5 header badges (pending and unread in one query)
    with django_assert_num_queries(5):
        response = client_bob.get("/project/notifications/")
    assert response.content.decode().count('class="notice') == n


def test_both_header_badges_are_one_query(client_bob, shared):
    with CaptureQueriesContext(connection) as ctx:
        page = client_bob.get("/project/images/?tab=project").content.decode()
    assert (
        'Pending shares <span class="badge badge-hot">1</span>' in page
        and 'Notifications <span class="badge badge-hot">1</span>' in page
    )
    badges = [q["sql"] for q in ctx.captured_queries if "images_shareevent" in q["sql"]]
    assert len(badges) == 1 and "images_imagemember" in badges[0]

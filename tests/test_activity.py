"""The sharing activity trail: each change records its event once, in its transaction; each
project sees only the events that concern it; nobody edits them."""

import threading

import pytest
from django.db import connection
from django.test import Client

from dashboard.identity import scopes_for
from dashboard.models import Project
from images import access, services
from images.models import EventKind, Image, MemberStatus, ShareEvent, Visibility

HX = {"HTTP_HX_REQUEST": "true"}


def _events(**filters) -> list[tuple]:
    return list(
        ShareEvent.objects.filter(**filters)
        .order_by("id")
        .values_list("kind", "target__name", "actor_name", "from_status", "to_status")
    )


def test_it_records_a_share_once_with_who_and_with_whom(client_alice, make_image, app_team):
    image = make_image("golden-ubuntu", visibility=Visibility.SHARED)

    client_alice.post(f"/project/images/{image.pk}/members/", {"project_id": app_team.pk}, **HX)
    client_alice.post(f"/project/images/{image.pk}/members/", {"project_id": app_team.pk}, **HX)  # duplicate

    assert _events() == [("shared", "app-team", "alice", "", "pending")]
    event = ShareEvent.objects.get()
    assert (event.image_id, event.image_name, event.owner.name) == (image.pk, "golden-ubuntu", "platform")


def test_it_records_making_a_private_image_shared_with_the_members_it_restores(
    client_alice, make_image, app_team, data_team
):
    image = make_image(visibility=Visibility.PRIVATE, members={data_team: MemberStatus.ACCEPTED})

    client_alice.post(f"/project/images/{image.pk}/members/", {"project_id": app_team.pk}, **HX)

    assert _events() == [
        ("visibility", None, "alice", "private", "shared"),
        ("shared", "app-team", "alice", "", "pending"),
    ]
    visibility = ShareEvent.objects.get(kind=EventKind.VISIBILITY)
    assert visibility.detail == {
        "effect": "restored",
        "members": [{"id": data_team.pk, "name": "data-team", "status": "accepted"}],
    }


@pytest.mark.parametrize(
    ("before", "status", "kind"),
    [
        (MemberStatus.PENDING, MemberStatus.ACCEPTED, "accepted"),
        (MemberStatus.PENDING, MemberStatus.REJECTED, "rejected"),
        (MemberStatus.REJECTED, MemberStatus.PENDING, "pending"),
    ],
)
def test_it_records_each_answer_once(client_bob, make_image, app_team, before, status, kind):
    image = make_image(visibility=Visibility.SHARED, members={app_team: before})

    for _ in range(2):  # the same answer twice changes, and records, once
        client_bob.post(f"/project/images/{image.pk}/share/", {"status": status})

    assert _events() == [(kind, "app-team", "bob", before, status)]


def test_it_records_a_removal(client_alice, make_image, app_team):
    image = make_image(visibility=Visibility.SHARED, members={app_team: MemberStatus.ACCEPTED})

    client_alice.post(f"/project/images/{image.pk}/members/{app_team.pk}/remove/")
    client_alice.post(f"/project/images/{image.pk}/members/{app_team.pk}/remove/")  # gone already

    assert _events() == [("removed", "app-team", "alice", "accepted", "")]


def test_it_records_the_members_a_visibility_change_makes_dormant(client_alice, make_image, app_team):
    image = make_image(visibility=Visibility.SHARED, members={app_team: MemberStatus.ACCEPTED})
    form = {"name": image.name, "visibility": "private", "min_disk": 0, "min_ram": 0}

    client_alice.post(f"/project/images/{image.pk}/edit/", form)

    assert _events() == [("visibility", None, "alice", "shared", "private")]
    assert ShareEvent.objects.get().detail == {
        "effect": "dormant",
        "members": [{"id": app_team.pk, "name": "app-team", "status": "accepted"}],
    }


def test_it_records_no_event_for_an_edit_that_keeps_the_visibility(client_alice, make_image, app_team):
    image = make_image(visibility=Visibility.SHARED, members={app_team: MemberStatus.ACCEPTED})
    form = {"name": "renamed", "visibility": "shared", "min_disk": 0, "min_ram": 0}

    client_alice.post(f"/project/images/{image.pk}/edit/", form)

    assert _events() == []


def test_it_records_a_visibility_change_through_the_image_api(alice, make_image, app_team):
    image = make_image(visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING})

    services.image_patch(
        scope=scopes_for(alice, None),
        image=image,
        operations=[{"op": "replace", "path": "/visibility", "value": "community"}],
    )

    assert _events() == [("visibility", None, "alice", "shared", "community")]


def test_it_records_a_deletion_for_each_member(client_alice, make_image, app_team, data_team):
    image = make_image(
        visibility=Visibility.SHARED,
        members={app_team: MemberStatus.ACCEPTED, data_team: MemberStatus.PENDING},
    )

    client_alice.post(f"/project/images/{image.pk}/delete/", {"confirm_users": "1"})

    assert not Image.objects.filter(pk=image.pk).exists()
    assert sorted(_events()) == [
        ("deleted", "app-team", "alice", "accepted", ""),
        ("deleted", "data-team", "alice", "pending", ""),
    ]


def test_it_records_nothing_when_an_image_without_members_is_deleted(client_alice, make_image):
    image = make_image()

    client_alice.post(f"/project/images/{image.pk}/delete/")

    assert _events() == []


def test_it_records_nothing_when_the_change_is_refused(client_dave, client_alice, make_image, app_team):
    image = make_image(visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING}, protected=True)

    client_dave.post(f"/project/images/{image.pk}/share/", {"status": "accepted"})  # reader
    client_alice.post(f"/project/images/{image.pk}/share/", {"status": "accepted"})  # owner
    client_alice.post(f"/project/images/{image.pk}/delete/")  # protected

    assert _events() == []


def test_it_never_changes_a_recorded_event(client_alice, make_image, app_team):
    image = make_image(visibility=Visibility.SHARED)
    client_alice.post(f"/project/images/{image.pk}/members/", {"project_id": app_team.pk}, **HX)
    event = ShareEvent.objects.get()

    event.kind = "accepted"
    with pytest.raises(ValueError, match="never changed"):
        event.save()
    assert ShareEvent.objects.get().kind == "shared"


@pytest.mark.django_db(transaction=True)
def test_it_records_an_answer_once_when_two_requests_race(bob, make_image, app_team):
    image = make_image(visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING})
    barrier = threading.Barrier(2, timeout=10)

    def accept():
        try:
            client = Client()
            client.force_login(bob)
            barrier.wait()
            client.post(f"/project/images/{image.pk}/share/", {"status": "accepted"})
        finally:
            connection.close()

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "the two answers deadlocked"

    assert _events() == [("accepted", "app-team", "bob", "pending", "accepted")]


@pytest.mark.django_db(transaction=True)
def test_it_records_a_removal_once_when_two_requests_race(alice, make_image, app_team):
    image = make_image(visibility=Visibility.SHARED, members={app_team: MemberStatus.ACCEPTED})
    barrier = threading.Barrier(2, timeout=10)

    def remove():
        try:
            client = Client()
            client.force_login(alice)
            barrier.wait()
            client.post(f"/project/images/{image.pk}/members/{app_team.pk}/remove/")
        finally:
            connection.close()

    threads = [threading.Thread(target=remove) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "the two removals deadlocked"

    assert _events() == [("removed", "app-team", "alice", "accepted", "")]


# Who sees which events


@pytest.fixture
def history(alice, bob, carol, make_image, app_team, data_team):
    """golden: shared with app-team, accepted; secret: shared with data-team; gone: shared with
    app-team, then removed; dropped: shared with app-team, then deleted."""
    a, b = scopes_for(alice, None), scopes_for(bob, None)
    golden = make_image("golden", visibility=Visibility.SHARED)
    services.image_share(scope=a, image=golden, project_id=app_team.pk)
    services.member_accept(scope=b, image=golden)
    secret = make_image("secret", visibility=Visibility.SHARED)
    services.image_share(scope=a, image=secret, project_id=data_team.pk)
    gone = make_image("gone", visibility=Visibility.SHARED)
    services.image_share(scope=a, image=gone, project_id=app_team.pk)
    services.member_remove(scope=a, image=gone, project_id=app_team.pk)
    dropped = make_image("dropped", visibility=Visibility.SHARED)
    services.image_share(scope=a, image=dropped, project_id=app_team.pk)
    services.image_delete(scope=a, image=dropped)
    return {"golden": golden, "secret": secret, "gone": gone}


def _seen(scope) -> list[tuple[str, str]]:
    return sorted((e.kind, e.image_name) for e in access.project_events(scope))


def test_the_owner_sees_every_event_about_its_images(alice, history):
    assert _seen(scopes_for(alice, None)) == [
        ("accepted", "golden"),
        ("deleted", "dropped"),
        ("removed", "gone"),
        ("shared", "dropped"),
        ("shared", "golden"),
        ("shared", "gone"),
        ("shared", "secret"),
    ]


def test_the_target_sees_its_own_events_and_the_farewells_only(bob, history):
    # Not "secret" (data-team's share); of "gone" and "dropped" only how they left.
    assert _seen(scopes_for(bob, None)) == [
        ("accepted", "golden"),
        ("deleted", "dropped"),
        ("removed", "gone"),
        ("shared", "golden"),
    ]


def test_an_outsider_sees_nothing_of_others_shares(carol, history, client_carol):
    assert _seen(scopes_for(carol, None)) == [("shared", "secret")]
    page = client_carol.get("/project/activity/").content.decode()
    assert "golden" not in page and "secret" in page


def test_the_target_stops_seeing_old_events_once_the_image_is_private(alice, bob, history):
    services.image_update(
        scope=scopes_for(alice, None), image=history["golden"], changes={"visibility": "private"}
    )

    assert ("shared", "golden") not in _seen(scopes_for(bob, None))
    assert ("visibility", "golden") in _seen(scopes_for(alice, None))


def test_the_admin_page_lists_all_events_filtered_by_project_and_image(client_root, history, data_team):
    everything = client_root.get("/admin/activity/").content.decode()
    assert everything.count('<tr id="event-') == ShareEvent.objects.count() == 7

    of_data_team = client_root.get(f"/admin/activity/?project={data_team.pk}").content.decode()
    assert of_data_team.count('<tr id="event-') == 1 and "secret" in of_data_team

    of_golden = client_root.get(f"/admin/activity/?image={history['golden'].pk}").content.decode()
    assert of_golden.count('<tr id="event-') == 2


def test_only_platform_admins_open_the_admin_activity_page(client_alice, history):
    assert client_alice.get("/admin/activity/").status_code == 403


def test_the_activity_tab_is_the_owners(client_alice, client_bob, client_root, history):
    url = f"/project/images/{history['golden'].pk}/?tab=activity"

    owner = client_alice.get(url).content.decode()
    assert owner.count('<tr id="event-') == 2
    assert "app-team</strong> accepted <strong>golden" in owner
    assert client_root.get(url).content.decode().count('<tr id="event-') == 2
    target = client_bob.get(url).content.decode()
    assert 'id="tab-activity"' not in target and '<tr id="event-' not in target


def test_event_text_is_escaped(client_alice, make_image, app_team):
    image = make_image("<b>bold</b>", visibility=Visibility.SHARED)
    client_alice.post(f"/project/images/{image.pk}/members/", {"project_id": app_team.pk}, **HX)

    page = client_alice.get("/project/activity/").content.decode()

    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page


# Query counts


@pytest.fixture
def many_events(alice, make_image, app_team):
    def build(n: int):
        others = Project.objects.bulk_create(Project(name=f"team-{i:03d}") for i in range(n))
        image = make_image("busy", visibility=Visibility.SHARED)
        scope = scopes_for(alice, None)
        for project in [app_team, *others]:
            services.image_share(scope=scope, image=image, project_id=project.pk)
        return image

    return build


@pytest.fixture(autouse=True)
def steady_session(request):
    """One request first, so the session already holds the current project (as it does in use)."""
    for name in ("client_alice", "client_bob", "client_root"):
        if name in request.fixturenames:
            request.getfixturevalue(name).get("/project/images/?tab=project")


@pytest.mark.parametrize("n", [3, 60])
def test_the_activity_pages_cost_the_same_whatever_the_number_of_events(
    client_alice, client_root, many_events, django_assert_num_queries, n
):
    image = many_events(n)
    # 1 session (+user, +role assignments, +projects), 2 events (+owner, +target), 3 header badges
    with django_assert_num_queries(3):
        client_alice.get("/project/activity/")
    # 1 session (+user, +role assignments, +projects), 2 events, 3 projects for the filter,
    # 4 header badges
    with django_assert_num_queries(4):
        client_root.get("/admin/activity/")
    # 1 session (+user, +role assignments, +projects), 2 image (+owner, +my share status), 3 events,
    # 4 header badges
    with django_assert_num_queries(4):
        response = client_alice.get(f"/project/images/{image.pk}/?tab=activity")
    assert response.content.decode().count('<tr id="event-') == min(n + 1, 50)


def test_the_activity_page_continues_after_the_last_event_shown(client_alice, many_events):
    many_events(60)

    first = client_alice.get("/project/activity/").content.decode()
    last_shown = ShareEvent.objects.order_by("-id")[49].pk
    second = client_alice.get(f"/project/activity/?before={last_shown}").content.decode()

    assert first.count('<tr id="event-') == 50 and f"before={last_shown}" in first
    assert second.count('<tr id="event-') == 11


def test_nobody_edits_events_through_the_pages(client_alice, client_root, many_events):
    many_events(1)
    assert client_alice.post("/project/activity/").status_code == 405
    assert client_root.post("/admin/activity/").status_code == 405
    assert ShareEvent.objects.count() == 2

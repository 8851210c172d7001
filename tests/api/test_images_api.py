"""Image API v2 subset: every answer goes through the same access rules and services as the
dashboard, with Glance's status codes and error bodies (JSON when asked for, as here)."""

import pytest

from images.models import Image, ImageMember, MemberStatus, Status, Visibility
from tests.disk_images import qcow2

ACCEPTED, PENDING, REJECTED = MemberStatus.ACCEPTED, MemberStatus.PENDING, MemberStatus.REJECTED


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(image["name"] for image in response.json()["images"])


def error(response, status: int) -> str:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"].startswith(str(status)) and body["title"]
    return body["message"]


# Discovery, schemas, usage


def test_it_answers_version_discovery(client):
    root = client.get("/image/")
    listing = client.get("/image/versions")

    assert root.status_code == 300
    current = root.json()["versions"][0]
    assert current["status"] == "CURRENT"
    assert current["links"][0]["href"] == "http://testserver/image/v2/"
    assert listing.status_code == 200


@pytest.mark.parametrize("name", ["image", "images", "member", "members"])
def test_it_serves_the_schemas(api_alice, name):
    response = api_alice.get(f"/image/v2/schemas/{name}")

    assert response.status_code == 200
    assert response.json()["name"] == name


def test_it_reports_quota_usage(api_alice, make_image):
    make_image("a", size=10)

    usage = api_alice.get("/image/v2/info/usage").json()["usage"]

    assert usage["image_count_total"]["usage"] == 1
    assert usage["image_size_total"]["usage"] == 10


def test_it_refuses_requests_without_a_token(client, make_image):
    response = client.get("/image/v2/images", headers={"Accept": "application/json"})

    assert "Authenticate first" in error(response, 401)


# Create, show, update, delete


def test_a_new_image_is_private_and_owned_by_the_callers_project(api_alice, platform):
    response = api_alice.post(
        "/image/v2/images",
        {
            "name": "base",
            "disk_format": "qcow2",
            "container_format": "bare",
            "os_distro": "ubuntu",
            "tags": ["a"],
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body["visibility"] == "private"
    assert body["status"] == "queued"
    assert body["owner"] == platform.pk
    assert body["os_distro"] == "ubuntu"
    assert body["tags"] == ["a"]
    assert response["Location"].endswith(f"/image/v2/images/{body['id']}")


def test_a_reader_cannot_create_images(api_dave):
    assert "reader" in error(api_dave.post("/image/v2/images", {"name": "x"}), 403)


def test_a_non_admin_cannot_create_a_public_image(api_alice):
    error(api_alice.post("/image/v2/images", {"name": "x", "visibility": "public"}), 403)
    assert not Image.objects.exists()


def test_it_refuses_read_only_fields_on_create(api_alice):
    assert "read-only" in error(api_alice.post("/image/v2/images", {"name": "x", "status": "active"}), 403)


def test_it_refuses_bad_field_values_on_create(api_alice):
    error(api_alice.post("/image/v2/images", {"name": "x", "disk_format": "floppy"}), 400)
    error(api_alice.post("/image/v2/images", {"name": "x", "min_ram": -1}), 400)
    error(api_alice.post("/image/v2/images", "not json"), 400)


def test_invisible_and_malformed_images_are_404(api_carol, make_image):
    private = make_image("secret")

    assert "No image found" in error(api_carol.get(f"/image/v2/images/{private.pk}"), 404)
    error(api_carol.get("/image/v2/images/not-a-uuid"), 404)
    error(api_carol.delete(f"/image/v2/images/{private.pk}"), 404)


def test_the_owner_updates_with_a_json_patch(api_alice, make_image):
    image = make_image("old", properties={"gone": "x"})
    operations = [
        {"op": "replace", "path": "/name", "value": "new"},
        {"op": "add", "path": "/os_distro", "value": "ubuntu"},
        {"op": "remove", "path": "/gone"},
        {"op": "replace", "path": "/os_hidden", "value": True},
        {"op": "replace", "path": "/min_disk", "value": 10},
    ]

    response = api_alice.patch(f"/image/v2/images/{image.pk}", operations)

    assert response.status_code == 200
    image.refresh_from_db()
    assert (image.name, image.properties, image.os_hidden, image.min_disk) == (
        "new",
        {"os_distro": "ubuntu"},
        True,
        10,
    )
    assert response.json()["os_distro"] == "ubuntu"


def test_a_patch_needs_the_json_patch_content_type(api_alice, make_image):
    image = make_image()

    response = api_alice.patch(f"/image/v2/images/{image.pk}", [], content_type="application/json")

    error(response, 415)
    assert response["Accept-Patch"] == "application/openstack-images-v2.1-json-patch"


@pytest.mark.parametrize("path", ["/status", "/size", "/checksum", "/owner", "/id", "/created_at"])
def test_a_patch_of_a_read_only_field_is_403_and_changes_nothing(api_alice, make_image, path):
    image = make_image("keep")
    operations = [
        {"op": "replace", "path": "/name", "value": "changed"},
        {"op": "replace", "path": path, "value": "x"},
    ]

    assert "read-only" in error(api_alice.patch(f"/image/v2/images/{image.pk}", operations), 403)
    image.refresh_from_db()
    assert image.name == "keep"


def test_a_patch_replacing_a_missing_property_is_409(api_alice, make_image):
    image = make_image()

    error(
        api_alice.patch(f"/image/v2/images/{image.pk}", [{"op": "replace", "path": "/nope", "value": "x"}]),
        409,
    )
    error(api_alice.patch(f"/image/v2/images/{image.pk}", [{"op": "remove", "path": "/nope"}]), 409)


def test_a_malformed_patch_is_400(api_alice, make_image):
    image = make_image()

    error(api_alice.patch(f"/image/v2/images/{image.pk}", [{"op": "move", "path": "/name"}]), 400)
    error(api_alice.patch(f"/image/v2/images/{image.pk}", [{"op": "add", "path": "/a/b", "value": "x"}]), 400)
    error(api_alice.patch(f"/image/v2/images/{image.pk}", {"op": "add"}), 400)


def test_a_non_admin_cannot_make_an_image_public_but_an_admin_can(api_alice, api_root, make_image):
    image = make_image(visibility=Visibility.SHARED)
    public = [{"op": "replace", "path": "/visibility", "value": "public"}]

    assert "platform admin" in error(api_alice.patch(f"/image/v2/images/{image.pk}", public), 403)
    assert api_root.patch(f"/image/v2/images/{image.pk}", public).json()["visibility"] == "public"


def test_a_member_cannot_change_the_image(api_bob, app_team, make_image):
    image = make_image(visibility=Visibility.SHARED, members={app_team: ACCEPTED})

    error(
        api_bob.patch(f"/image/v2/images/{image.pk}", [{"op": "replace", "path": "/name", "value": "x"}]), 403
    )
    error(api_bob.delete(f"/image/v2/images/{image.pk}"), 403)


def test_a_protected_image_cannot_be_deleted(api_alice, make_image):
    image = make_image(protected=True)

    assert "protected" in error(api_alice.delete(f"/image/v2/images/{image.pk}"), 403)
    assert Image.objects.filter(pk=image.pk).exists()


def test_the_owner_deletes_an_image(api_alice, make_image):
    image = make_image()

    assert api_alice.delete(f"/image/v2/images/{image.pk}").status_code == 204
    assert not Image.objects.filter(pk=image.pk).exists()


def test_tags_are_added_and_removed(api_alice, make_image):
    image = make_image()

    assert api_alice.put(f"/image/v2/images/{image.pk}/tags/gpu").status_code == 204
    assert api_alice.put(f"/image/v2/images/{image.pk}/tags/gpu").status_code == 204
    image.refresh_from_db()
    assert image.tags == ["gpu"]
    assert api_alice.delete(f"/image/v2/images/{image.pk}/tags/gpu").status_code == 204
    error(api_alice.delete(f"/image/v2/images/{image.pk}/tags/gpu"), 404)


def test_the_owners_members_and_admins_deactivate_and_reactivate(api_alice, api_root, make_image):
    image = make_image(status=Status.ACTIVE)

    assert api_alice.post(f"/image/v2/images/{image.pk}/actions/deactivate").status_code == 204
    image.refresh_from_db()
    assert image.status == Status.DEACTIVATED
    assert api_root.post(f"/image/v2/images/{image.pk}/actions/reactivate").status_code == 204
    image.refresh_from_db()
    assert image.status == Status.ACTIVE
    assert api_root.post(f"/image/v2/images/{image.pk}/actions/deactivate").status_code == 204
    assert api_alice.post(f"/image/v2/images/{image.pk}/actions/reactivate").status_code == 204


def test_readers_and_other_projects_may_not_deactivate(api_as, api_bob, erin, platform, make_image):
    image = make_image(status=Status.ACTIVE, visibility=Visibility.PUBLIC)
    api_erin = api_as(erin, platform)

    assert "role on this project is reader" in error(
        api_erin.post(f"/image/v2/images/{image.pk}/actions/deactivate"), 403
    )
    assert "Only the owner project (platform) or a platform admin" in error(
        api_bob.post(f"/image/v2/images/{image.pk}/actions/deactivate"), 403
    )
    image.refresh_from_db()
    assert image.status == Status.ACTIVE


def test_a_reader_may_not_download(api_as, erin, platform, make_image, fs_store):
    from tests.test_upload import services_upload

    image = services_upload(make_image(status=Status.QUEUED, disk_format="raw", container_format="bare"))

    refused = api_as(erin, platform).get(f"/image/v2/images/{image.pk}/file")

    assert "reader" in error(refused, 403)


# Lists


@pytest.fixture
def catalog(make_image, platform, app_team, data_team):
    """What bob (app-team) can meet: one image of every kind."""
    make_image("own", owner=app_team)
    make_image("own-hidden", owner=app_team, os_hidden=True)
    make_image("public", visibility=Visibility.PUBLIC)
    make_image("community", visibility=Visibility.COMMUNITY)
    make_image("private-other")
    make_image("accepted", visibility=Visibility.SHARED, members={app_team: ACCEPTED})
    make_image("pending", visibility=Visibility.SHARED, members={app_team: PENDING})
    make_image("rejected", visibility=Visibility.SHARED, members={app_team: REJECTED})
    make_image("dormant", visibility=Visibility.PRIVATE, members={app_team: ACCEPTED})
    make_image("other-share", visibility=Visibility.SHARED, members={data_team: ACCEPTED})


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", ["accepted", "own", "pending", "public"]),
        ("?visibility=public", ["public"]),
        ("?visibility=private", ["own"]),
        ("?visibility=community", ["community"]),
        ("?visibility=shared", ["accepted", "pending"]),
        ("?visibility=shared&member_status=pending", ["pending"]),
        ("?visibility=shared&member_status=rejected", ["rejected"]),
        ("?visibility=shared&member_status=all", ["accepted", "pending", "rejected"]),
        ("?visibility=all", ["accepted", "community", "own", "pending", "public"]),
        ("?os_hidden=true", ["own-hidden"]),
        ("?name=public", ["public"]),
        ("?owner=PLATFORM&visibility=all", ["accepted", "community", "pending", "public"]),
    ],
)
def test_the_list_filters_follow_the_access_rules(api_bob, catalog, platform, query, expected):
    assert names(api_bob.get("/image/v2/images" + query.replace("PLATFORM", platform.pk))) == expected


def test_an_admin_lists_every_image_with_visibility_all(api_root, catalog):
    assert len(names(api_root.get("/image/v2/images?visibility=all&os_hidden=false"))) == 9


def test_the_list_filters_by_status_size_tag_and_property(api_alice, make_image):
    make_image("small", size=10, tags=["gpu"], properties={"os_distro": "ubuntu"})
    make_image("big", size=1000, tags=["cpu"], properties={"os_distro": "debian"})
    make_image("empty", status=Status.QUEUED)

    assert names(api_alice.get("/image/v2/images?status=queued")) == ["empty"]
    assert names(api_alice.get("/image/v2/images?size_min=100")) == ["big"]
    assert names(api_alice.get("/image/v2/images?size_max=100")) == ["small"]
    assert names(api_alice.get("/image/v2/images?tag=gpu")) == ["small"]
    assert names(api_alice.get("/image/v2/images?os_distro=debian")) == ["big"]


def test_the_list_sorts_and_pages_with_next_links(api_alice, make_image):
    for name in ["c", "a", "d", "b", "e"]:
        make_image(name)

    first = api_alice.get("/image/v2/images?sort_key=name&sort_dir=asc&limit=2").json()
    second = api_alice.get("/image/v2/images?" + first["next"].split("?", 1)[1]).json()
    third = api_alice.get("/image/v2/images?" + second["next"].split("?", 1)[1]).json()

    pages = [[image["name"] for image in page["images"]] for page in (first, second, third)]
    assert pages == [["a", "b"], ["c", "d"], ["e"]]
    assert "next" not in third
    assert first["schema"] == "/v2/schemas/images"
    # first: the query without the marker; next: the query too, with the new marker.
    assert first["first"] == second["first"] == "/v2/images?sort_key=name&sort_dir=asc&limit=2"
    assert second["next"].startswith("/v2/images?sort_key=name&sort_dir=asc&limit=2&marker=")
    assert names(api_alice.get("/image/v2/images?sort=name:desc&limit=1")) == ["e"]


def test_links_keep_repeated_parameters_and_a_bare_list_links_to_the_bare_first_page(api_alice, make_image):
    for name in ["a", "b"]:
        make_image(name, tags=["gpu", "x86"])

    page = api_alice.get("/image/v2/images?tag=gpu&tag=x86&limit=1").json()

    assert page["first"] == "/v2/images?tag=gpu&tag=x86&limit=1"
    assert page["next"].startswith("/v2/images?tag=gpu&tag=x86&limit=1&marker=")
    assert api_alice.get("/image/v2/images").json()["first"] == "/v2/images"


@pytest.mark.parametrize(
    "query",
    [
        "sort_key=colour",
        "sort_dir=sideways",
        "limit=-1",
        "limit=ten",
        "marker=6d1c4f0e-0000-4000-8000-000000000000",
        "marker=nope",
        "visibility=everyone",
        "member_status=maybe",
        "size_min=big",
        "sort=name:asc&sort_key=name",
    ],
)
def test_bad_list_parameters_are_400(api_alice, query):
    error(api_alice.get("/image/v2/images?" + query), 400)


def test_the_list_runs_in_constant_queries(api_alice, make_image, django_assert_num_queries):
    for i in range(30):
        make_image(f"image-{i}")

    # 1 token with its user and project, 2 images page
    with django_assert_num_queries(2):
        api_alice.get("/image/v2/images?limit=20")


# Members


def test_the_owner_shares_a_shared_image_and_the_target_accepts(api_alice, api_bob, app_team, make_image):
    image = make_image(visibility=Visibility.SHARED)

    added = api_alice.post(f"/image/v2/images/{image.pk}/members", {"member": app_team.pk})
    accepted = api_bob.put(f"/image/v2/images/{image.pk}/members/{app_team.pk}", {"status": "accepted"})

    assert added.status_code == 200
    assert added.json()["status"] == "pending"
    assert accepted.json()["status"] == "accepted"
    assert ImageMember.objects.get().status == ACCEPTED


def test_only_shared_images_have_members(api_alice, app_team, make_image):
    image = make_image(visibility=Visibility.PRIVATE)

    message = error(api_alice.post(f"/image/v2/images/{image.pk}/members", {"member": app_team.pk}), 403)

    assert "Only shared images have members" in message
    assert "Only shared images have members" in error(
        api_alice.get(f"/image/v2/images/{image.pk}/members"), 403
    )
    image.refresh_from_db()
    assert image.visibility == Visibility.PRIVATE


def test_a_duplicate_member_is_409(api_alice, app_team, make_image):
    image = make_image(visibility=Visibility.SHARED, members={app_team: REJECTED})

    assert "rejected" in error(
        api_alice.post(f"/image/v2/images/{image.pk}/members", {"member": app_team.pk}), 409
    )


def test_a_member_over_the_limit_is_413(api_alice, app_team, data_team, make_image, settings):
    settings.IMAGE_MEMBER_QUOTA = 1
    image = make_image(visibility=Visibility.SHARED, members={data_team: PENDING})

    error(api_alice.post(f"/image/v2/images/{image.pk}/members", {"member": app_team.pk}), 413)


@pytest.mark.parametrize("member", ["not-a-project", "0" * 32])
def test_a_member_must_be_an_existing_project(api_alice, make_image, member):
    image = make_image(visibility=Visibility.SHARED)

    error(api_alice.post(f"/image/v2/images/{image.pk}/members", {"member": member}), 400)


def test_the_owner_cannot_change_a_members_status(api_alice, app_team, make_image):
    image = make_image(visibility=Visibility.SHARED, members={app_team: PENDING})

    error(api_alice.put(f"/image/v2/images/{image.pk}/members/{app_team.pk}", {"status": "accepted"}), 403)
    assert ImageMember.objects.get().status == PENDING


def test_a_reader_cannot_accept(api_dave, app_team, make_image):
    image = make_image(visibility=Visibility.SHARED, members={app_team: PENDING})

    error(api_dave.put(f"/image/v2/images/{image.pk}/members/{app_team.pk}", {"status": "accepted"}), 403)


def test_a_bad_member_status_is_400(api_bob, app_team, make_image):
    image = make_image(visibility=Visibility.SHARED, members={app_team: PENDING})

    error(api_bob.put(f"/image/v2/images/{image.pk}/members/{app_team.pk}", {"status": "maybe"}), 400)


def test_a_target_sees_only_its_own_membership(api_bob, app_team, data_team, make_image):
    image = make_image(visibility=Visibility.SHARED, members={app_team: PENDING, data_team: ACCEPTED})

    listed = api_bob.get(f"/image/v2/images/{image.pk}/members").json()["members"]

    assert [m["member_id"] for m in listed] == [app_team.pk]
    error(api_bob.get(f"/image/v2/images/{image.pk}/members/{data_team.pk}"), 404)


def test_a_removed_member_can_no_longer_see_the_image(api_alice, api_bob, app_team, make_image):
    image = make_image(visibility=Visibility.SHARED, members={app_team: ACCEPTED})

    assert api_alice.delete(f"/image/v2/images/{image.pk}/members/{app_team.pk}").status_code == 204

    error(api_bob.get(f"/image/v2/images/{image.pk}"), 404)


def test_members_survive_shared_private_shared_with_their_status(api_alice, api_bob, app_team, make_image):
    image = make_image(visibility=Visibility.SHARED, members={app_team: ACCEPTED})

    def visibility(value):
        return api_alice.patch(
            f"/image/v2/images/{image.pk}", [{"op": "replace", "path": "/visibility", "value": value}]
        )

    visibility("private")
    error(api_bob.get(f"/image/v2/images/{image.pk}"), 404)
    visibility("shared")

    assert api_bob.get(f"/image/v2/images/{image.pk}/members/{app_team.pk}").json()["status"] == "accepted"


def test_a_pending_member_sees_the_image_but_cannot_download_it(api_bob, app_team, make_image):
    image = make_image(visibility=Visibility.SHARED, members={app_team: PENDING}, size=3, checksum="x")

    assert api_bob.get(f"/image/v2/images/{image.pk}").status_code == 200
    assert "accept the share first" in error(api_bob.get(f"/image/v2/images/{image.pk}/file"), 403)


def test_image_data_goes_up_and_comes_back(api_alice, make_image, settings, tmp_path):
    settings.IMAGE_STORE_DIR = tmp_path
    image = make_image(status=Status.QUEUED, disk_format="raw")
    data = bytes(range(256)) * 40

    uploaded = api_alice.put(
        f"/image/v2/images/{image.pk}/file", data, content_type="application/octet-stream"
    )
    downloaded = api_alice.get(f"/image/v2/images/{image.pk}/file")

    assert uploaded.status_code == 204
    assert b"".join(downloaded.streaming_content) == data
    shown = api_alice.get(f"/image/v2/images/{image.pk}").json()
    assert shown["status"] == "active" and shown["size"] == shown["virtual_size"] == len(data)


@pytest.mark.parametrize(
    "unsafe, reason",
    [
        (qcow2(backing_file="/etc/passwd"), "names a backing file"),
        (qcow2(data_file="/etc/shadow"), "names an external data file"),
    ],
)
def test_a_qcow2_naming_host_files_is_a_400_and_the_image_stays_queued(
    api_alice, make_image, fs_store, unsafe, reason
):
    image = make_image(status=Status.QUEUED, disk_format="qcow2")

    refused = api_alice.put(
        f"/image/v2/images/{image.pk}/file", unsafe, content_type="application/octet-stream"
    )

    assert reason in error(refused, 400)
    image.refresh_from_db()
    assert image.status == Status.QUEUED and image.size is None and fs_store.keys() == []


def test_a_self_contained_qcow2_goes_active_with_its_virtual_size(api_alice, make_image, fs_store):
    image = make_image(status=Status.QUEUED, disk_format="qcow2")

    uploaded = api_alice.put(
        f"/image/v2/images/{image.pk}/file",
        qcow2(virtual_size=5 * 1024**3),
        content_type="application/octet-stream",
    )

    assert uploaded.status_code == 204
    shown = api_alice.get(f"/image/v2/images/{image.pk}").json()
    assert shown["status"] == "active" and shown["virtual_size"] == 5 * 1024**3


def test_an_upload_needs_the_octet_stream_type(api_alice, make_image):
    image = make_image(status=Status.QUEUED)

    error(api_alice.put(f"/image/v2/images/{image.pk}/file", "x", content_type="text/plain"), 415)

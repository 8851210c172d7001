"""Images through the pages: create, edit, delete, who may set public, escaping, Admin → Images."""

from urllib.parse import quote

import pytest

from images.models import Image, ImageMember, MemberStatus, Status, Visibility

CREATE = "/project/images/create/"


def _form(**fields) -> dict:
    """A create/edit form post: checkboxes are sent only when ticked, as a browser does."""
    data = {"name": "golden-ubuntu", "visibility": "private", "min_disk": 0, "min_ram": 0}
    data.update(fields)
    return {k: ("on" if v is True else v) for k, v in data.items() if v is not False}


def _edit_form(image: Image, **changes) -> dict:
    current = {
        "name": image.name,
        "visibility": image.visibility,
        "min_disk": image.min_disk,
        "min_ram": image.min_ram,
        "protected": image.protected,
        "os_hidden": image.os_hidden,
    }
    return _form(**{**current, **changes})


def _edit_url(image: Image) -> str:
    return f"/project/images/{image.pk}/edit/"


def _delete_url(image: Image) -> str:
    return f"/project/images/{image.pk}/delete/"


# Create


def test_it_offers_private_as_the_default_visibility(client_alice):
    html = client_alice.get(CREATE).content.decode()

    assert '<option value="private" selected>' in html
    assert '<option value="public" disabled>Public (platform admins only)</option>' in html


def test_it_creates_a_private_queued_image_owned_by_the_current_project(client_alice, platform):
    response = client_alice.post(CREATE, _form(disk_format="qcow2", container_format="bare", min_disk=10))

    image = Image.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/project/images/{image.pk}/"
    assert (image.name, image.owner, image.visibility, image.status) == (
        "golden-ubuntu",
        platform,
        Visibility.PRIVATE,
        Status.QUEUED,
    )
    assert (image.disk_format, image.container_format, image.min_disk) == ("qcow2", "bare", 10)
    detail = client_alice.get(response["Location"]).content.decode()
    assert "Image golden-ubuntu created (queued, no data yet)." in detail


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"min_disk": -1}, "Ensure this value is greater than or equal to 0."),
        ({"min_ram": "lots"}, "Enter a whole number."),
        ({"disk_format": "exe"}, "Select a valid choice."),
        ({"visibility": "everyone"}, "Select a valid choice."),
    ],
)
def test_it_refuses_an_invalid_create_next_to_the_field(client_alice, fields, message):
    response = client_alice.post(CREATE, _form(**fields))

    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Image.objects.exists()


# Edit


def test_it_edits_name_visibility_protected_and_minimums(client_alice, make_image):
    image = make_image("golden-ubuntu")

    response = client_alice.post(
        _edit_url(image),
        _edit_form(
            image,
            name="golden-ubuntu-24.04",
            visibility="community",
            protected=True,
            min_disk=20,
            min_ram=2048,
        ),
    )

    assert response.status_code == 302
    image.refresh_from_db()
    assert (image.name, image.visibility, image.protected, image.min_disk, image.min_ram) == (
        "golden-ubuntu-24.04",
        Visibility.COMMUNITY,
        True,
        20,
        2048,
    )
    assert "Image golden-ubuntu-24.04 saved." in client_alice.get(response["Location"]).content.decode()


def test_it_unsets_protected_when_the_box_is_cleared(client_alice, make_image):
    image = make_image("golden-ubuntu", protected=True)

    client_alice.post(_edit_url(image), _edit_form(image, protected=False))

    image.refresh_from_db()
    assert image.protected is False


def test_it_shows_the_current_values_in_the_edit_form(client_alice, make_image):
    image = make_image("golden-ubuntu", visibility=Visibility.SHARED, min_disk=7, protected=True)

    html = client_alice.get(_edit_url(image)).content.decode()

    assert 'value="golden-ubuntu"' in html
    assert '<option value="shared" selected>' in html
    assert 'value="7"' in html
    assert 'id="id_protected" checked' in html


# Delete


def test_it_refuses_to_delete_a_protected_image(client_alice, make_image, app_team):
    image = make_image(
        "golden-ubuntu", visibility=Visibility.SHARED, protected=True, members={app_team: "accepted"}
    )

    page = client_alice.get(_delete_url(image)).content.decode()
    response = client_alice.post(_delete_url(image))

    assert "This image is protected." in page
    assert "Delete Image</button>" not in page
    assert response.status_code == 403
    assert (
        "golden-ubuntu is protected and cannot be deleted. Unset Protected first."
        in response.content.decode()
    )
    assert Image.objects.filter(pk=image.pk).exists()
    assert ImageMember.objects.filter(image=image).exists()


def test_it_deletes_an_unprotected_image_and_its_members(client_alice, client_bob, make_image, app_team):
    image = make_image(
        "golden-ubuntu", visibility=Visibility.SHARED, members={app_team: MemberStatus.ACCEPTED}
    )

    page = client_alice.get(_delete_url(image)).content.decode()
    response = client_alice.post(_delete_url(image), {"confirm_users": "1"})  # issue 6: confirmed

    assert "1 project accepted this image" in page
    assert response.status_code == 302
    assert response["Location"] == "/project/images/"
    assert not Image.objects.filter(pk=image.pk).exists()
    assert not ImageMember.objects.exists()
    assert client_bob.get(f"/project/images/{image.pk}/").status_code == 404
    assert "Image golden-ubuntu deleted." in client_alice.get("/project/images/").content.decode()


# Public is for platform admins


def test_it_refuses_a_crafted_create_of_a_public_image_by_a_non_admin(client_alice):
    response = client_alice.post(CREATE, _form(visibility="public"))

    assert response.status_code == 422
    assert "Only a platform admin can make an image public." in response.content.decode()
    assert not Image.objects.exists()


def test_it_refuses_a_crafted_edit_to_public_by_a_non_admin(client_alice, make_image):
    image = make_image("golden-ubuntu", visibility=Visibility.SHARED)

    response = client_alice.post(_edit_url(image), _edit_form(image, visibility="public", name="renamed"))

    assert response.status_code == 422
    assert "Only a platform admin can make an image public." in response.content.decode()
    image.refresh_from_db()
    # The whole edit is refused, not just the visibility.
    assert (image.visibility, image.name) == (Visibility.SHARED, "golden-ubuntu")


def test_it_lets_a_platform_admin_make_any_projects_image_public(client_root, make_image):
    image = make_image("golden-ubuntu")

    response = client_root.post(_edit_url(image), _edit_form(image, visibility="public"))

    assert response.status_code == 302
    image.refresh_from_db()
    assert image.visibility == Visibility.PUBLIC


def test_it_lets_a_platform_admin_create_a_public_image(client_root, ops):
    html = client_root.get(CREATE).content.decode()
    assert '<option value="public">Public</option>' in html

    assert client_root.post(CREATE, _form(visibility="public")).status_code == 302
    assert Image.objects.get().visibility == Visibility.PUBLIC


@pytest.mark.parametrize("visibility", [Visibility.PRIVATE, Visibility.SHARED, Visibility.COMMUNITY])
def test_it_lets_the_owner_take_a_public_image_back(client_alice, client_carol, make_image, visibility):
    image = make_image("golden-ubuntu", visibility=Visibility.PUBLIC)

    response = client_alice.post(_edit_url(image), _edit_form(image, visibility=visibility))

    assert response.status_code == 302
    image.refresh_from_db()
    assert image.visibility == visibility
    assert f'id="row-{image.pk}"' not in client_carol.get("/project/images/").content.decode()


def test_it_lets_the_owner_edit_a_public_image_without_touching_visibility(client_alice, make_image):
    image = make_image("golden-ubuntu", visibility=Visibility.PUBLIC)

    html = client_alice.get(_edit_url(image)).content.decode()
    response = client_alice.post(_edit_url(image), _edit_form(image, min_ram=512))

    assert '<option value="public" selected>' in html
    assert response.status_code == 302
    image.refresh_from_db()
    assert (image.visibility, image.min_ram) == (Visibility.PUBLIC, 512)


# Escaping

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_it_escapes_html_in_names_and_properties_on_list_and_detail(client_alice, client_root, make_image):
    image = make_image(HOSTILE, properties={"<b>os_distro</b>": HOSTILE}, tags=[HOSTILE])
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"

    pages = {
        "list": client_alice.get("/project/images/"),
        "detail": client_alice.get(f"/project/images/{image.pk}/"),
        "members": client_alice.get(f"/project/images/{image.pk}/?tab=members"),
        "edit": client_alice.get(_edit_url(image)),
        "delete": client_alice.get(_delete_url(image)),
        "admin": client_root.get("/admin/images/"),
    }

    for name, response in pages.items():
        html = response.content.decode()
        assert response.status_code == 200, name
        assert "<script>alert" not in html, name
        assert "<img src=x" not in html, name
        assert escaped in html or "&lt;script&gt;alert(&#34;x&#34;)" in html, name
    detail = pages["detail"].content.decode()
    assert "<code>&lt;b&gt;os_distro&lt;/b&gt;</code>" in detail
    assert f'value="{escaped}"' in detail  # the owner's inline editor holds the value


def test_it_escapes_hostile_names_in_every_list_tab_and_in_a_row_re_rendered_after_an_answer(
    client_bob, make_image, app_team, platform
):
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    platform.name = HOSTILE  # the owner column shows the owner project's name
    platform.save()
    shared = make_image(HOSTILE, visibility=Visibility.SHARED, members={app_team: MemberStatus.PENDING})
    make_image(HOSTILE + " community", visibility=Visibility.COMMUNITY)

    pages = {
        "catalog": client_bob.get("/project/images/"),
        "shared": client_bob.get("/project/images/?tab=shared"),
        "community": client_bob.get("/project/images/?tab=community&search=1&q=" + quote(HOSTILE)),
        "htmx table": client_bob.get(
            "/project/images/?tab=shared", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="image-table"
        ),
        "row after accept": client_bob.post(
            f"/project/images/{shared.pk}/share/",
            {"status": "accepted", "region": "row"},
            HTTP_HX_REQUEST="true",
        ),
    }

    for name, response in pages.items():
        html = response.content.decode()
        assert response.status_code == 200, name
        assert "<script>alert" not in html and "<img src=x" not in html, name
        assert escaped in html, name
    assert f'aria-label="Accept {escaped}"' in pages["shared"].content.decode()
    assert f'aria-label="Reject {escaped}"' in pages["shared"].content.decode()
    assert f'<td data-label="Owner">{escaped}</td>' in pages["row after accept"].content.decode()
    community = pages["community"].content.decode()
    assert f'value="{escaped}"' in community  # the search box holds the term as typed
    assert f"{escaped} community</a>" in community


def test_it_stores_a_name_with_html_as_typed_and_shows_it_escaped(client_alice):
    response = client_alice.post(CREATE, _form(name=HOSTILE), follow=True)

    assert Image.objects.get().name == HOSTILE
    html = response.content.decode()
    assert "<script>alert" not in html
    assert "Image &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_it_escapes_a_project_name_with_html_in_the_member_list(client_alice, make_image, db):
    from dashboard.models import Project

    hostile = Project.objects.create(name="<i>evil</i>")
    image = make_image("golden-ubuntu", visibility=Visibility.SHARED, members={hostile: MemberStatus.PENDING})

    html = client_alice.get(f"/project/images/{image.pk}/?tab=members").content.decode()

    assert "<i>evil</i>" not in html
    assert "&lt;i&gt;evil&lt;/i&gt;" in html


def test_it_escapes_hostile_member_names_and_ids_in_the_rows_and_their_links(client_alice, make_image, db):
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone
    from django.utils.html import escape

    from dashboard.models import Project

    hostile = Project.objects.create(id='a"b<c>&d e', name='"><script>alert(1)</script>')
    image = make_image(
        "golden-ubuntu", visibility=Visibility.SHARED, members={hostile: MemberStatus.ACCEPTED}
    )
    image.members.update(expires_at=timezone.now() + timedelta(days=3))

    html = client_alice.get(f"/project/images/{image.pk}/?tab=members").content.decode()

    assert "<script>alert(1)" not in html
    assert 'aria-label="Remove &#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert '<tr id="member-a&#34;b&lt;c&gt;&amp;d e">' in html
    url = escape(reverse("images:member-remove", args=[image.pk, hostile.pk]))
    assert f'href="{url}"' in html and f'hx-get="{url}"' in html
    assert "until the end of <time datetime=" in html


# Readers


def test_it_does_not_let_a_reader_create_images(client_dave):
    listing = client_dave.get("/project/images/").content.decode()
    page = client_dave.get(CREATE)
    response = client_dave.post(CREATE, _form())

    assert "Create Image</a>" not in listing
    assert page.status_code == 403
    assert response.status_code == 403
    assert "Your role on this project is reader" in response.content.decode()
    assert not Image.objects.exists()


def test_it_does_not_let_a_reader_edit_or_delete_their_projects_images(client_dave, make_image, app_team):
    image = make_image("team-build", owner=app_team)

    detail = client_dave.get(f"/project/images/{image.pk}/").content.decode()
    responses = [
        client_dave.get(_edit_url(image)),
        client_dave.post(_edit_url(image), _edit_form(image, name="renamed", protected=True)),
        client_dave.get(_delete_url(image)),
        client_dave.post(_delete_url(image)),
    ]

    assert "Edit Image</a>" not in detail
    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert "Your role on this project is reader" in responses[1].content.decode()
    image.refresh_from_db()
    assert (image.name, image.protected) == ("team-build", False)


@pytest.mark.parametrize("visibility", [Visibility.SHARED, Visibility.COMMUNITY, Visibility.PUBLIC])
def test_it_does_not_let_another_project_edit_or_delete_an_image_it_can_see(
    client_bob, make_image, app_team, visibility
):
    members = {app_team: MemberStatus.ACCEPTED} if visibility == Visibility.SHARED else None
    image = make_image("golden-ubuntu", visibility=visibility, members=members)

    edit = client_bob.post(_edit_url(image), _edit_form(image, name="mine-now"))
    delete = client_bob.post(_delete_url(image))

    assert (edit.status_code, delete.status_code) == (403, 403)
    assert "Only the owner project (platform) can change this image." in edit.content.decode()
    image.refresh_from_db()
    assert image.name == "golden-ubuntu"


# Admin → Images


def test_it_lists_every_projects_images_for_a_platform_admin(client_root, make_image, app_team, data_team):
    images = [
        make_image("platform-private"),
        make_image("app-shared", owner=app_team, visibility=Visibility.SHARED),
        make_image("data-hidden", owner=data_team, os_hidden=True),
        make_image("data-community", owner=data_team, visibility=Visibility.COMMUNITY),
    ]

    response = client_root.get("/admin/images/")

    html = response.content.decode()
    assert response.status_code == 200
    for image in images:
        assert f'href="/project/images/{image.pk}/"' in html, image.name
    by_owner = client_root.get(f"/admin/images/?owner={data_team.pk}").content.decode()
    assert "platform-private" not in by_owner
    assert "data-hidden" in by_owner and "data-community" in by_owner
    assert client_root.get(f"/project/images/{images[0].pk}/").status_code == 200


def test_it_shows_the_admin_menu_only_to_platform_admins(client_root, client_alice):
    assert 'href="/admin/images/"' in client_root.get("/project/images/").content.decode()
    assert 'href="/admin/images/"' not in client_alice.get("/project/images/").content.decode()


@pytest.mark.parametrize("client_name", ["client_alice", "client_bob", "client_dave", "client_carol"])
def test_it_refuses_admin_images_to_everyone_else(request, make_image, client_name):
    make_image("platform-private")
    client = request.getfixturevalue(client_name)

    response = client.get("/admin/images/")

    assert response.status_code == 403
    assert "platform-private" not in response.content.decode()

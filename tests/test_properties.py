"""Tags and properties on the image's Overview: who sees and edits them, the catalog's checks,
reserved keys, limits; each change as a plain form post and as an htmx re-render."""

import json

import pytest
from django.contrib.auth import get_user_model

from dashboard.identity import scopes_for
from dashboard.models import Role, RoleAssignment
from images import properties, services
from images.models import MemberStatus, Visibility
from tests.conftest import PASSWORD

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(image, action: str = "") -> str:
    return f"/project/images/{image.pk}/{action}"


def set_property(client, image, key, value, *, origin="new", htmx=False):
    data = {"key": key, "value": value, "origin": origin}
    return client.post(url(image, "properties/"), data, **(HTMX if htmx else {}))


def announced(response) -> str:
    return json.loads(response["HX-Trigger"])["announce"]["text"]


@pytest.fixture
def image(make_image, app_team):
    """Owned by platform (alice), shared with and accepted by app-team (bob; dave is its reader)."""
    return make_image(
        "golden-ubuntu",
        visibility=Visibility.SHARED,
        members={app_team: MemberStatus.ACCEPTED},
        properties={"os_distro": "ubuntu", "build": "2024-06"},
        tags=["lts"],
    )


@pytest.fixture
def client_erin(client, platform):
    """A reader of the owner project."""
    erin = get_user_model().objects.create_user(username="erin", password=PASSWORD)
    RoleAssignment.objects.create(user=erin, project=platform, role=Role.READER)
    client.force_login(erin)
    return client


# The owner edits, without JavaScript and with htmx


def test_the_owner_adds_changes_and_removes_a_property_with_plain_forms(client_alice, image):
    added = set_property(client_alice, image, "hw_disk_bus", "virtio")
    assert added.status_code == 302
    assert added["Location"] == url(image) + "#properties"
    page = client_alice.get(added["Location"]).content.decode()
    assert "Property hw_disk_bus added." in page
    assert 'data-key="hw_disk_bus"' in page

    changed = set_property(client_alice, image, "hw_disk_bus", "scsi", origin="row")
    assert changed.status_code == 302
    assert "Property hw_disk_bus changed." in client_alice.get(changed["Location"]).content.decode()

    removed = client_alice.post(url(image, "properties/remove/"), {"key": "build"})
    assert removed.status_code == 302
    image.refresh_from_db()
    assert image.properties == {"os_distro": "ubuntu", "hw_disk_bus": "scsi"}


def test_the_owner_edits_properties_inline_with_htmx(client_alice, image):
    added = set_property(client_alice, image, "hw_qemu_guest_agent", "yes", htmx=True)
    assert added.status_code == 200
    panel = added.content.decode()
    assert panel.lstrip().startswith('<section id="properties-panel"')
    assert 'data-key="hw_qemu_guest_agent"' in panel and 'value="yes"' in panel
    assert "<html" not in panel
    assert announced(added) == "Property hw_qemu_guest_agent added."

    changed = set_property(client_alice, image, "os_distro", "debian", origin="row", htmx=True)
    assert announced(changed) == "Property os_distro changed."
    removed = client_alice.post(url(image, "properties/remove/"), {"key": "build"}, **HTMX)
    assert removed.status_code == 200
    assert 'data-key="build"' not in removed.content.decode()
    assert announced(removed) == "Property build removed."
    image.refresh_from_db()
    assert image.properties == {"os_distro": "debian", "hw_qemu_guest_agent": "yes"}


def test_the_owner_adds_and_removes_tags(client_alice, image):
    assert client_alice.post(url(image, "tags/"), {"tag": "gpu"}).status_code == 302
    added = client_alice.post(url(image, "tags/"), {"tag": " cuda-12 "}, **HTMX)
    assert added.status_code == 200
    assert 'aria-label="Remove tag cuda-12"' in added.content.decode()
    removed = client_alice.post(url(image, "tags/remove/"), {"tag": "lts"}, **HTMX)
    assert announced(removed) == "Tag lts removed."
    again = client_alice.post(url(image, "tags/remove/"), {"tag": "lts"})
    assert again.status_code == 302  # already gone: nothing to refuse
    image.refresh_from_db()
    assert image.tags == ["gpu", "cuda-12"]


def test_a_platform_admin_edits_another_projects_properties(client_root, image):
    assert set_property(client_root, image, "hw_firmware_type", "uefi").status_code == 302
    image.refresh_from_db()
    assert image.properties["hw_firmware_type"] == "uefi"


def test_min_disk_and_min_ram_set_the_images_own_fields(client_alice, image):
    response = set_property(client_alice, image, "min_ram", "2048", htmx=True)
    assert response.status_code == 200
    assert announced(response) == "Minimum RAM set to 2048."
    # The Overview's facts are swapped out of band, so they agree with the editor.
    assert '<span id="fact-min_ram" hx-swap-oob="true">2048 MB</span>' in response.content.decode()
    image.refresh_from_db()
    assert image.min_ram == 2048 and "min_ram" not in image.properties
    refused = set_property(client_alice, image, "min_disk", "-1", htmx=True)
    assert refused.status_code == 422
    assert "min_disk is a whole number, 0 or more" in refused.content.decode()
    removal = client_alice.post(url(image, "properties/remove/"), {"key": "min_ram"}, **HTMX)
    assert removal.status_code == 422 and "set it to 0" in removal.content.decode()


# Who may edit: members and readers see, only the owner (and admins) edit


@pytest.mark.parametrize(
    "persona", ["bob", "dave", "erin"], ids=["target-member", "target-reader", "owner-reader"]
)
def test_members_and_readers_see_properties_but_cannot_change_them(request, image, persona):
    client = request.getfixturevalue(f"client_{persona}")
    page = client.get(url(image)).content.decode()
    assert 'data-key="os_distro"' in page and '<span class="property-value">ubuntu</span>' in page
    assert '<span class="tag">lts</span>' in page
    assert "Remove property" not in page and "Add Property" not in page and "Remove tag" not in page

    attempts = [
        set_property(client, image, "os_distro", "debian", origin="row"),
        set_property(client, image, "new_key", "x", htmx=True),
        client.post(url(image, "properties/remove/"), {"key": "build"}),
        client.post(url(image, "tags/"), {"tag": "gpu"}),
        client.post(url(image, "tags/remove/"), {"tag": "lts"}, **HTMX),
        client.get(url(image, "properties/help/") + "?key=os_type"),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    image.refresh_from_db()
    assert image.properties == {"os_distro": "ubuntu", "build": "2024-06"} and image.tags == ["lts"]


def test_an_outsider_cannot_learn_that_the_image_exists(client_carol, image):
    attempts = [
        client_carol.get(url(image)),
        set_property(client_carol, image, "os_distro", "debian"),
        client_carol.post(url(image, "properties/remove/"), {"key": "build"}),
        client_carol.post(url(image, "tags/"), {"tag": "gpu"}),
        client_carol.post(url(image, "tags/remove/"), {"tag": "lts"}),
        client_carol.get(url(image, "properties/help/") + "?key=os_type"),
    ]
    assert [r.status_code for r in attempts] == [404] * len(attempts)


def test_the_editor_needs_a_post(client_alice, image):
    assert client_alice.get(url(image, "properties/")).status_code == 405
    assert client_alice.get(url(image, "tags/remove/")).status_code == 405


# The catalog's checks


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("hw_disk_bus", "floppy", "'floppy' is not a value of hw_disk_bus. One of: fdc, ide, sata"),
        ("hw_scsi_model", "megaraid", "not a value of hw_scsi_model"),
        ("hw_vif_model", "rtl8169", "not a value of hw_vif_model"),
        ("hw_firmware_type", "efi", "One of: bios, uefi."),
        ("hw_video_model", "nvidia", "not a value of hw_video_model"),
        ("hw_rng_model", "hwrng", "not a value of hw_rng_model"),
        ("os_secure_boot", "yes", "One of: required, optional, disabled."),
        ("img_config_drive", "always", "One of: optional, mandatory."),
        ("hw_cpu_policy", "pinned", "not a value of hw_cpu_policy"),
        ("hw_cpu_thread_policy", "spread", "not a value of hw_cpu_thread_policy"),
        ("os_type", "bsd", "One of: linux, windows."),
        ("architecture", "x86", "not a value of architecture"),
        ("hypervisor_type", "esxi", "not a value of hypervisor_type"),
        ("hw_qemu_guest_agent", "maybe", "hw_qemu_guest_agent is yes or no, not 'maybe'."),
        ("hw_cpu_cores", "0", "hw_cpu_cores is a whole number, 1 or more, not '0'."),
        ("hw_cpu_sockets", "two", "hw_cpu_sockets is a whole number, 1 or more"),
        ("hw_cpu_threads", "1.5", "hw_cpu_threads is a whole number"),
        ("os_distro", "Ubuntu 24.04", "os_distro is written in lower case, without spaces"),
        ("hw_machine_type", "Q35", "hw_machine_type is written in lower case"),
    ],
)
def test_it_refuses_a_value_the_compute_service_would_not_accept(client_alice, image, key, value, message):
    response = set_property(client_alice, image, key, value, htmx=True)
    assert response.status_code == 422
    html = response.content.decode().replace("&#39;", "'")
    error = html.split('id="property-value-error"', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert f'value="{key}"' in html  # what was typed stays in the form
    image.refresh_from_db()
    assert image.properties.get(key) != value


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("architecture", "x86_64"), ("architecture", "amd64"), ("architecture", "aarch64"),
        ("os_type", "Windows"), ("hw_scsi_model", "virtio-scsi"), ("hw_vif_model", "VirtualE1000"),
        ("hw_qemu_guest_agent", "yes"), ("hw_qemu_guest_agent", "False"), ("hw_cpu_sockets", "2"),
        ("os_distro", "ubuntu"), ("os_version", "24.04 LTS"), ("hw_machine_type", "pc-q35-8.2"),
        ("os_admin_user", "Administrator"), ("owner_specified.openstack.md5", "anything at all"),
    ],
)  # fmt: skip
def test_it_accepts_what_nova_accepts_and_any_value_of_a_free_key(client_alice, image, key, value):
    assert set_property(client_alice, image, key, value).status_code == 302
    image.refresh_from_db()
    assert image.properties[key] == value


def test_a_bad_value_in_a_row_is_shown_in_that_row(client_alice, image):
    response = set_property(client_alice, image, "os_distro", "Debian Bookworm", origin="row", htmx=True)
    assert response.status_code == 422
    html = response.content.decode()
    row = html.split('data-key="os_distro"', 1)[1].split("</tr>", 1)[0]
    assert 'value="Debian Bookworm"' in row and 'aria-invalid="true"' in row
    assert "os_distro is written in lower case" in row
    assert 'id="property-value-error"' not in html  # not on the Add Property form
    image.refresh_from_db()
    assert image.properties["os_distro"] == "ubuntu"


def test_without_javascript_a_refusal_renders_the_page_with_the_error(client_alice, image):
    response = set_property(client_alice, image, "hw_disk_bus", "floppy")
    assert response.status_code == 422
    html = response.content.decode()
    assert "<html" in html and 'id="property-value-error"' in html
    assert 'aria-invalid="true"' in html


def test_it_asks_for_a_key_and_a_value(client_alice, image):
    response = set_property(client_alice, image, "  ", "", htmx=True)
    assert response.status_code == 422
    html = response.content.decode()
    assert "Enter the property&#39;s key." in html and "Enter a value, or remove the property." in html
    assert client_alice.post(url(image, "tags/"), {"tag": ""}, **HTMX).status_code == 422


# Reserved keys and the image's own attributes


@pytest.mark.parametrize("key", ["os_glance_import_task", "os_glance_failed_import", "os_glance", "deleted"])
def test_reserved_keys_are_refused(client_alice, image, key):
    response = set_property(client_alice, image, key, "x", htmx=True)
    assert response.status_code == 422
    error = response.content.decode().split('id="property-key-error"', 1)[1].split("</p>", 1)[0]
    assert f"Attribute &#39;{key}&#39; is reserved." in error
    image.refresh_from_db()
    assert key not in image.properties


@pytest.mark.parametrize(
    ("key", "message"),
    [("name", "name is an attribute of the image, not a property"), ("status", "is read-only"),
     ("visibility", "change it with Edit Image"), ("checksum", "is read-only")],
)  # fmt: skip
def test_the_images_attributes_are_not_properties(client_alice, image, key, message):
    response = set_property(client_alice, image, key, "x", htmx=True)
    assert response.status_code == 422
    assert message in response.content.decode().replace("&#39;", "'")
    image.refresh_from_db()
    assert key not in image.properties and image.name == "golden-ubuntu"


def test_the_image_api_applies_the_same_rules(alice, image):
    scope = scopes_for(alice, None)

    def patch(key, value):
        return services.image_patch(
            scope=scope, image=image, operations=[{"op": "add", "path": f"/{key}", "value": value}]
        )

    with pytest.raises(services.InvalidInput, match="not a value of hw_disk_bus"):
        patch("hw_disk_bus", "floppy")
    with pytest.raises(services.NotPermitted, match="reserved"):
        patch("os_glance_import_task", "x")
    assert patch("hw_disk_bus", "virtio").properties["hw_disk_bus"] == "virtio"


# Limits


def test_an_image_has_at_most_the_configured_number_of_properties(client_alice, image, settings, alice):
    settings.IMAGE_PROPERTY_QUOTA = 3
    assert set_property(client_alice, image, "hw_disk_bus", "virtio").status_code == 302
    refused = set_property(client_alice, image, "hw_vif_model", "virtio", htmx=True)
    assert refused.status_code == 422
    error = refused.content.decode().split('id="property-key-error"', 1)[1]
    assert "An image can have at most 3 properties. Remove one before adding another." in error
    assert "Properties (3 of at most 3)" in refused.content.decode()
    # At the limit, changing a property is still fine; and the API counts the same way.
    assert set_property(client_alice, image, "hw_disk_bus", "scsi", origin="row").status_code == 302
    with pytest.raises(services.LimitExceeded):
        services.image_patch(
            scope=scopes_for(alice, None), image=image, operations=[{"op": "add", "path": "/x", "value": "y"}]
        )
    image.refresh_from_db()
    assert image.properties == {"os_distro": "ubuntu", "build": "2024-06", "hw_disk_bus": "scsi"}


def test_an_image_has_at_most_the_configured_number_of_tags(client_alice, image, settings):
    settings.IMAGE_TAG_QUOTA = 2
    assert client_alice.post(url(image, "tags/"), {"tag": "gpu"}).status_code == 302
    refused = client_alice.post(url(image, "tags/"), {"tag": "cuda"}, **HTMX)
    assert refused.status_code == 422
    error = refused.content.decode().split('id="new-tag-error"', 1)[1]
    assert "An image can have at most 2 tags." in error
    image.refresh_from_db()
    assert image.tags == ["lts", "gpu"]


def test_a_tag_is_at_most_255_characters(client_alice, image):
    response = client_alice.post(url(image, "tags/"), {"tag": "t" * 256}, **HTMX)
    assert response.status_code == 422
    assert "1 to 255 characters" in response.content.decode()


# Suggestions and help as the key is typed


def test_the_key_field_suggests_the_well_known_keys(client_alice, image):
    page = client_alice.get(url(image)).content.decode()
    datalist = page.split('<datalist id="property-keys">', 1)[1].split("</datalist>", 1)[0]
    for key in (
        "architecture",
        "hw_disk_bus",
        "hw_cpu_cores",
        "os_secure_boot",
        "img_config_drive",
        "min_ram",
    ):
        assert f'<option value="{key}">' in datalist
    assert datalist.count("<option") == len(properties.CATALOG)
    assert "<summary>Well-known keys</summary>" in page  # the help, without JavaScript


def test_the_help_for_a_key_describes_it_and_offers_its_values(client_alice, image):
    known = client_alice.get(url(image, "properties/help/") + "?key=hw_firmware_type").content.decode()
    assert known.lstrip().startswith('<div id="property-help"')
    assert "The firmware the guest boots with." in known
    assert '<option value="bios"><option value="uefi">' in known
    boolean = client_alice.get(url(image, "properties/help/") + "?key=hw_qemu_guest_agent").content.decode()
    assert '<option value="yes"><option value="no">' in boolean
    free = client_alice.get(url(image, "properties/help/") + "?key=team<b>").content.decode()
    assert "<code>team&lt;b&gt;</code> is not a well-known key: any value will do." in free


def test_members_and_readers_see_the_help_of_well_known_keys(client_bob, image):
    page = client_bob.get(url(image)).content.decode()
    assert "The distribution, in the libosinfo vocabulary" in page


# Escaping


def test_keys_values_and_tags_are_shown_escaped(client_alice, client_bob, image):
    hostile = '<script>alert("x")</script>'
    assert set_property(client_alice, image, "<b>team</b>", hostile).status_code == 302
    assert client_alice.post(url(image, "tags/"), {"tag": "<img src=x onerror=alert(1)>"}).status_code == 302
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
    for client in (client_alice, client_bob):
        html = client.get(url(image)).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>team</b>" not in html
        assert "<code>&lt;b&gt;team&lt;/b&gt;</code>" in html
        assert escaped in html
    htmx = set_property(client_alice, image, "<b>team</b>", hostile, origin="row", htmx=True).content.decode()
    assert "<script>alert" not in htmx and escaped in htmx
    image.refresh_from_db()
    assert image.properties["<b>team</b>"] == hostile  # stored as typed

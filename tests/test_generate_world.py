"""generate_world: a deterministic world in bulk, beside the demo world, replaceable with --reset."""

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, F
from django.test import Client

from dashboard.models import Project, Role, RoleAssignment
from images.management.commands.generate_world import PASSWORD
from images.models import Image, ImageMember, Visibility

SMALL = {"projects": 12, "images": 400, "members": 300, "seed": 7}


def _generate(**options) -> str:
    out = io.StringIO()
    call_command("generate_world", **{**SMALL, **options}, stdout=out)
    return out.getvalue()


def _snapshot() -> tuple:
    images = sorted(
        Image.objects.filter(owner__name__startswith="gen-").values_list("pk", "name", "visibility", "size")
    )
    members = sorted(ImageMember.objects.values_list("image_id", "member_id", "status"))
    projects = sorted(Project.objects.filter(name__startswith="gen-").values_list("pk", "name"))
    return projects, images, members


@pytest.mark.django_db
def test_it_generates_the_asked_world_beside_the_demo_world(make_image):
    demo = make_image("golden", visibility=Visibility.SHARED)
    report = _generate()
    assert Project.objects.filter(name__startswith="gen-").count() == 12
    generated = Image.objects.filter(owner__name__startswith="gen-")
    assert generated.count() == 400
    by_visibility = dict(generated.values_list("visibility").annotate(n=Count("pk")))
    assert (
        by_visibility[Visibility.PRIVATE]
        > by_visibility[Visibility.SHARED]
        > by_visibility[Visibility.PUBLIC]
    )
    members = ImageMember.objects.all()
    assert members.count() == 300
    assert not members.exclude(image__visibility=Visibility.SHARED).exists()
    assert not members.filter(member_id=F("image__owner_id")).exists()
    assert not members.values("image", "member").annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert all(len(p) <= 5 for p in generated.values_list("properties", flat=True))
    for project in Project.objects.filter(name__startswith="gen-"):
        assert RoleAssignment.objects.filter(
            project=project, role=Role.MEMBER, user__username=project.name
        ).exists()
    assert Image.objects.get(pk=demo.pk).name == "golden"
    assert "browser:" in report and "owner:" in report


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_world_and_reset_replaces_only_it(make_image, platform):
    demo = make_image("golden", visibility=Visibility.SHARED, members={})
    _generate()
    first = _snapshot()
    _generate(reset=True)
    assert _snapshot() == first
    _generate(reset=True, seed=8)
    assert _snapshot()[1] != first[1]
    call_command("generate_world", remove=True, stdout=io.StringIO())
    assert not Project.objects.filter(name__startswith="gen-").exists()
    assert not get_user_model().objects.filter(username__startswith="gen-").exists()
    assert list(Image.objects.values_list("pk", flat=True)) == [demo.pk]
    assert Project.objects.filter(pk=platform.pk).exists()


@pytest.mark.django_db
def test_the_typical_users_sign_in_and_see_their_images():
    _generate()
    out = io.StringIO()
    call_command("generate_world", typical=True, stdout=out)
    typical = json.loads(out.getvalue())
    owner = typical["owner"]
    assert owner["members"] == ImageMember.objects.filter(image_id=owner["image_id"]).count() > 0
    client = Client()
    assert client.login(username=owner["user"], password=PASSWORD)
    page = client.get(f"/project/images/{owner['image_id']}/?tab=members")
    assert page.status_code == 200
    assert page.content.decode().count('<tr id="member-') == owner["members"]


@pytest.mark.django_db
def test_the_planner_knows_the_community_postings_it_filled(make_image):
    """The postings table is filled by triggers as the images go in: generate_world analyzes it
    too, or the planner takes it for empty and sorts every match of a community search."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the community postings exist on PostgreSQL only")
    _generate()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM images_communitytrigram")
        (postings,) = cursor.fetchone()
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'images_communitytrigram'")
        (estimated,) = cursor.fetchone()
    assert postings > 0
    assert estimated == postings

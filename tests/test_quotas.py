"""Per-project image quotas: counts and stored bytes, enforced exactly, shown as usage bars."""

import io
import threading

import pytest
from django.db import connections

from dashboard.identity import scopes_for
from images import quotas, services
from images.models import Image, ProjectQuota, Status

MiB = 1024 * 1024
CREATE = {
    "name": "one-more",
    "disk_format": "raw",
    "container_format": "bare",
    "visibility": "private",
    "min_disk": 0,
    "min_ram": 0,
}


def put(client, image, data: bytes):
    return client.put(f"/project/images/{image.pk}/file/", data, content_type="application/octet-stream")


def queued(make_image, name="q"):
    return make_image(name, status=Status.QUEUED, disk_format="raw", container_format="bare")


def test_it_refuses_to_create_an_image_beyond_the_count_quota(client_alice, make_image, settings):
    settings.IMAGE_QUOTA_COUNT_TOTAL = 2
    make_image("a"), make_image("b")
    response = client_alice.post("/project/images/create/", CREATE)
    assert response.status_code == 422
    assert "Images quota exceeded: the project uses 2 of 2" in response.content.decode()
    assert Image.objects.count() == 2


def test_a_project_override_beats_the_default(client_alice, make_image, platform, settings):
    settings.IMAGE_QUOTA_COUNT_TOTAL = 1
    make_image("a")
    ProjectQuota.objects.create(project=platform, image_count_total=-1)
    assert client_alice.post("/project/images/create/", CREATE).status_code == 302
    ProjectQuota.objects.filter(project=platform).update(image_count_total=2)
    assert client_alice.post("/project/images/create/", CREATE).status_code == 422


class Counting(io.RawIOBase):
    """A request body that counts how much of it was read."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def read(self, size=-1):
        chunk = self.data[self.pos : self.pos + (size if size and size > 0 else len(self.data))]
        self.pos += len(chunk)
        return chunk


def test_an_upload_is_refused_up_front_by_its_content_length(client_alice, make_image, settings, fs_store):
    settings.IMAGE_QUOTA_SIZE_TOTAL = 1000
    make_image("stored", size=600)
    image = queued(make_image)
    body = Counting(b"x" * 500)
    response = client_alice.generic(
        "PUT",
        f"/project/images/{image.pk}/file/",
        b"",
        CONTENT_TYPE="application/octet-stream",
        CONTENT_LENGTH="500",
        **{"wsgi.input": body},
    )
    assert response.status_code == 413
    error = response.json()["error"].replace("\xa0", " ")  # filesizeformat's no-break spaces
    assert "Image storage quota exceeded: the project uses 600 bytes of 1000 bytes" in error
    assert "this upload needs 500 bytes more" in error
    assert body.pos == 0  # not a byte of the body was read
    image.refresh_from_db()
    assert (image.status, image.upload_reserved) == (Status.QUEUED, 0)
    assert fs_store.keys() == []
    assert quotas.usage_of(image.owner_id)[quotas.SIZE_TOTAL] == 600


def test_an_upload_of_unknown_length_stops_when_the_streamed_bytes_exceed_the_quota(
    alice, make_image, settings, store
):
    settings.IMAGE_QUOTA_SIZE_TOTAL = 10 * MiB
    image = queued(make_image)
    sent = []

    def chunks():
        for _ in range(30):
            sent.append(MiB)
            yield b"z" * MiB

    with pytest.raises(services.LimitExceeded) as refused:
        services.image_upload(scope=scopes_for(alice, None), image=image, chunks=chunks())
    assert "uses 0\xa0bytes of 10.0\xa0MB, and this upload needs 11.0\xa0MB" in str(refused.value)
    assert len(sent) == 11  # aborted at the first byte over, not at the end
    image.refresh_from_db()
    assert (image.status, image.size, image.upload_reserved) == (Status.QUEUED, None, 0)
    assert store.keys() == []
    assert quotas.usage_of(image.owner_id) == {
        quotas.COUNT_TOTAL: 1,
        quotas.SIZE_TOTAL: 0,
        quotas.COUNT_UPLOADING: 0,
    }


def test_an_upload_filling_the_quota_exactly_is_accepted(client_alice, make_image, settings, fs_store):
    settings.IMAGE_QUOTA_SIZE_TOTAL = 1000
    make_image("stored", size=600)
    image = queued(make_image)
    assert put(client_alice, image, b"x" * 400).status_code == 200
    assert quotas.usage_of(image.owner_id)[quotas.SIZE_TOTAL] == 1000
    other = queued(make_image, "other")
    assert put(client_alice, other, b"x").status_code == 413


def test_it_limits_uploads_in_progress(client_alice, make_image, settings, fs_store):
    settings.IMAGE_QUOTA_COUNT_UPLOADING = 1
    make_image("busy", status=Status.SAVING, upload_reserved=10)
    image = queued(make_image)
    response = put(client_alice, image, b"data")
    assert response.status_code == 413
    assert "Uploads in progress quota exceeded: the project uses 1 of 1" in response.json()["error"]


def test_the_images_page_shows_usage_against_each_quota(client_alice, make_image, settings, fs_store):
    settings.IMAGE_QUOTA_SIZE_TOTAL = 10 * 1024**3
    settings.IMAGE_QUOTA_COUNT_TOTAL = 4
    settings.IMAGE_QUOTA_COUNT_UPLOADING = -1
    make_image("big", size=5 * 1024**3)
    page = client_alice.get("/project/images/").content.decode().replace("\xa0", " ")
    assert "5.0 GB of 10.0 GB" in page
    assert "1 of 4" in page
    assert 'data-quota="image_count_uploading"' in page and "0 of unlimited" in page
    image = queued(make_image)
    put(client_alice, image, b"x" * 1024**2)
    assert "2 of 4" in client_alice.get("/project/images/").content.decode()


def test_a_platform_admin_edits_a_projects_quotas(client_root, client_alice, app_team):
    url = f"/admin/quotas/{app_team.pk}/"
    assert client_alice.get(url).status_code == 403
    assert client_alice.post(url, {"image_count_total": "5"}).status_code == 403
    assert app_team.name in client_root.get("/admin/quotas/").content.decode()
    response = client_root.post(
        url, {"image_count_total": "5", "image_size_total": "-1", "image_count_uploading": ""}
    )
    assert response.status_code == 302
    row = ProjectQuota.objects.get(project=app_team)
    assert (row.image_count_total, row.image_size_total, row.image_count_uploading) == (5, -1, None)
    bad = client_root.post(url, {"image_count_total": "-2"})
    assert bad.status_code == 422


# Concurrency: PostgreSQL's row locks, or SQLite's one writer at a time (transactions begin IMMEDIATE).


def _race(targets):
    barrier = threading.Barrier(len(targets))
    results = [None] * len(targets)

    def run(i, target):
        try:
            barrier.wait()
            results[i] = target()
        except Exception as e:  # noqa: BLE001 - the outcome is what the test checks
            results[i] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "unknown-length"])
def test_concurrent_uploads_cannot_both_take_the_last_bytes(alice, make_image, settings, fs_store, declared):
    settings.IMAGE_QUOTA_SIZE_TOTAL = 1000
    images = [queued(make_image, f"racer-{i}") for i in range(2)]
    scope = scopes_for(alice, None)

    def upload(image):
        return lambda: services.image_upload(
            scope=scope,
            image=image,
            chunks=[b"r" * 300, b"r" * 300],
            declared_length=600 if declared else None,
        )

    results = _race([upload(i) for i in images])
    wins = [r for r in results if isinstance(r, Image)]
    losses = [r for r in results if isinstance(r, services.LimitExceeded)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert quotas.usage_of(images[0].owner_id)[quotas.SIZE_TOTAL] == 600
    assert fs_store.keys() == [str(wins[0].pk)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_cannot_exceed_the_count(alice, settings):
    settings.IMAGE_QUOTA_COUNT_TOTAL = 3
    scope = scopes_for(alice, None)
    results = _race([lambda: services.image_create(scope=scope, name="c") for _ in range(6)])
    assert sum(isinstance(r, Image) for r in results) == 3
    assert sum(isinstance(r, services.LimitExceeded) for r in results) == 3
    assert Image.objects.count() == 3


def test_the_usage_bars_are_meters_that_are_empty_at_zero_usage(client_alice, make_image, settings):
    # Inline styles are blocked by the Content-Security-Policy: a bar drawn with style="width: 0%"
    # showed full. A <meter> carries its value itself, and says it to assistive technology.
    settings.IMAGE_QUOTA_COUNT_TOTAL = 4
    settings.IMAGE_QUOTA_SIZE_TOTAL = 10 * 1024**3
    settings.IMAGE_QUOTA_COUNT_UPLOADING = -1
    html = client_alice.get("/project/images/").content.decode().replace("\xa0", " ")
    usage = html.split('id="quota-usage"', 1)[1].split("</section>", 1)[0]
    assert "style=" not in usage
    count = usage.split('<meter id="quota-image_count_total"', 1)[1].split("</meter>", 1)[0]
    assert 'min="0" max="4" value="0"' in count
    assert 'aria-labelledby="quota-image_count_total-name"' in count
    assert 'aria-valuetext="0 of 4 (0%)"' in count
    assert '<meter id="quota-image_count_uploading"' not in usage  # unlimited: no bar to fill

    make_image("big", size=5 * 1024**3)
    html = client_alice.get("/project/images/").content.decode().replace("\xa0", " ")
    size = html.split('<meter id="quota-image_size_total"', 1)[1].split("</meter>", 1)[0]
    assert f'max="{10 * 1024**3}" value="{5 * 1024**3}"' in size
    assert 'aria-valuetext="5.0 GB of 10.0 GB (50%)"' in size

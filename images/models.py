"""Images and image members, with the fields of the OpenStack Image API v2."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from dashboard.models import Project


class Visibility(models.TextChoices):
    PRIVATE = "private", "Private"
    SHARED = "shared", "Shared"
    COMMUNITY = "community", "Community"
    PUBLIC = "public", "Public"


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    SAVING = "saving", "Saving"
    ACTIVE = "active", "Active"
    KILLED = "killed", "Killed"
    DELETED = "deleted", "Deleted"
    DEACTIVATED = "deactivated", "Deactivated"
    UPLOADING = "uploading", "Uploading"
    IMPORTING = "importing", "Importing"


class DiskFormat(models.TextChoices):
    AMI = "ami"
    ARI = "ari"
    AKI = "aki"
    VHD = "vhd"
    VHDX = "vhdx"
    VMDK = "vmdk"
    RAW = "raw"
    QCOW2 = "qcow2"
    VDI = "vdi"
    ISO = "iso"
    PLOOP = "ploop"


class ContainerFormat(models.TextChoices):
    BARE = "bare"
    OVF = "ovf"
    AKI = "aki"
    ARI = "ari"
    AMI = "ami"
    OVA = "ova"
    DOCKER = "docker"
    COMPRESSED = "compressed"


class Image(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255, blank=True)
    owner = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="images")
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    disk_format = models.CharField(max_length=16, choices=DiskFormat.choices, blank=True)
    container_format = models.CharField(max_length=16, choices=ContainerFormat.choices, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    virtual_size = models.BigIntegerField(null=True, blank=True)
    checksum = models.CharField(max_length=32, blank=True)
    os_hash_algo = models.CharField(max_length=64, blank=True)
    os_hash_value = models.CharField(max_length=128, blank=True)
    min_disk = models.PositiveIntegerField(default=0)
    min_ram = models.PositiveIntegerField(default=0)
    protected = models.BooleanField(default=False)
    os_hidden = models.BooleanField(default=False)
    tags = models.JSONField(default=list, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    # While the data streams (status saving): bytes of storage quota held for it.
    upload_reserved = models.BigIntegerField(default=0, editable=False)
    # Which upload owns the saving image (a recovered upload's late writer cannot finish over a
    # new one), and when bytes last arrived for it (no progress for long: interrupted).
    upload_token = models.UUIDField(null=True, blank=True, editable=False)
    upload_progress_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The list queries: a project's own images, and public/community catalogs,
            # each walked in (sort column, id) order for keyset pagination.
            models.Index(fields=["owner", "name", "id"], name="image_owner_name"),
            models.Index(fields=["visibility", "name", "id"], name="image_visibility_name"),
            models.Index(fields=["created_at", "id"], name="image_created"),
            # The same lists newest first (the Image API's default order).
            models.Index(fields=["owner", "created_at", "id"], name="image_owner_created"),
            models.Index(fields=["visibility", "created_at", "id"], name="image_visibility_created"),
            # The quota meters on every Images page sum a project's images by status: read from
            # the index alone (PostgreSQL; elsewhere the include is left out), not image by image.
            models.Index(
                fields=["owner", "status"], include=["size", "upload_reserved"], name="image_owner_usage"
            ),
            # The header's pending badge checks each pending share's image is still shared:
            # from the index alone, not a table read per share.
            models.Index(fields=["id"], include=["visibility"], name="image_visibility_by_id"),
        ]

    def __str__(self) -> str:
        return self.name or str(self.id)

    @property
    def display_name(self) -> str:
        return self.name or f"(unnamed {str(self.id)[:8]})"


class MemberStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class ImageMember(models.Model):
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="members")
    member = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="image_shares")
    status = models.CharField(max_length=16, choices=MemberStatus.choices, default=MemberStatus.PENDING)
    # An optional end: from then on the share grants nothing (images.access), and the
    # expire_shares command removes it.
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Copies of the image's sort keys, kept equal to them by the database itself (triggers of
    # images/migrations/0008_member_sort_keys.py, on every insert here and every change of the
    # image's name), so that a project's shares can be read in the list's order from an index
    # and the read stops after one page (access.listed_image_parts). Never set them here.
    image_name = models.CharField(max_length=255, blank=True, default="", editable=False)
    image_created_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["image", "member"], name="unique_image_member")]
        indexes = [
            # "Shared with me", the catalog's shares and the pending badge: a project's shares by
            # status, with the image id so that reading them needs no table access.
            # The expiry is included so the live ones are counted from the index alone.
            models.Index(
                fields=["member", "status", "image"], include=["expires_at"], name="member_project_status"
            ),
            # A project's shares in the order of the image lists: by name (the pages), newest
            # first (the Image API), walked until a page is full.
            models.Index(fields=["member", "image_name", "image"], name="member_image_name"),
            models.Index(fields=["member", "image_created_at", "image"], name="member_image_created"),
        ]

    def __str__(self) -> str:
        return f"{self.image} → {self.member} ({self.status})"


class ProjectQuota(models.Model):
    """A project's image quotas where a platform admin overrides the defaults (null: the default)."""

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, primary_key=True, related_name="image_quota"
    )
    image_count_total = models.BigIntegerField(null=True, blank=True)
    image_size_total = models.BigIntegerField(null=True, blank=True)
    image_count_uploading = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Image quotas of {self.project}"


class EventKind(models.TextChoices):
    SHARED = "shared", "Shared"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    PENDING = "pending", "Set back to pending"
    REMOVED = "removed", "Removed"
    VISIBILITY = "visibility", "Visibility changed"
    DELETED = "deleted", "Image deleted"
    EXPIRED = "expired", "Share expired"


class ShareEvent(models.Model):
    """One sharing event, recorded by the service that made the change, in its transaction.

    The image is kept by id and name (not a foreign key): the trail outlives a deleted image.
    Rows are written once and never changed (save refuses an update).
    """

    kind = models.CharField(max_length=16, choices=EventKind.choices)
    image_id = models.UUIDField()
    image_name = models.CharField(max_length=255, blank=True)
    owner = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(Project, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        # Newest first by id: ids grow with time, and pages continue from the last id shown.
        ordering = ["-id"]
        indexes = [
            # Each side's trail, newest first: the owner's, the target's, one image's.
            models.Index(fields=["owner", "id"], name="event_owner"),
            models.Index(fields=["target", "id"], name="event_target"),
            models.Index(fields=["image_id", "id"], name="event_image"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.image_name or self.image_id}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("Sharing events are never changed once recorded.")
        super().save(*args, **kwargs)

    @property
    def image_display_name(self) -> str:
        return self.image_name or f"(unnamed {str(self.image_id)[:8]})"


class InboxMarker(models.Model):
    """Up to when a user has read the current project's notifications."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_until = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="unique_inbox_marker")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.project_id} until {self.read_until:%Y-%m-%d %H:%M}"


class OutboxMessage(models.Model):
    """An e-mail waiting to be sent (images.notify): written in the transaction of the change it
    tells of, sent by `manage.py send_outbox`, kept a while once sent."""

    subject = models.CharField(max_length=200)
    body = models.TextField()
    # Sent as Bcc: the users of a project do not learn each other's addresses.
    recipients = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Not tried before this moment: the retry backoff, or a sender's claim while it sends.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The sender's question: what is unsent and due?
            models.Index(
                fields=["next_attempt_at", "id"], condition=models.Q(sent_at__isnull=True), name="outbox_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{'sent' if self.sent_at else 'unsent'}: {self.subject}"


class CommunityTrigram(models.Model):
    """A posting of community search (PostgreSQL only): one trigram of a community image's name —
    3 consecutive characters of one alphanumeric run of UPPER(name), the string that search's
    name ILIKE compares — with the name, so that (trigram, name, image) gives one trigram's images
    in name order and a search walks them until its page is full (listing.paginate). Written only by
    the database (triggers of images/migrations/0009_community_trigrams.py: on an image's insert
    and on every change of its name or visibility; deleted with the image), never here."""

    pk = models.CompositePrimaryKey("trigram", "name", "image")
    trigram = models.TextField()
    name = models.CharField(max_length=255)
    # The database deletes the postings with their image (its triggers, not a foreign key: see
    # the migration).
    image = models.ForeignKey(
        Image, on_delete=models.DO_NOTHING, db_constraint=False, related_name="community_trigrams"
    )

    class Meta:
        managed = False
        db_table = "images_communitytrigram"

    def __str__(self) -> str:
        return f"{self.trigram} → {self.name}"

"""Images and image members, with the fields of the OpenStack Image API v2."""

import uuid

from django.db import models

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
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE
    )
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
    status = models.CharField(
        max_length=16, choices=MemberStatus.choices, default=MemberStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["image", "member"], name="unique_image_member")
        ]
        indexes = [
            # "Shared with me", the catalog's shares and the pending badge: a project's shares by
            # status, with the image id so that reading them needs no table access.
            models.Index(fields=["member", "status", "image"], name="member_project_status"),
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

"""Identity in the Keystone shape: projects, and users' roles on them."""

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models


def new_project_id() -> str:
    return uuid.uuid4().hex


project_id_validator = RegexValidator(
    r"^[0-9a-f]{32}$", "A project ID is 32 lowercase hexadecimal characters."
)


class Project(models.Model):
    id = models.CharField(
        primary_key=True, max_length=32, default=new_project_id, validators=[project_id_validator]
    )
    name = models.CharField(max_length=64, unique=True)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    domain_id = models.CharField(max_length=64, default="default")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    READER = "reader", "Reader"
    MEMBER = "member", "Member"
    # Keystone's convention: the admin role makes a platform (cloud) admin.
    ADMIN = "admin", "Admin"


class RoleAssignment(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "project", "role"], name="unique_role_assignment")
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} on {self.project}"

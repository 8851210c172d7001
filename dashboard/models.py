"""Identity in the Keystone shape: projects, and users' roles on them."""

import uuid

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
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


class ApiToken(models.Model):
    """An Identity API token. Only the SHA-256 of the secret is stored. roles and is_admin record
    what the user held when the token was issued; a token acts with the roles held now
    (dashboard.tokens.token_find). Revoking a token deletes it."""

    key_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_tokens")
    roles = models.JSONField(default=list)
    # Keystone's convention, as in dashboard.identity: the admin role on any project.
    is_admin = models.BooleanField(default=False)
    audit_id = models.CharField(max_length=32)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"token of {self.user} on {self.project} until {self.expires_at:%Y-%m-%d %H:%M}"


class LoginFailure(models.Model):
    """Sign-in attempts counted against one (user name, client address) pair or one client address
    (dashboard.throttle). Only a hash of the name and address is kept."""

    key = models.CharField(max_length=64, unique=True)
    # Attempts since the last success, counted before the password is checked.
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField()
    # No attempt is checked before this moment (backoff); null when not throttled.
    blocked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.attempts} attempts, blocked until {self.blocked_until}"


class Session(AbstractBaseSession):
    """Django's database session, plus the id of the user signed in by it: dashboard.sessions fills
    it from the session's data on every save, so that reading the session also reads the user and
    their role assignments (one query on every signed-in request).

    No foreign key in the database: a session saved while its user is being deleted must not fail
    (Django's session store would retry it forever); deleting a user through the ORM still deletes
    their sessions, and a session naming a user who is gone signs in no one (dashboard.auth)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="+",
    )

    @classmethod
    def get_session_store_class(cls) -> type:
        from .sessions import SessionStore

        return SessionStore

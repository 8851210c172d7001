"""Identity API tokens: issued for a user on a project, resolved into the same Scope the pages use.

The secret goes to the client once; the database keeps only its SHA-256. A token carries the
roles the user had on the project when it was issued, and stops working when it expires, is
revoked, or its user or project is disabled.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from .compiled import CompiledQuery
from .identity import Scope
from .models import ApiToken, Project, Role, RoleAssignment


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Issued:
    secret: str
    token: ApiToken


@transaction.atomic
def token_issue(*, user: AbstractBaseUser, project: Project) -> Issued | None:
    """A token for user on project, or None when the user has no role on that enabled project."""
    if not user.is_active or not project.enabled:
        return None
    roles = set(RoleAssignment.objects.filter(user=user, project=project).values_list("role", flat=True))
    if not roles:
        return None
    is_admin = RoleAssignment.objects.filter(user=user, role=Role.ADMIN, project__enabled=True).exists()
    now = timezone.now()
    # Expired tokens are of no use to anyone: clear them as new ones are issued.
    ApiToken.objects.filter(expires_at__lte=now).delete()
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        key_hash=_hash(secret),
        user=user,
        project=project,
        roles=sorted(roles),
        is_admin=is_admin,
        audit_id=secrets.token_urlsafe(16)[:22],
        issued_at=now,
        expires_at=now + timedelta(seconds=settings.API_TOKEN_LIFETIME),
    )
    return Issued(secret=secret, token=token)


# Every API request looks its token up: the query is built and compiled once (compiled.py).
_valid_token: CompiledQuery[ApiToken] = CompiledQuery(
    lambda key_hash, now: (
        ApiToken.objects.select_related("user", "project")
        .filter(key_hash=key_hash, expires_at__gt=now, user__is_active=True, project__enabled=True)
        .order_by()[:1]
    ),
    key_hash=str,
    now=datetime,
)


def token_find(secret: str | None) -> ApiToken | None:
    """The valid token with this secret: unexpired, its user active and its project enabled."""
    if not secret:
        return None
    found = _valid_token.rows(key_hash=_hash(secret), now=timezone.now())
    return found[0] if found else None


def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk).delete()


def scope_of(token: ApiToken) -> Scope:
    """The Scope a token acts with: its project, and the roles captured when it was issued."""
    return Scope(
        user=token.user,
        project=token.project,
        roles=frozenset(token.roles),
        is_admin=token.is_admin,
        projects=(token.project,),
    )

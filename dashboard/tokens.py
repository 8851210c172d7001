"""Identity API tokens: issued for a user on a project, resolved into the same Scope the pages use.

The secret goes to the client once; the database keeps only its SHA-256. A token acts with the
roles its user holds on its project *now*, read in the same query that finds the token: a role
taken away takes effect on the next request (a demoted admin is refused at once; a user with no
role left on the project is no longer authenticated). It stops working when it expires, is
revoked, or its user or project is disabled.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
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
def token_issue(*, user: User, project: Project) -> Issued | None:
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


def _holds(role: str | None = None, **where) -> Exists:
    """Whether the token's user holds role (any role when None) on the token's project, or where."""
    assignments = RoleAssignment.objects.filter(user_id=OuterRef("user_id"), **where)
    if not where:
        assignments = assignments.filter(project_id=OuterRef("project_id"))
    return Exists(assignments.filter(role=role) if role else assignments)


# Every API request looks its token up: the query is built and compiled once (compiled.py).
_valid_token: CompiledQuery[ApiToken] = CompiledQuery(
    lambda key_hash, now: (
        ApiToken.objects.select_related("user", "project")
        .annotate(
            **{f"holds_{role}": _holds(role) for role in Role.values},
            admin_now=_holds(Role.ADMIN, project__enabled=True),
        )
        .filter(
            Q(*(Q(**{f"holds_{role}": True}) for role in Role.values), _connector=Q.OR),
            key_hash=key_hash,
            expires_at__gt=now,
            user__is_active=True,
            project__enabled=True,
        )
        .order_by()[:1]
    ),
    key_hash=str,
    now=datetime,
)


def token_find(secret: str | None) -> ApiToken | None:
    """The valid token with this secret: unexpired, its user active, its project enabled, and its
    user still holding a role there. Its roles and is_admin are the ones held now (one query)."""
    if not secret:
        return None
    found = _valid_token.rows(key_hash=_hash(secret), now=timezone.now())
    token = found[0] if found else None
    if token is not None:
        # Not saved: the row keeps what was granted at issue, for the record.
        token.roles = sorted(role for role in Role.values if getattr(token, f"holds_{role}"))
        token.is_admin = token.admin_now
    return token


def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk).delete()


def scope_of(token: ApiToken) -> Scope:
    """The Scope a token acts with: its project, and the roles its user holds there now (token_find)."""
    return Scope(
        user=token.user,
        project=token.project,
        roles=frozenset(token.roles),
        is_admin=token.is_admin,
        projects=(token.project,),
    )

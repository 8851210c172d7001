"""Who is acting, for which project, with which roles.

A Scope is what every access rule and domain operation receives: the browser session builds
one from the current project, the API will build one from a token.
"""

from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from .compiled import CompiledQuery
from .models import Project, Role, RoleAssignment


@dataclass(frozen=True)
class Scope:
    # AnonymousUser only in the access explainer's view of a project as any of its members.
    user: User | AnonymousUser
    project: Project
    roles: frozenset[str]
    # A platform admin holds the admin role on some project (Keystone's convention).
    is_admin: bool = False
    # Every enabled project the user has a role on, for the project switcher.
    projects: tuple[Project, ...] = field(default=(), compare=False)

    @property
    def project_id(self) -> str:
        return self.project.pk

    @property
    def can_write(self) -> bool:
        """Members create, edit, share, accept and reject; readers only look."""
        return Role.MEMBER in self.roles or Role.ADMIN in self.roles


def scopes_for(user: User, project_id: str | None) -> Scope | None:
    """The user's scope on project_id, or on their first project; None without any role.

    One query: every role assignment of the user, with its project (on every signed-in request,
    so built and compiled once: dashboard/compiled.py).
    """
    assignments = _assignments.rows(user_id=user.pk)
    if not assignments:
        return None
    projects: dict[str, Project] = {}
    roles: dict[str, set[str]] = {}
    for a in assignments:
        projects.setdefault(a.project_id, a.project)
        roles.setdefault(a.project_id, set()).add(a.role)
    current = project_id if project_id in projects else next(iter(projects))
    return Scope(
        user=user,
        project=projects[current],
        roles=frozenset(roles[current]),
        is_admin=any(a.role == Role.ADMIN for a in assignments),
        projects=tuple(projects.values()),
    )


def _assignments_query(user_id: int) -> QuerySet[RoleAssignment]:
    return (
        RoleAssignment.objects.filter(user_id=user_id, project__enabled=True)
        .select_related("project")
        .order_by("project__name", "role")
    )


_assignments = CompiledQuery(_assignments_query, user_id=int)

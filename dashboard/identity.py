"""Who is acting, for which project, with which roles.

A Scope is what every access rule and domain operation receives: the browser session builds
one from the current project, the API will build one from a token.
"""

from collections.abc import Iterable
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


def scopes_for(
    user: User, project_id: str | None, assignments: Iterable[tuple[Project, str]] | None = None
) -> Scope | None:
    """The user's scope on project_id, or on their first project; None without any role.

    `assignments`: the user's (project, role) pairs on enabled projects, by project name, when they
    were read already (with the session: dashboard.sessions). Otherwise one query: every role
    assignment of the user, with its project (built and compiled once: dashboard/compiled.py).
    """
    if assignments is None:
        assignments = [(a.project, a.role) for a in _assignments.rows(user_id=user.pk)]
    projects: dict[str, Project] = {}
    roles: dict[str, set[str]] = {}
    for project, role in assignments:
        projects.setdefault(project.pk, project)
        roles.setdefault(project.pk, set()).add(role)
    if not projects:
        return None
    current = project_id if project_id in projects else next(iter(projects))
    return Scope(
        user=user,
        project=projects[current],
        roles=frozenset(roles[current]),
        is_admin=any(Role.ADMIN in held for held in roles.values()),
        projects=tuple(projects.values()),
    )


def _assignments_query(user_id: int) -> QuerySet[RoleAssignment]:
    return (
        RoleAssignment.objects.filter(user_id=user_id, project__enabled=True)
        .select_related("project")
        .order_by("project__name", "role")
    )


_assignments = CompiledQuery(_assignments_query, user_id=int)

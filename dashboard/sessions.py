"""Django's database sessions, read together with the signed-in user and their role assignments.

SESSION_ENGINE = "dashboard.sessions". The session row (dashboard.models.Session) carries the id of
the user it signs in, filled from the session's data on every save, so that the one read every
signed-in request makes — the session by its key, unless expired — also joins the user and each of
their role assignments with its project. Django's get_user then takes that user instead of reading
it again (dashboard.auth), and the scope takes those assignments (dashboard.middleware): three
queries become one. The read is built and compiled once (dashboard/compiled.py).

Everything else is django.contrib.sessions.backends.db: saving, cycling the key, flushing, expiry.
"""

from datetime import datetime
from typing import Any, NamedTuple, cast

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import SessionBase
from django.db.models import F, QuerySet
from django.utils import timezone

from .compiled import CompiledQuery
from .models import Project, Session

PROJECT_FIELDS = [field.attname for field in Project._meta.concrete_fields]


class SignedIn(NamedTuple):
    """The session's user as read with it, and their roles on enabled projects, by project name."""

    user: User
    assignments: tuple[tuple[Project, str], ...]


def _live_session_query(session_key: str, now: datetime) -> QuerySet[Session]:
    # One row per role assignment of the session's user (LEFT JOINs: one row, with nulls, for a
    # session without a user or a user without a role). Disabled projects are dropped in Python
    # (a condition in the WHERE clause would drop the session with them).
    assignment = "user__role_assignments"
    return (
        Session.objects.filter(session_key=session_key, expire_date__gt=now)
        .select_related("user")
        .annotate(
            assignment_role=F(f"{assignment}__role"),
            **{f"assignment_project_{name}": F(f"{assignment}__project__{name}") for name in PROJECT_FIELDS},
        )
        .order_by(f"{assignment}__project__name", f"{assignment}__role")
    )


_live_session = CompiledQuery(_live_session_query, session_key=str, now=datetime)


def _user_id(data: dict[str, Any]) -> int | None:
    try:
        return int(data[SESSION_KEY])
    except (KeyError, TypeError, ValueError):
        return None


class SessionStore(db.SessionStore):
    _signed_in: SignedIn | None = None

    @classmethod
    def get_model_class(cls) -> type[Session]:
        return Session

    def create_model_instance(self, data: dict[str, Any]) -> Session:
        session = cast(Session, super().create_model_instance(data))
        session.user_id = _user_id(data)
        return session

    def _get_session_from_db(self) -> Session | None:
        self._signed_in = None
        rows = _live_session.rows(session_key=self.session_key, now=timezone.now())
        if not rows:
            self._session_key = None
            return None
        session = rows[0]
        if session.user is not None:
            db_alias = session._state.db
            projects: dict[str, Project] = {}
            assignments = []
            for row in rows:
                if not row.assignment_project_enabled:  # disabled, or no assignment at all
                    continue
                pk = row.assignment_project_id
                if pk not in projects:
                    values = [getattr(row, f"assignment_project_{name}") for name in PROJECT_FIELDS]
                    projects[pk] = Project.from_db(db_alias, PROJECT_FIELDS, values)
                assignments.append((projects[pk], row.assignment_role))
            self._signed_in = SignedIn(session.user, tuple(assignments))
        return session

    def signed_in(self) -> SignedIn | None:
        """The user this session's read found, with their role assignments (None without one)."""
        self.keys()  # the read, unless it has run
        return self._signed_in

    def clear(self) -> None:
        # flush() and logout() clear: whatever was read with the session no longer belongs to it.
        super().clear()
        self._signed_in = None


def signed_in(session: SessionBase) -> SignedIn | None:
    """What reading this request's session found, if its store is this one."""
    return session.signed_in() if isinstance(session, SessionStore) else None


def role_assignments(session: SessionBase, user: User) -> tuple[tuple[Project, str], ...] | None:
    """user's role assignments as read with the session, or None if they were not (dashboard.identity
    then reads them)."""
    found = signed_in(session)
    return found.assignments if found is not None and found.user.pk == user.pk else None

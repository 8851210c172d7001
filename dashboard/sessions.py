"""Django's database sessions, with the read that every signed-in request makes (the session by its
key, unless expired) built and compiled once (dashboard/compiled.py) instead of per request.

SESSION_ENGINE = "dashboard.sessions"; same table, same rows, same behaviour as
django.contrib.sessions.backends.db otherwise.
"""

from datetime import datetime

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.db.models import QuerySet
from django.utils import timezone

from .compiled import CompiledQuery


def _live_session_query(session_key: str, now: datetime) -> QuerySet[Session]:
    return Session.objects.filter(session_key=session_key, expire_date__gt=now)


_live_session = CompiledQuery(_live_session_query, session_key=str, now=datetime)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Session | None:
        found = _live_session.rows(session_key=self.session_key, now=timezone.now())
        if not found:
            self._session_key = None
            return None
        return found[0]

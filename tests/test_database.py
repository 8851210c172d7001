"""The database under concurrent writers: SQLite (the default for `make run`) must queue them, not fail
them with "database is locked"; PostgreSQL must too."""

import threading

import pytest
from django.db import connection, connections, transaction

from dashboard.models import Project

WRITERS = 30
WRITES_EACH = 10


@pytest.mark.django_db(transaction=True)
def test_300_concurrent_read_then_write_transactions_all_commit():
    project = Project.objects.create(name="counter", description="0")
    barrier = threading.Barrier(WRITERS, timeout=30)
    errors: list[Exception] = []

    def write() -> None:
        try:
            barrier.wait()
            for _ in range(WRITES_EACH):
                # Read, then write, in one transaction: the pattern every domain operation has. On a
                # SQLite transaction that began DEFERRED, the write fails at once when another
                # writer got in between; IMMEDIATE makes it wait for the lock up front.
                with transaction.atomic():
                    row = Project.objects.select_for_update().get(pk=project.pk)
                    row.description = str(int(row.description) + 1)
                    row.save(update_fields=["description"])
        except Exception as e:  # noqa: BLE001 - the test reports every failure
            errors.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write) for _ in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert not any(t.is_alive() for t in threads), "writers still waiting"
    assert errors == []
    project.refresh_from_db()
    assert project.description == str(WRITERS * WRITES_EACH)  # no lost update either


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_a_busy_timeout():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite settings")
    with connection.cursor() as cursor:
        assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert cursor.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert connection.transaction_mode == "IMMEDIATE"

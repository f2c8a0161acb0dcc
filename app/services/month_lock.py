"""Per-month serialisation of everything that changes what a month bills (issue 7 item 13).

Imports, card events, card assignments, the draft, the close and re-issues call `lock_months(...)`
as the FIRST thing of their transaction, then check whether the month is still open and read what
they need. Whoever comes second waits until the first commits, and then sees its result: an import
cannot slip usage into a month while its close runs, and two closes cannot both pass their checks.

- PostgreSQL: one `month_lock` row per month (created on first use), taken with SELECT … FOR
  UPDATE in month order (so two writers of several months never deadlock). Held until commit or
  rollback. READ COMMITTED: each statement after the lock sees what the previous holder committed.
- SQLite: one writer at a time anyway, but a plain transaction starts only at its first write, so
  what it read before could already be stale by then. `lock_months` begins the write transaction
  itself (BEGIN IMMEDIATE: waits, up to the busy timeout of app/sqlite_settings.py, for the current
  writer), before the caller's first read. Called later in a transaction that already writes, it
  does nothing (the write lock is already held).

Never read-then-write (architecture.md): the check that the month is open comes after the lock.
"""
from collections.abc import Iterable

from sqlalchemy import select

from app.domain.month import Month
from app.extensions import db
from app.models.billing import MonthLock
from app.services.bulk import insert_if_absent

_table = MonthLock.__table__


def lock_months(months: Iterable) -> list[str]:
    """Lock the months (Month or 'YYYY-MM') until the current transaction ends. Returns them sorted."""
    keys = sorted({str(Month.of(m)) for m in months if m})
    session = db.session
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        begin_write_transaction()
        return keys
    held = _held(session)
    for key in keys:
        if key in held:
            continue
        session.execute(insert_if_absent(connection, _table, ["month"], month=key))
        session.execute(select(_table.c.month).where(_table.c.month == key).with_for_update())
        held.add(key)
    return keys


def _held(session) -> set:
    """Months this transaction already locked (a master import adds thousands of card events)."""
    transaction = session().get_transaction() if callable(session) else session.get_transaction()
    entry = session.info.get("month_locks")
    if entry is None or entry[0] is not transaction:
        entry = (transaction, set())
        session.info["month_locks"] = entry
    return entry[1]


def lock_month(month) -> str:
    return lock_months([month])[0]


def begin_write_transaction() -> None:
    """SQLite: make the session's transaction a write transaction now (BEGIN IMMEDIATE), unless it
    already is one. No-op on other databases (their row locks do the work)."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if not raw.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


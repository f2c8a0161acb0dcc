"""app.services.unit_of_work (services own the transaction) and app.services.bulk (one bulk insert),
on SQLite and, with TEST_DATABASE_URL, PostgreSQL."""
import datetime as dt

import pytest
from sqlalchemy import select

from app.models.usage import IcMaster
from app.services.bulk import bulk_insert
from app.services.unit_of_work import transactional, unit_of_work


def names(db):
    return sorted(db.session.scalars(select(IcMaster.name)))


def fresh_names(app, db):
    """What another session (connection) sees: only committed rows."""
    db.session.remove()
    return names(db)


def test_a_unit_commits_on_success(app, db):
    with unit_of_work() as session:
        session.add(IcMaster(name="東京"))
    assert fresh_names(app, db) == ["東京"]


def test_a_unit_rolls_back_on_error_and_reraises(app, db):
    with pytest.raises(ZeroDivisionError):
        with unit_of_work() as session:
            session.add(IcMaster(name="東京"))
            session.flush()
            1 / 0
    assert fresh_names(app, db) == []


def test_inner_units_join_the_outer_one(app, db):
    @transactional
    def add(name):
        db.session.add(IcMaster(name=name))
        db.session.flush()

    with pytest.raises(RuntimeError):
        with unit_of_work():
            add("東京")  # the inner unit must not commit on its own
            add("大阪")
            raise RuntimeError("after two inner units")
    assert fresh_names(app, db) == []
    with unit_of_work():
        add("東京")
        add("大阪")
    assert fresh_names(app, db) == ["大阪", "東京"]


def test_bulk_insert_keeps_every_value(app, db):
    """COPY text format on PostgreSQL (tabs, newlines, backslashes, NULL, booleans escaped), executemany
    on SQLite: the same rows come back."""
    from app.models.usage import ImportBatch, ImportProfile, UsageRecord

    profile = db.session.scalar(select(ImportProfile))
    with unit_of_work() as session:
        batch = ImportBatch(file_name="x.csv", sha256="0" * 64, profile_id=profile.id,
                            usage_month="2026-10", status="active", imported_by="t")
        session.add(batch)
        session.flush()
        exit_at = dt.datetime(2026, 10, 1, 7, 5)
        rows = [(batch.id, 1, "2026-10", "4980001234567890", exit_at, "東京\t本線", 1320, "a\\b\nc", 0, 0),
                (batch.id, 2, "2026-10", "4980001234567891", exit_at, None, -40, None, 3, 40)]
        bulk_insert("usage_record", ("batch_id", "line_no", "usage_month", "card_number", "exit_at", "exit_ic",
                                     "amount_billed", "remarks", "flags", "discount"), rows)
    db.session.remove()
    got = db.session.execute(select(UsageRecord.line_no, UsageRecord.exit_at, UsageRecord.exit_ic,
                                    UsageRecord.amount_billed, UsageRecord.remarks, UsageRecord.flags)
                             .order_by(UsageRecord.line_no)).all()
    assert [tuple(r) for r in got] == [(1, exit_at, "東京\t本線", 1320, "a\\b\nc", 0),
                                       (2, exit_at, None, -40, None, 3)]

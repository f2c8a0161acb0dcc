"""The usage-record schema other parts read (CONTRACTS: category amounts, rebate, 平日朝夕, operator
source, flags) and the database rule that one file content has one live batch.

Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL (the same migration builds both)."""
import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.models.usage import (BATCH_ACTIVE, BATCH_DELETED, FLAG_CONFIRMED, FLAG_NAMES, FLAG_OFF_MONTH,
                              FLAG_SUSPECTED_DUPLICATE, FLAG_UNREGISTERED_CARD, FLAG_USED_AFTER_LOSS,
                              NOT_BILLED_FLAGS, ImportBatch, ImportProfile, UsageRecord)

SHA = "a" * 64


def _batch(db, status=BATCH_ACTIVE, sha=SHA):
    profile = db.session.scalar(select(ImportProfile).where(ImportProfile.name == "etc-meisai"))
    batch = ImportBatch(file_name="x.csv", sha256=sha, profile=profile, usage_month="2026-10",
                        imported_by="t", status=status)
    db.session.add(batch)
    db.session.flush()
    return batch


def test_flag_values_and_the_not_billed_predicate():
    assert (FLAG_UNREGISTERED_CARD, FLAG_USED_AFTER_LOSS, FLAG_SUSPECTED_DUPLICATE, FLAG_OFF_MONTH,
            FLAG_CONFIRMED) == (1, 2, 4, 8, 16)
    assert NOT_BILLED_FLAGS == 12
    assert (FLAG_NAMES[4], FLAG_NAMES[8]) == ("重複の疑い", "期ずれ")


def test_new_usage_columns_round_trip(db):
    batch = _batch(db)
    row = UsageRecord(batch_id=batch.id, line_no=2, usage_month="2026-10", card_number="********65981010",
                      exit_at=dt.datetime(2026, 10, 1, 7, 5), amount_billed=2680, amount_rebate_applied=2680,
                      amount_deferred=0, amount_expressway=2000, amount_general_toll=500, amount_public_corp=180,
                      road_operator="NEXCO中日本", road_operator_source="ic", flags=0)
    db.session.add(row)
    db.session.commit()
    db.session.expire_all()
    back = db.session.get(UsageRecord, row.id)
    assert (back.card_number, back.amount_rebate_applied, back.amount_deferred) == ("********65981010", 2680, 0)
    assert (back.amount_expressway, back.amount_general_toll, back.amount_public_corp) == (2000, 500, 180)
    assert (back.peak_time, back.road_operator_source) == (False, "ic")


def test_one_live_batch_per_file_content_is_a_database_rule(db):
    _batch(db)
    db.session.commit()
    with pytest.raises(IntegrityError):
        _batch(db)
    db.session.rollback()
    _batch(db, status=BATCH_DELETED)  # a deleted (or replaced) batch of the same content may stay
    _batch(db, sha="b" * 64)
    db.session.commit()

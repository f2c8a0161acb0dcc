"""Issue 13 item 4: a process killed with SIGKILL in the middle of an import, a billing draft, a close, document
rendering or a debit file leaves the database consistent, and running the same command again gives the same
result as a run that was never interrupted. Each test kills the real CLI (tests/integration/crash.py) after
part of the work is written inside its transaction; SQLite and PostgreSQL."""
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.domain.zengin.files import split_records
from app.models import Member
from app.models.billing import BillingRun, Invoice, InvoiceLine, InvoiceNumberCounter
from app.models.document import RENDERED, IssuedDocument
from app.models.payment import DebitBatch
from app.models.usage import ImportBatch, UsageRecord
from app.services.actor import acting_as
from app.services.collection_profiles import ensure_default_profile
from app.services.usage_import import import_usage_file

from .crash import flask_etc, kill_midway
from .documents_month import set_up_operator, usage_csv, usage_rows_for
from .test_billing import ACTOR, load_tariff, make_card, make_member
from .test_payments_debit import set_operator

MONTH = "2026-10"
CARDS = ("1000010000000011", "1000010000000029", "1000020000000021")
BULK_WRITE = "app.services.bulk:BulkInserter.write"


@pytest.fixture()
def october(db, tmp_path):
    """Three members (M001, M003 口座振替; M002 振込), a card each, and October's usage file (not imported)."""
    set_up_operator(db)
    set_operator(db)
    load_tariff(tmp_path)
    with acting_as(ACTOR):
        ensure_default_profile()
    members = [make_member(db, "M001", "株式会社山田運輸"),
               make_member(db, "M002", "髙橋物流有限会社", payment="bank_transfer", account=False),
               make_member(db, "M003", "佐藤商事")]
    with acting_as(ACTOR):
        for member in members:
            member.account_holder_kana = "テスト" if member.code != "M002" else None
        db.session.commit()
    for member, number in zip(members, CARDS):
        make_card(db, member, number)
    rows = [row for number, count in zip(CARDS, (90, 60, 50)) for row in usage_rows_for(number, count)]
    path = Path(tmp_path) / "october.csv"
    path.write_text(usage_csv(rows), encoding="utf-8")
    return {"file": path, "rows": len(rows), "billed": sum(row[11] for row in rows)}


def counts(db) -> dict:
    db.session.rollback()
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (ImportBatch, UsageRecord, BillingRun, Invoice, InvoiceLine, IssuedDocument, DebitBatch)}


def invoices(db) -> dict:
    """What a draft or a close decided, per member: status, number, 請求金額, tax, lines (kind, amount)."""
    db.session.rollback()
    result = {}
    for invoice in db.session.scalars(select(Invoice).where(Invoice.month == MONTH).order_by(Invoice.id)):
        lines = db.session.execute(select(InvoiceLine.kind, InvoiceLine.amount).where(InvoiceLine.invoice_id == invoice.id)
                                   .order_by(InvoiceLine.kind, InvoiceLine.amount)).all()
        code = db.session.get(Member, invoice.member_id).code
        result[code] = (invoice.status, invoice.number, invoice.total, invoice.tax_amount, tuple(map(tuple, lines)))
    return result


def imported(db, october):
    with acting_as(ACTOR):
        import_usage_file(october["file"], "tollbook-csv", usage_month=MONTH)
    db.session.commit()


def test_import_killed_midway_leaves_nothing_and_the_rerun_imports_once(db, tmp_path, october):
    before = counts(db)
    kill_midway(tmp_path, BULK_WRITE, 1, "import", str(october["file"]), "--format", "tollbook-csv", "--month", MONTH)
    assert counts(db) == before  # not a batch, not a row

    done = flask_etc(tmp_path, "import", str(october["file"]), "--format", "tollbook-csv", "--month", MONTH)
    assert done.returncode == 0, done.stderr
    assert f"{october['rows']:,}件" in done.stdout
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(UsageRecord)) == october["rows"]
    assert db.session.scalar(select(func.sum(UsageRecord.amount_billed))) == october["billed"]
    again = flask_etc(tmp_path, "import", str(october["file"]), "--format", "tollbook-csv", "--month", MONTH)
    assert again.returncode == 1 and "取込済みです" in again.stderr  # never twice
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 1


def test_draft_killed_midway_keeps_the_previous_draft_and_the_rerun_computes_the_same(db, tmp_path, october):
    imported(db, october)
    kill_midway(tmp_path, BULK_WRITE, 1, "bill", MONTH)  # the first draft: its invoices written, not its lines
    assert (counts(db)["BillingRun"], counts(db)["Invoice"], counts(db)["InvoiceLine"]) == (0, 0, 0)

    done = flask_etc(tmp_path, "bill", MONTH)
    assert done.returncode == 0, done.stderr
    uninterrupted = invoices(db)
    assert set(uninterrupted) == {"M001", "M002", "M003"} and all(i[2] > 0 for i in uninterrupted.values())

    kill_midway(tmp_path, BULK_WRITE, 2, "bill", MONTH)  # a recomputation, killed after the old draft was deleted
    assert invoices(db) == uninterrupted
    done = flask_etc(tmp_path, "bill", MONTH)
    assert done.returncode == 0, done.stderr
    assert invoices(db) == uninterrupted


def test_close_killed_midway_leaves_the_month_open_and_no_number_used(db, tmp_path, october):
    imported(db, october)
    assert flask_etc(tmp_path, "bill", MONTH).returncode == 0
    draft = invoices(db)
    kill_midway(tmp_path, "app.services.billing.close:request_documents", 1, "close", MONTH)
    db.session.rollback()
    assert db.session.scalar(select(BillingRun.status).where(BillingRun.month == MONTH)) == "draft"
    assert invoices(db) == draft and all(number is None for _, number, *_ in draft.values())
    assert (db.session.scalar(select(InvoiceNumberCounter.last_value)) or 0) == 0
    assert counts(db)["IssuedDocument"] == 0

    done = flask_etc(tmp_path, "close", MONTH)
    assert done.returncode == 0, done.stderr
    closed = invoices(db)
    # the same amounts, numbered from 00000001 without a gap, as an uninterrupted close numbers them (by code)
    assert {code: (total, tax, lines) for code, (_, _, total, tax, lines) in closed.items()} == \
        {code: (total, tax, lines) for code, (_, _, total, tax, lines) in draft.items()}
    assert [closed[code][1] for code in sorted(closed)] == ["00000001", "00000002", "00000003"]
    assert db.session.scalar(select(BillingRun.status).where(BillingRun.month == MONTH)) == "closed"


def _documents(db) -> list[tuple]:
    db.session.rollback()
    return db.session.execute(select(IssuedDocument.id, IssuedDocument.status, IssuedDocument.sha256,
                                     IssuedDocument.chain_position, IssuedDocument.claimed_by)
                              .order_by(IssuedDocument.id)).all()


def test_rendering_killed_midway_keeps_what_was_stored_and_the_rerun_finishes_at_once(db, tmp_path, october):
    imported(db, october)
    assert flask_etc(tmp_path, "bill", MONTH).returncode == 0
    assert flask_etc(tmp_path, "close", MONTH).returncode == 0
    kill_midway(tmp_path, "app.services.documents.rendering:store_rendered", 1,
                "render-documents", MONTH, "--processes", "1", timeout=300)
    documents = _documents(db)
    stored = [d for d in documents if d.status == RENDERED]
    assert 0 < len(stored) < len(documents)  # killed half-way: some stored, the rest not
    assert sorted(d.chain_position for d in stored) == list(range(1, len(stored) + 1))
    assert any(d.claimed_by for d in documents if d.status != RENDERED)  # the dead process's claims remain

    done = flask_etc(tmp_path, "render-documents", MONTH, "--processes", "1", timeout=600)
    assert done.returncode == 0, done.stderr
    after = _documents(db)
    assert all(d.status == RENDERED and d.claimed_by is None for d in after)
    assert {d.id: d.sha256 for d in stored} == {d.id: d.sha256 for d in after if d.id in {s.id for s in stored}}
    assert sorted(d.chain_position for d in after) == list(range(1, len(after) + 1))
    verified = flask_etc(tmp_path, "verify-documents")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_debit_file_killed_midway_leaves_no_batch_and_no_half_file(db, tmp_path, october):
    imported(db, october)
    assert flask_etc(tmp_path, "bill", MONTH).returncode == 0
    assert flask_etc(tmp_path, "close", MONTH).returncode == 0
    output = Path(tmp_path) / "debit.txt"
    kill_midway(tmp_path, "app.services.debit_files:build_debit_file", 1, "export", "debit", MONTH, "-o", str(output))
    assert counts(db)["DebitBatch"] == 0 and not output.exists()

    done = flask_etc(tmp_path, "export", "debit", MONTH, "-o", str(output))
    assert done.returncode == 0, done.stderr
    data = output.read_bytes()
    db.session.rollback()
    batch = db.session.scalar(select(DebitBatch))
    assert batch.number == 1 and bytes(batch.content) == data and hashlib.sha256(data).hexdigest() == batch.sha256
    records = split_records(data)
    debit_total = db.session.scalar(select(func.sum(Invoice.total)).join(Member, Member.id == Invoice.member_id)
                                    .where(Invoice.month == MONTH, Member.payment_method == "direct_debit"))
    assert [r[:1] for r in records] == [b"1", b"2", b"2", b"8", b"9"]
    assert int(records[3][7:19]) == debit_total  # trailer: 合計金額 = the two 口座振替 invoices

    # killed while writing the file itself (the new bytes on disk under a temporary name, not yet renamed):
    # the file of the earlier run stays whole (app/services/files.py), and the batch is not doubled
    output.write_bytes(data[:-122])  # make the earlier file distinguishable: one record short
    earlier = output.read_bytes()
    kill_midway(tmp_path, "os:fsync", 1, "export", "debit", MONTH, "-o", str(output))
    assert output.read_bytes() == earlier
    assert counts(db)["DebitBatch"] == 1
    done = flask_etc(tmp_path, "export", "debit", MONTH, "-o", str(output))
    assert done.returncode == 0 and output.read_bytes() == data  # the same bytes as the uninterrupted run

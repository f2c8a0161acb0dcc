"""On PostgreSQL the draft computes and writes at once (draft._compute_and_stream: every member's invoice
inserted first with zero totals, lines streamed into one COPY while the next members are computed, totals
set after, invoices of members with nothing to bill deleted; issue 7 Speed). The rows it leaves must be
exactly those the plain path writes (compute everything, then write_invoices), whatever the month holds."""
import datetime as dt
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, text

from app.models import Card, Member
from app.models.tariff import TariffRule
from app.services.actor import acting_as

MONTH = "2026-10"
FIXED_FEES = ("member_monthly_fee", "yearly_card_fee", "card_monthly_fee", "minimum_charge")


def _snapshot(session, run_id: int) -> dict:
    """Everything the draft wrote for the run, by member (no ids, no creation time)."""
    invoices = session.execute(text(
        "SELECT member_id, month, kind, status, payment_method, created_by, kept_rule_versions_id, usage_total, "
        "discount_total, fee_total, adjustment_total, taxable_total, tax_amount, non_taxable_total, total, "
        "operator_discount_total FROM invoice WHERE billing_run_id = :run ORDER BY member_id"), {"run": run_id}).all()
    lines = session.execute(text(
        "SELECT i.member_id, l.position, l.kind, l.description, l.card_id, l.amount, l.tax_category, l.rule_id, "
        "l.breakdown FROM invoice_line l JOIN invoice i ON i.id = l.invoice_id WHERE i.billing_run_id = :run "
        "ORDER BY l.id"), {"run": run_id}).all()
    subtotals = session.execute(text(
        "SELECT i.member_id, s.category, s.total_including_tax, s.tax FROM invoice_tax_subtotal s "
        "JOIN invoice i ON i.id = s.invoice_id WHERE i.billing_run_id = :run ORDER BY i.member_id, s.category"),
        {"run": run_id}).all()
    ordered = session.execute(text("SELECT member_id FROM invoice WHERE billing_run_id = :run ORDER BY id"),
                              {"run": run_id}).scalars().all()
    return {"invoices": invoices, "lines": lines, "subtotals": subtotals, "id_order": ordered}


@pytest.mark.parametrize("fixed_fees", [True, False], ids=["default-tariff", "members-with-nothing-to-bill"])
def test_the_streamed_draft_writes_what_the_plain_path_writes(db, fixed_fees):
    session = db.session
    if session.connection().dialect.name != "postgresql":
        pytest.skip("the streamed draft is PostgreSQL's (SQLite takes the plain path)")
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from bench_billing import generate

    from app.services.billing.draft import compute_invoices, _delete_draft_rows, run_billing, write_invoices
    from app.services.billing.inputs import gather
    from app.services.tariff import ensure_default_tariff

    with acting_as("test-setup"):
        ensure_default_tariff()
        generate(session.connection(), 40, 160, 3000, seed=7)
        idle = Member(code="M99999", name="走行なし運輸", kana="ソウコウナシウンユ", payment_method="bank_transfer",
                      status="active")
        session.add(idle)
        session.flush()
        session.add(Card(number="4999999999999991", kind="credit", issuer="テスト信販", member_id=idle.id,
                         valid_from=dt.date(2024, 4, 1), status="active"))
        if not fixed_fees:  # without fixed fees a member whose cards made no trip has nothing to bill
            session.execute(delete(TariffRule).where(TariffRule.type.in_(FIXED_FEES)))
        session.commit()
        idle_id = idle.id

    with acting_as("bench"):
        summary = run_billing(MONTH)
    run_id = session.execute(text("SELECT id FROM billing_run WHERE month = :m"), {"m": MONTH}).scalar()
    streamed = _snapshot(session, run_id)
    session.rollback()
    assert summary.invoice_count == len(streamed["invoices"]) > 30
    assert (idle_id in {row[0] for row in streamed["invoices"]}) is fixed_fees

    inputs = gather(MONTH)  # the plain path on the same inputs, rolled back
    results, _ = compute_invoices(inputs)
    _delete_draft_rows(run_id)
    write_invoices(run_id, MONTH, inputs, results, "bench")
    plain = _snapshot(session, run_id)
    session.rollback()
    assert streamed == plain

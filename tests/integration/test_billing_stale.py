"""issue 7 item 10: the run's totals are the sum of its live invoices (a re-issue included), and the review
screen says when the draft's inputs changed, with the close button disabled, before anyone presses it."""
import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.models import Card, CardEvent, Member
from app.models.billing import CANCELLED, BillingRun, Invoice
from app.services.actor import acting_as
from app.services.billing.close import close_billing_run
from app.services.billing.corrections import reissue_invoice
from app.services.billing.draft import run_billing
from app.services.billing.review import review
from app.services.cards import apply_card_event
from app.services.usage_rematch import assign_unregistered

from ..conftest import MANAGER_PASSWORD, login
from .test_billing import ACTOR, C1, C2, TARIFF, add_usage, load_tariff, make_card, make_member

MONTH = "2026-10"
STALE = "入力が変わりました — 再計算してください"
RUN_TOTALS = ("usage_total", "operator_discount_total", "discount_total", "fee_total", "adjustment_total",
              "tax_total", "total")


@pytest.fixture()
def drafted(db, tmp_path):
    load_tariff(tmp_path)
    first = make_member(db, "M001", "山田運輸")
    second = make_member(db, "M002", "佐藤物流")
    cards = [make_card(db, first, C1), make_card(db, second, C2)]
    add_usage(db, MONTH, [(cards[0], "NEXCO東日本", 12000), (cards[1], "NEXCO中日本", 8000),
                          ("4980009999888877", "NEXCO東日本", 3000, None, 1)])
    with acting_as(ACTOR):
        run_billing(MONTH)
    return cards


def live_sums(db, run_id) -> dict:
    invoice = Invoice.__table__.c
    row = db.session.execute(select(*(func.coalesce(func.sum(getattr(invoice, "tax_amount" if k == "tax_total" else k)), 0)
                                      for k in RUN_TOTALS))
                             .where(invoice.billing_run_id == run_id, invoice.status != CANCELLED)).one()
    return dict(zip(RUN_TOTALS, map(int, row)))


def run_sums(run) -> dict:
    return {k: getattr(run, k) for k in RUN_TOTALS}


def test_run_totals_follow_a_reissue(db, drafted, tmp_path):
    """The corrected invoice has another total (the fee was wrong and fixed in the tariff): the run's
    totals move with it, so the run and the sum of its live invoices never disagree."""
    assign_unregistered("4980009999888877", drafted[0].id)
    with acting_as(ACTOR):
        run_billing(MONTH)
        close_billing_run(MONTH, ACTOR)
    run = db.session.scalar(select(BillingRun))
    assert run_sums(run) == live_sums(db, run.id)
    before = run.total
    load_tariff(tmp_path, TARIFF.replace("amount: 660", "amount: 1100"), "fixed.yaml")
    original = db.session.scalar(select(Invoice).join(Member).where(Member.code == "M001"))
    with acting_as(ACTOR):
        corrected = reissue_invoice(original.id, "組合員管理料の誤り", ACTOR)
    assert corrected.total == original.total + 440
    db.session.expire_all()
    run = db.session.scalar(select(BillingRun))
    assert run.total == before + 440
    assert run_sums(run) == live_sums(db, run.id)
    assert run.invoice_count == 2


def review_page(client) -> str:
    return client.get(f"/billing/month/{MONTH}").get_data(as_text=True)


def close_button(page: str) -> str:
    return re.search(r'<button[^>]*id="close-(?:open|disabled)"[^>]*>', page).group(0)


def resolved(db, drafted):
    """The unregistered row assigned and the draft recomputed: nothing blocks the close."""
    assign_unregistered("4980009999888877", drafted[0].id)
    with acting_as(ACTOR):
        run_billing(MONTH)


def test_a_fresh_draft_can_be_closed(client, db, drafted):
    resolved(db, drafted)
    login(client, "manager", MANAGER_PASSWORD)
    page = review_page(client)
    assert STALE not in page
    assert "disabled" not in close_button(page)
    assert review(MONTH).inputs_changed is False


def _import(db, drafted, tmp_path):
    add_usage(db, MONTH, [(drafted[1], "NEXCO中日本", 500)], name="late.csv")


def _card_event(db, drafted, tmp_path):
    with acting_as(ACTOR):
        event = CardEvent(card=db.session.get(Card, drafted[1].id), kind="loss", occurred_on=dt.date(2026, 10, 20))
        apply_card_event(db.session, event)
        db.session.add(event)
        db.session.commit()


def _new_card(db, drafted, tmp_path):
    make_card(db, db.session.scalar(select(Member).where(Member.code == "M002")), "1000020000000039",
              valid_from=dt.date(2026, 10, 15))


def _tariff(db, drafted, tmp_path):
    load_tariff(tmp_path, TARIFF.replace("amount: 110", "amount: 220"), "card-fee.yaml")


def _assignment(db, drafted, tmp_path):
    assign_unregistered("4980009999888877", drafted[1].id)


@pytest.mark.parametrize("change", [_import, _card_event, _new_card, _tariff],
                         ids=["import", "card-event", "new-card", "tariff"])
def test_the_review_says_inputs_changed_and_disables_the_close(client, db, drafted, tmp_path, change):
    resolved(db, drafted)
    change(db, drafted, tmp_path)
    login(client, "manager", MANAGER_PASSWORD)
    page = review_page(client)
    assert STALE in page
    button = close_button(page)
    assert 'id="close-disabled"' in button and "disabled" in button
    assert 'id="close-dialog"' not in page  # no form to submit at all
    assert review(MONTH).inputs_changed is True
    with acting_as(ACTOR):
        run_billing(MONTH)  # recomputed: closable again
    page = review_page(client)
    assert STALE not in page and 'id="close-open"' in page


def test_an_assignment_after_the_draft_marks_it_stale(client, db, drafted):
    """未登録カード rows assigned to a card after the draft (the draft billed without them)."""
    assert review(MONTH).inputs_changed is False
    assign_unregistered("4980009999888877", drafted[1].id)
    assert review(MONTH).inputs_changed is True
    login(client, "manager", MANAGER_PASSWORD)
    assert STALE in review_page(client)


def test_the_close_writes_one_audit_entry_with_its_counts(db, drafted):
    """issue 8 item 15: the close's bulk updates (numbers, states) are in the audit log as one entry."""
    from app.models import AuditLog

    resolved(db, drafted)
    with acting_as(ACTOR):
        run = close_billing_run(MONTH, ACTOR)
    entries = db.session.scalars(select(AuditLog).where(AuditLog.action == "close")).all()
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.table_name, entry.record_id, entry.username) == ("billing_run", str(run.id), ACTOR)
    assert entry.after["invoices_issued"] == 2
    assert (entry.after["first_number"], entry.after["last_number"]) == ("00000001", "00000002")
    assert entry.after["card_events_billed"] == 2  # the two cards' 新規発行/追加発行
    assert "発行した請求書: 2" in entry.changes() and "最初の請求書番号: 00000001" in entry.changes()


def test_review_and_operator_check_read_what_the_draft_stored(client, db, drafted, monkeypatch):
    """No aggregation of the month's usage per view: with the usage GROUP BY made to fail, the review
    page still shows the draft's discounts per card (stored in billing_discount) and its warnings."""
    from app.models import BillingDiscount
    from app.services.billing import inputs, review as review_module
    from app.services.billing.review import operator_check

    resolved(db, drafted)
    before = operator_check(MONTH)
    stored = db.session.scalars(select(BillingDiscount).order_by(BillingDiscount.id)).all()
    assert {(d.card_number, d.discount_base, d.discount) for d in stored if d.card_id} == {
        (C1, 15000, 1500), (C2, 8000, 300)}  # 10% of 5,000–10,000 + 20% of 10,000–15,000; 10% of 3,000

    def no_usage_pass(*args, **kwargs):
        raise AssertionError("the month's usage was aggregated again")

    monkeypatch.setattr(review_module, "usage_groups", no_usage_pass)
    monkeypatch.setattr(inputs, "usage_groups", no_usage_pass)
    monkeypatch.setattr(review_module, "billing_warnings", no_usage_pass)
    assert [(r.card_number, r.discount_base, r.computed) for r in operator_check(MONTH).rows] == [
        (r.card_number, r.discount_base, r.computed) for r in before.rows]
    login(client, "manager", MANAGER_PASSWORD)
    page = client.get(f"/billing/month/{MONTH}")
    assert page.status_code == 200
    from app.domain.card_number import format_card_number

    check = re.search(r'<table[^>]*id="operator-check".*?</table>', page.get_data(as_text=True), re.S).group(0)
    assert format_card_number(C1) in check and "15,000" in check and "1,500" in check

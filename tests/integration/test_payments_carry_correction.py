"""A correction of an invoice whose unpaid balance was already carried (docs/payments.md, 未収と繰越 / 入金の充当先):
October (口座振替, 資金不足) is carried into November as 前月未収額; after November's close staff correct October.
What November carried stays carried; only the difference (corrected total − payments − what was carried) goes into
the next open month — 前月未収額 when positive, 前月繰越（貸方） when negative — never October's whole balance again."""
import pytest
from sqlalchemy import select

from app.domain.errors import DomainError
from app.models.payment import Payment
from app.services.actor import acting_as
from app.services.billing.close import close_billing_run
from app.services.billing.corrections import reissue_invoice
from app.services.billing.draft import run_billing
from app.services.receivables import receivable_of, unpaid_list
from app.services.transfers import add_transfer, match_transfer
from tests.integration.test_billing import ACTOR, invoice_of
from tests.integration.test_payments_carry_over import results_in  # noqa: F401  (fixture)
from tests.integration.test_payments_chain import _card_fee, _carried, _debited, _usage
from tests.integration.test_payments_debit import closed_october  # noqa: F401  (fixture)


@pytest.fixture()
def carried(db, results_in):  # noqa: F811
    """M003's October (資金不足) carried whole into November, November closed, December not billed yet."""
    m3 = results_in["m3"]
    october = invoice_of(db, m3, "2026-10")
    _usage(db, "2026-11")
    run_billing("2026-11")
    close_billing_run("2026-11", "課長")
    db.session.expire_all()
    november = invoice_of(db, m3, "2026-11")
    assert _carried(november) == [(f"前月未収額（請求書 {october.number}）", october.total)]
    return dict(m3=m3, october=october, total=int(october.total), november=november)


def _correct(db, invoice, card_fee, reason="カード管理料の誤り"):
    """`invoice` reissued after the card fee (one card: 110円 before) was set to `card_fee`."""
    _card_fee(db, card_fee)
    with acting_as(ACTOR):
        corrected = reissue_invoice(invoice.id, reason, ACTOR)
    db.session.expire_all()
    return corrected


def _december(db, m3):
    _usage(db, "2026-12")
    run_billing("2026-12")
    db.session.expire_all()
    return invoice_of(db, m3, "2026-12")


def _unpaid_row(member_code, month="2026-10"):
    rows, _ = unpaid_list(month)
    return [(r[2], r[7], r[10]) for r in rows if r[0] == member_code]


def test_a_higher_correction_carries_only_the_difference(db, carried, staff_client):
    m3, october, november = carried["m3"], carried["october"], carried["november"]
    corrected = _correct(db, october, 220)
    assert int(corrected.total) == carried["total"] + 110
    # Still carried into November (its 前月未収額 stays as billed); the 110円 of the correction is still to carry.
    state = receivable_of(corrected.id)
    assert state.carried_to == november.number
    assert state.state_name == f"未収（請求書 {november.number} へ繰越・差額 110円は次の請求書へ前月未収額として繰越）"
    assert _unpaid_row("M003") == [(corrected.number, 110, state.state_name)]
    assert state.state_name in staff_client.get(f"/invoices/show/{corrected.id}").get_data(as_text=True)

    december = _december(db, m3)
    assert _carried(december) == [(f"前月未収額（請求書 {corrected.number}）", 110)]
    assert [l.tax_category for l in december.lines if l.kind == "carried_over"] == ["繰越"]  # not taxed again
    close_billing_run("2026-12", "課長")
    db.session.expire_all()
    december = invoice_of(db, m3, "2026-12")
    state = receivable_of(corrected.id)
    assert state.state_name == f"未収（請求書 {november.number}・{december.number} へ繰越）"
    assert _unpaid_row("M003") == [(corrected.number, 0, state.state_name)]

    _usage(db, "2027-01")  # everything carried: nothing of October again
    run_billing("2027-01")
    db.session.expire_all()
    assert _carried(invoice_of(db, m3, "2027-01")) == []


def test_a_lower_correction_carries_the_difference_as_a_credit(db, carried):
    m3, october, november = carried["m3"], carried["october"], carried["november"]
    corrected = _correct(db, october, 55)
    assert int(corrected.total) == carried["total"] - 55
    assert receivable_of(corrected.id).state_name == (
        f"未収（請求書 {november.number} へ繰越・差額 -55円は次の請求書へ前月繰越（貸方）として繰越）")
    december = _december(db, m3)
    assert _carried(december) == [(f"前月繰越（貸方）（請求書 {corrected.number}）", -55)]


def test_a_second_correction_carries_what_is_left(db, carried):
    m3, october, november = carried["m3"], carried["october"], carried["november"]
    first = _correct(db, october, 220)  # +110 carried into December
    _december(db, m3)
    close_billing_run("2026-12", "課長")
    db.session.expire_all()
    december = invoice_of(db, m3, "2026-12")
    second = _correct(db, first, 55, "もう一度の訂正")  # now 55円 below the original: 165円 too much was carried
    assert int(second.total) == carried["total"] - 55
    assert receivable_of(second.id).state_name == (
        f"未収（請求書 {november.number}・{december.number} へ繰越・差額 -165円は次の請求書へ前月繰越（貸方）として繰越）")
    _usage(db, "2027-01")
    run_billing("2027-01")
    db.session.expire_all()
    assert _carried(invoice_of(db, m3, "2027-01")) == [(f"前月繰越（貸方）（請求書 {second.number}）", -165)]


def test_a_correction_while_decembers_draft_exists(db, carried):
    m3, october = carried["m3"], carried["october"]
    first = _correct(db, october, 220)
    assert _carried(_december(db, m3)) == [(f"前月未収額（請求書 {first.number}）", 110)]
    second = _correct(db, first, 330)  # corrected again before December's close: +220 in all
    with pytest.raises(DomainError, match="再計算"):  # the draft carries the old difference: recompute first
        close_billing_run("2026-12", "課長")
    db.session.rollback()
    run_billing("2026-12")
    db.session.expire_all()
    assert _carried(invoice_of(db, m3, "2026-12")) == [(f"前月未収額（請求書 {second.number}）", 220)]
    close_billing_run("2026-12", "課長")
    db.session.expire_all()
    assert db.session.get(type(second), second.id).credit_carried_to_invoice_id == invoice_of(db, m3, "2026-12").id


def test_reissuing_the_carrying_invoice_carries_what_it_carried(db, carried):
    """November reissued after October's correction carries what November carried (October's 前月未収額 as
    billed), not October's corrected balance as well; the difference still goes into December."""
    m3, october, november = carried["m3"], carried["october"], carried["november"]
    corrected = _correct(db, october, 220)
    with acting_as(ACTOR):
        november_again = reissue_invoice(november.id, "宛名の誤り", ACTOR)
    db.session.expire_all()
    assert _carried(november_again) == [(f"前月未収額（請求書 {october.number}）", carried["total"])]
    assert receivable_of(corrected.id).carried_to == november_again.number
    assert _carried(_december(db, m3)) == [(f"前月未収額（請求書 {corrected.number}）", 110)]


def test_a_late_payment_of_the_corrected_invoice_is_counted_once(db, carried, tmp_path):
    """M003 transfers October's corrected amount after all: it pays the invoice that carries October (入金の充当先),
    the difference is still carried once, and what is then paid twice comes back as a credit."""
    m3, october, november = carried["m3"], carried["october"], carried["november"]
    corrected = _correct(db, october, 220)
    with acting_as(ACTOR):
        receipt = add_transfer("2027/01/05", "ｻﾄｳｼﾖｳｼﾞ", int(corrected.total))
        match_transfer(receipt.id, corrected.id)
    db.session.expire_all()
    payment = db.session.scalar(select(Payment).where(Payment.transfer_receipt_id == receipt.id))
    assert payment.invoice_id == november.id  # where October's balance is owed now
    assert receivable_of(corrected.id).received == 0
    assert _carried(_december(db, m3)) == [(f"前月未収額（請求書 {corrected.number}）", 110)]

    _debited("2026-11", tmp_path)  # November (with October's 前月未収額) debited in full as well
    december = _december(db, m3)
    owed_for_october = int(corrected.total)
    paid_for_october = carried["total"] + owed_for_october  # in November's debit, and by the transfer
    assert sorted(_carried(december)) == sorted([
        (f"前月未収額（請求書 {corrected.number}）", 110),
        (f"前月繰越（貸方）（請求書 {november.number}）", -owed_for_october)])
    assert sum(a for _, a in _carried(december)) == owed_for_october - paid_for_october  # owed once, paid twice

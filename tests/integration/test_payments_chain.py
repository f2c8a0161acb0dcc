"""Money that arrives for an invoice whose place was taken (docs/payments.md, 入金の充当先): a 振替結果 of a
batch sent before the invoice was corrected pays the corrected invoice, and a late payment of a balance already
carried as 前月未収額 pays the invoice that carries it; what is paid twice shows as 過入金 and reaches the
member's next invoice as 前月繰越（貸方）."""
import pytest
from sqlalchemy import select

from app.models.payment import Payment
from app.models.tariff import TariffRule
from app.services.actor import acting_as
from app.services.billing.close import close_billing_run
from app.services.billing.corrections import reissue_invoice
from app.services.billing.draft import run_billing
from app.services.debit_files import generate_debit_file, mark_sent
from app.services.debit_results import import_debit_result
from app.services.receivables import receivable_of, unpaid_list
from app.services.transfers import add_transfer, match_transfer
from tests.integration.test_billing import ACTOR, C1, add_usage, invoice_of
from tests.integration.test_payments_carry_over import results_in  # noqa: F401  (fixture)
from tests.integration.test_payments_debit import C4, closed_october  # noqa: F401  (fixture)
from tests.integration.test_payments_results import result_file


def _carried(invoice):
    return [(l.description, l.amount) for l in invoice.lines if l.kind == "carried_over"]


def _card_fee(db, amount):
    with acting_as(ACTOR):
        rule = db.session.scalar(select(TariffRule).where(TariffRule.rule_id == "card_monthly"))
        rule.params = {**rule.params, "amount": amount}
        db.session.commit()


def _usage(db, month):
    from app.models import Card

    cards = {c.number: c for c in db.session.scalars(select(Card))}
    add_usage(db, month, [(cards[C1], "NEXCO東日本", 1000), (cards[C4], "NEXCO東日本", 1000)])


def _debited(month, tmp_path):
    """The month's file generated, sent, and every record 振替済 in the bank's result."""
    with acting_as(ACTOR):
        batch = generate_debit_file(month).batch
        mark_sent(batch.id)
    path = tmp_path / f"kekka-{month}.txt"
    path.write_bytes(result_file(bytes(batch.content), {}))
    with acting_as(ACTOR):
        return import_debit_result(path)


def _sent_then_corrected(db, closed_october, card_fee):  # noqa: F811
    """October's file sent; then M001's invoice corrected (the card fee changed) and a second batch made."""
    m1 = closed_october["m1"]
    with acting_as(ACTOR):
        first = generate_debit_file("2026-10").batch
        mark_sent(first.id)
    original = invoice_of(db, m1, "2026-10")
    _card_fee(db, card_fee)
    with acting_as(ACTOR):
        corrected = reissue_invoice(original.id, "カード管理料の誤り", ACTOR)
        assert generate_debit_file("2026-10").batch.number == 2
    return first, original, corrected


def test_result_of_the_batch_sent_before_a_correction_pays_the_corrected_invoice(
        db, closed_october, tmp_path, staff_client):  # noqa: F811
    m1 = closed_october["m1"]
    first, original, corrected = _sent_then_corrected(db, closed_october, 220)
    sent_amount, corrected_total = int(original.total), int(corrected.total)
    assert corrected_total == sent_amount + 110
    path = tmp_path / "kekka.txt"
    path.write_bytes(result_file(bytes(first.content), {}))  # the bank debited what the first file asked
    with acting_as(ACTOR):
        summary = import_debit_result(path)
    assert summary.batch.id == first.id
    # Matched on the sent record (顧客番号 and amount), paid into the invoice that replaced the cancelled one.
    payment = db.session.scalar(select(Payment).where(Payment.member_id == m1.id))
    assert (payment.invoice_id, payment.amount) == (corrected.id, sent_amount)
    assert any(original.number in w and corrected.number in w and "110円" in w for w in summary.warnings)
    db.session.expire_all()
    state = receivable_of(corrected.id)
    assert (state.state_name, state.received, state.owed) == ("一部入金", sent_amount, 110)
    rows, _ = unpaid_list("2026-10")
    assert [(r[2], r[6], r[7]) for r in rows if r[0] == "M001"] == [(corrected.number, sent_amount, 110)]
    page = staff_client.get(f"/invoices/show/{corrected.id}").get_data(as_text=True)
    assert "一部入金" in page and f"{sent_amount:,}" in page

    # The bank's result is in for M001's October: only the difference is carried into November, not the whole.
    _usage(db, "2026-11")
    run_billing("2026-11")
    db.session.expire_all()
    assert _carried(invoice_of(db, m1, "2026-11")) == [(f"前月未収額（請求書 {corrected.number}）", 110)]


def test_a_lower_correction_after_the_debit_is_overpaid_and_credited_next_month(db, closed_october, tmp_path):  # noqa: F811
    m1 = closed_october["m1"]
    first, original, corrected = _sent_then_corrected(db, closed_october, 55)
    difference = int(original.total) - int(corrected.total)
    assert difference > 0
    path = tmp_path / "kekka.txt"
    path.write_bytes(result_file(bytes(first.content), {}))
    with acting_as(ACTOR):
        import_debit_result(path)
    db.session.expire_all()
    state = receivable_of(corrected.id)
    assert (state.state_name, state.received - int(corrected.total)) == ("過入金", difference)
    _usage(db, "2026-11")
    run_billing("2026-11")
    db.session.expire_all()
    november = invoice_of(db, m1, "2026-11")
    assert _carried(november) == [(f"前月繰越（貸方）（請求書 {corrected.number}）", -difference)]
    close_billing_run("2026-11", "課長")
    db.session.expire_all()
    assert receivable_of(corrected.id).state_name == f"過入金（請求書 {november.number} へ繰越）"


def test_a_payment_received_before_a_correction_moves_to_the_corrected_invoice(db, closed_october, tmp_path):  # noqa: F811
    m1 = closed_october["m1"]
    _debited("2026-10", tmp_path)
    original = invoice_of(db, m1, "2026-10")
    _card_fee(db, 220)
    with acting_as(ACTOR):
        corrected = reissue_invoice(original.id, "カード管理料の誤り", ACTOR)
    db.session.expire_all()
    state = receivable_of(corrected.id)
    assert (state.state_name, state.received, state.owed) == ("一部入金", int(original.total), 110)


def test_a_late_payment_of_a_carried_balance_is_not_lost(db, results_in, tmp_path, staff_client):  # noqa: F811
    m3 = results_in["m3"]
    october = invoice_of(db, m3, "2026-10")  # 資金不足: carried into November
    _usage(db, "2026-11")
    run_billing("2026-11")
    close_billing_run("2026-11", "課長")
    november = invoice_of(db, m3, "2026-11")
    assert _carried(november) == [(f"前月未収額（請求書 {october.number}）", october.total)]

    # Then M003 transfers October's amount anyway, and staff match it to the October invoice.
    with acting_as(ACTOR):
        receipt = add_transfer("2027/01/05", "ｻﾄｳｼﾖｳｼﾞ", int(october.total))
    page = staff_client.post(f"/payments/transfers/match/{receipt.id}", data={"invoice_id": str(october.id)},
                             follow_redirects=True).get_data(as_text=True)
    assert f"請求書 {october.number} の未収額は請求書 {november.number} へ繰越済み" in page
    db.session.expire_all()
    payment = db.session.scalar(select(Payment).where(Payment.transfer_receipt_id == receipt.id))
    assert (payment.invoice_id, payment.amount) == (november.id, october.total)  # recorded, where it is owed now
    assert receivable_of(october.id).state_name == f"未収（請求書 {november.number} へ繰越）"
    assert receivable_of(november.id).state_name == "一部入金"

    # November's file debits November's total (made at the close): October is paid twice — 過入金, visible.
    _debited("2026-11", tmp_path)
    db.session.expire_all()
    state = receivable_of(november.id)
    assert (state.state_name, state.received - int(november.total)) == ("過入金", october.total)

    # ... and it reaches December's invoice as a credit.
    _usage(db, "2026-12")
    run_billing("2026-12")
    db.session.expire_all()
    assert _carried(invoice_of(db, m3, "2026-12")) == [
        (f"前月繰越（貸方）（請求書 {november.number}）", -october.total)]


@pytest.mark.parametrize("code", ["0", "1"])
def test_an_ordinary_result_is_unchanged(db, closed_october, tmp_path, code):  # noqa: F811
    """Nothing corrected or carried: the payment is on the invoice debited, the warning list stays empty."""
    m1 = closed_october["m1"]
    with acting_as(ACTOR):
        batch = generate_debit_file("2026-10").batch
    path = tmp_path / "kekka.txt"
    path.write_bytes(result_file(bytes(batch.content), {1: code}))
    with acting_as(ACTOR):
        summary = import_debit_result(path)
    assert summary.warnings == []
    one = invoice_of(db, m1, "2026-10")
    assert [p.invoice_id for p in db.session.scalars(select(Payment).where(Payment.member_id == m1.id))] == (
        [one.id] if code == "0" else [])

"""Follow-ups of the payments fixes (docs/payments.md): a corrected invoice's portal status follows the sent
record's result (the correction chain, as the carry does); transfer suggestions offer a carried balance where it
lives now; write-offs and corrections (a pending request is withdrawn, an approved one moves and stops the carry
only up to its amount); and the billing draft's input stamp notices payments, results, write-offs and corrections,
so the review page warns before the close refuses."""
import pytest
from sqlalchemy import select

from app.domain.errors import DomainError
from app.models.billing import BillingRun
from app.models.payment import WriteOff
from app.queries.portal import UNPAID, payment_statuses
from app.services.actor import acting_as
from app.services.billing.close import close_billing_run
from app.services.billing.corrections import reissue_invoice
from app.services.billing.draft import run_billing
from app.services.billing.review import draft_inputs_changed
from app.services.debit_files import generate_debit_file
from app.services.debit_results import import_debit_result
from app.services.receivables import (complete_transfer_reconciliation, decide_write_off, pending_write_offs,
                                      receivable_of, request_write_off, unpaid_list)
from app.services.transfers import add_transfer, match_transfer, suggestions_for
from tests.integration.test_billing import ACTOR, invoice_of
from tests.integration.test_payments_carry_over import results_in  # noqa: F401  (fixture)
from tests.integration.test_payments_chain import _card_fee, _carried, _usage
from tests.integration.test_payments_debit import closed_october  # noqa: F401  (fixture)
from tests.integration.test_payments_results import result_file


def _correct(db, invoice, card_fee):
    _card_fee(db, card_fee)
    with acting_as(ACTOR):
        corrected = reissue_invoice(invoice.id, "カード管理料の誤り", ACTOR)
    db.session.expire_all()
    return corrected


# ---- 1. the portal's payment status of a corrected invoice ----------------------------------------------

def test_portal_status_of_an_invoice_corrected_after_its_debit_failed(db, results_in):  # noqa: F811
    m3 = results_in["m3"]
    october = invoice_of(db, m3, "2026-10")  # 資金不足 on the sent record
    corrected = _correct(db, october, 220)
    assert payment_statuses(db.session, m3.id, [(corrected.id, corrected.total)]) == {corrected.id: UNPAID}
    # still read for the member only: under another member the same id says nothing of M003's result
    m1 = results_in["m1"]
    assert payment_statuses(db.session, m1.id, [(corrected.id, corrected.total)]) != {corrected.id: UNPAID}


# ---- 2. transfer suggestions of a carried balance ----------------------------------------------------------

def test_suggestions_offer_a_carried_balance_on_the_invoice_that_carries_it(db, results_in):  # noqa: F811
    m3 = results_in["m3"]
    october = invoice_of(db, m3, "2026-10")
    _usage(db, "2026-11")
    run_billing("2026-11")
    close_billing_run("2026-11", "課長")
    db.session.expire_all()
    november = invoice_of(db, m3, "2026-11")
    assert _carried(november) == [(f"前月未収額（請求書 {october.number}）", october.total)]
    with acting_as(ACTOR):
        receipt = add_transfer("2027/01/05", "ｻﾄｳｼﾖｳｼﾞ", int(october.total))
    found = suggestions_for([receipt])[receipt.id]
    assert [(invoice.number, owed) for _, invoice, _, owed in found] == [(november.number, int(november.total))]


# ---- 3. write-offs and corrections ---------------------------------------------------------------------------

def test_a_pending_write_off_is_withdrawn_by_a_correction_and_asked_again(db, results_in):  # noqa: F811
    m3 = results_in["m3"]
    october = invoice_of(db, m3, "2026-10")
    with acting_as("staff"):
        asked = request_write_off(october.id, "倒産のため回収不能")
    corrected = _correct(db, october, 220)
    asked = db.session.get(WriteOff, asked.id)
    assert asked.status == "withdrawn" and asked.invoice_id == october.id
    assert "訂正" in asked.status_name() and corrected.number in asked.status_name()
    assert pending_write_offs() == []
    with pytest.raises(DomainError, match="承認待ちの償却が見つかりません"), acting_as("manager"):
        decide_write_off(asked.id, True)
    db.session.rollback()
    assert receivable_of(corrected.id).write_off is None
    rows, _ = unpaid_list("2026-10")
    assert not [r for r in rows if r[0] == "M003" and "償却" in r[10]]
    with acting_as("staff"):  # asked again, on the corrected invoice, for what it owes
        again = request_write_off(corrected.id, "倒産のため回収不能")
    assert (again.invoice_id, again.amount) == (corrected.id, corrected.total)


@pytest.mark.parametrize("card_fee, carried", [(220, 110), (55, None), (110, None)])
def test_an_approved_write_off_moves_and_stops_the_carry_up_to_its_amount(db, results_in, card_fee, carried):  # noqa: F811
    m3 = results_in["m3"]
    october = invoice_of(db, m3, "2026-10")
    with acting_as("staff"):
        write_off = request_write_off(october.id, "倒産のため回収不能")
    with acting_as("manager"):
        decide_write_off(write_off.id, True)
    approved = int(october.total)
    corrected = _correct(db, october, card_fee)
    write_off = db.session.get(WriteOff, write_off.id)
    assert (write_off.invoice_id, write_off.status, write_off.amount) == (corrected.id, "approved", approved)
    _usage(db, "2026-11")
    run_billing("2026-11")
    db.session.expire_all()
    november = invoice_of(db, m3, "2026-11")
    # never more written off than approved: only what the correction added is carried; nothing is credited
    assert _carried(november) == ([(f"前月未収額（請求書 {corrected.number}）", carried)] if carried else [])
    state = receivable_of(corrected.id)
    assert state.still_owed == (carried or 0)
    close_billing_run("2026-11", "課長")
    db.session.expire_all()
    assert receivable_of(corrected.id).still_owed == 0
    _usage(db, "2026-12")
    run_billing("2026-12")
    db.session.expire_all()
    assert _carried(invoice_of(db, m3, "2026-12")) == []  # carried once


# ---- 4. the draft's input stamp --------------------------------------------------------------------------------

def _changed(db, month="2026-11"):
    db.session.expire_all()
    return draft_inputs_changed(db.session.scalar(select(BillingRun).where(BillingRun.month == month)), month)


def _recompute(db):
    run_billing("2026-11")
    assert not _changed(db)


def test_the_input_stamp_notices_what_the_carried_balances_depend_on(db, closed_october, tmp_path,  # noqa: F811
                                                                    manager_client):
    m2, m3 = closed_october["m2"], closed_october["m3"]
    _usage(db, "2026-11")
    _recompute(db)
    with acting_as(ACTOR):  # the bank's result of October (M003 資金不足)
        batch = generate_debit_file("2026-10").batch
    assert not _changed(db)  # a file generated changes no balance
    path = tmp_path / "kekka.txt"
    path.write_bytes(result_file(bytes(batch.content), {2: "1"}))
    with acting_as(ACTOR):
        import_debit_result(path)
    assert _changed(db)
    page = manager_client.get("/billing/month/2026-11").get_data(as_text=True)
    assert "入力が変わりました" in page
    _recompute(db)

    two = invoice_of(db, m2, "2026-10")
    with acting_as(ACTOR):  # a transfer matched
        match_transfer(add_transfer("2026/12/25", "ﾀｶﾊｼﾌﾞﾂﾘﾕｳ", int(two.total) - 1000).id, two.id)
    assert _changed(db)
    _recompute(db)
    with acting_as(ACTOR):  # 振込の消込完了
        complete_transfer_reconciliation("2026-10")
    assert _changed(db)
    _recompute(db)

    three = invoice_of(db, m3, "2026-10")
    with acting_as("staff"):
        write_off = request_write_off(three.id, "倒産のため回収不能")
    assert not _changed(db)  # asked only: still carried
    with acting_as("manager"):
        decide_write_off(write_off.id, True)
    assert _changed(db)
    _recompute(db)

    with acting_as(ACTOR):  # a correction of October (the tariff unchanged: only the correction is new)
        reissue_invoice(invoice_of(db, closed_october["m1"], "2026-10").id, "再発行", ACTOR)
    assert _changed(db)
    _recompute(db)

"""Issue 12 item 2 with payments landed (issue 11): the portal's payment status is 入金済み / 一部入金 once money
is recorded, 未入金 once the bank's result says the debit failed, else 入金確認前 — read for the member only."""
from app.models.payment import Payment
from app.queries.portal import PAID, PARTLY_PAID, UNCONFIRMED, UNPAID, payment_statuses
from tests.integration.test_billing import invoice_of
from tests.integration.test_payments_carry_over import results_in  # noqa: F401  (fixture)
from tests.integration.test_payments_debit import closed_october  # noqa: F401  (fixture)


def test_payment_status_follows_the_results_and_stays_with_the_member(db, results_in):  # noqa: F811
    m1, m2, m3 = results_in["m1"], results_in["m2"], results_in["m3"]
    one, two, three = (invoice_of(db, m, "2026-10") for m in (m1, m2, m3))
    assert payment_statuses(db.session, m1.id, [(one.id, one.total)]) == {one.id: PAID}  # 振替済
    assert payment_statuses(db.session, m3.id, [(three.id, three.total)]) == {three.id: UNPAID}  # 資金不足
    assert payment_statuses(db.session, m2.id, [(two.id, two.total)]) == {two.id: UNCONFIRMED}  # 振込: nothing yet
    db.session.add(Payment(invoice_id=two.id, member_id=m2.id, amount=two.total // 2,
                           received_on=two.debit_date, method="transfer"))
    db.session.commit()
    assert payment_statuses(db.session, m2.id, [(two.id, two.total)]) == {two.id: PARTLY_PAID}
    # another member's invoice id asked for under member 1 reads nothing of member 3's results
    assert payment_statuses(db.session, m1.id, [(three.id, three.total)]) == {three.id: UNCONFIRMED}

"""Nothing debited twice (docs/payments.md, 口座振替データ → 送信と差し替え): once a month's debit file of a profile
is 送信済, another file of the same profile and month (a batch made after a correction holds every member again)
cannot be marked sent too. It goes to the collector only as a 差し替え — declared by the 責任者 with a reason, the
earlier batch becoming 差し替え済 — and a result of a replaced batch never records a payment. A batch whose result
is in cannot be replaced: the money moved."""
import pytest
from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.models import AuditLog
from app.models.payment import DebitBatch, Payment
from app.models.tariff import TariffRule
from app.services.actor import acting_as
from app.services.billing.corrections import reissue_invoice
from app.services.debit_files import generate_debit_file, mark_sent
from app.services.debit_results import import_debit_result
from tests.conftest import MANAGER_PASSWORD, STAFF_PASSWORD, login
from tests.integration.test_billing import ACTOR, invoice_of
from tests.integration.test_payments_debit import closed_october  # noqa: F401  (fixture)
from tests.integration.test_payments_results import result_file

REASON = "期限前に収納代行が第2回との差し替えを受け付けた（電話 担当 田中）"


def _sent_then_corrected(db, m1):
    """第1回 sent; M001's invoice corrected (card fee 220円) and 第2回 generated (every member again)."""
    with acting_as(ACTOR):
        first = generate_debit_file("2026-10").batch
        mark_sent(first.id)
        rule = db.session.scalar(select(TariffRule).where(TariffRule.rule_id == "card_monthly"))
        rule.params = {**rule.params, "amount": 220}
        db.session.commit()
        reissue_invoice(invoice_of(db, m1, "2026-10").id, "カード管理料の誤り", ACTOR)
        second = generate_debit_file("2026-10")
    assert second.created and second.batch.number == 2 and second.batch.record_count == first.record_count
    return first, second


def _status(db, batch_id):
    db.session.expire_all()
    return db.session.get(DebitBatch, batch_id).status


def test_a_second_file_of_the_month_cannot_be_marked_sent_while_the_first_is_sent(db, closed_october):  # noqa: F811
    first, second = _sent_then_corrected(db, closed_october["m1"])
    with acting_as(ACTOR), pytest.raises(DomainError) as refused:
        mark_sent(second.batch.id)
    message = refused.value.message
    assert "2026-10 default 第1回は送信済です" in message and "二重に引き落とされます" in message
    assert "差し替え" in message
    assert _status(db, second.batch.id) == "generated" and _status(db, first.id) == "sent"


def test_generating_again_says_the_earlier_file_was_sent(db, app, closed_october, tmp_path):  # noqa: F811
    first, second = _sent_then_corrected(db, closed_october["m1"])
    assert second.sent_earlier and second.sent_earlier[0].id == first.id
    assert "第1回は送信済です" in second.warning and "差し替え" in second.warning
    # The CLI says it plainly (the same batch is returned while nothing changes).
    out = tmp_path / "debit.txt"
    result = app.test_cli_runner().invoke(args=["etc", "export", "debit", "2026-10", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "第2回" in result.output and "第1回は送信済です" in result.output and "差し替え" in result.output
    # Asked again with nothing changed: the same 第2回, and the same warning.
    with acting_as(ACTOR):
        assert generate_debit_file("2026-10").warning == second.warning


def test_replacement_marks_the_earlier_batch_replaced_with_who_when_and_why(db, closed_october):  # noqa: F811
    first, second = _sent_then_corrected(db, closed_october["m1"])
    with acting_as(ACTOR), pytest.raises(DomainError) as no_reason:
        mark_sent(second.batch.id, replace=True, reason="  ")
    assert "理由" in no_reason.value.message and _status(db, first.id) == "sent"
    with acting_as("kacho"):
        mark_sent(second.batch.id, replace=True, reason=REASON)
    db.session.expire_all()
    old, new = db.session.get(DebitBatch, first.id), db.session.get(DebitBatch, second.batch.id)
    assert (old.status, old.replaced_by_batch_id, old.replaced_by, old.replacement_reason) == (
        "replaced", new.id, "kacho", REASON)
    assert old.replaced_at is not None and old.status_name() == "差し替え済"
    assert (new.status, new.sent_by) == ("sent", "kacho")
    audit = db.session.scalars(select(AuditLog).where(AuditLog.table_name == "debit_batch",
                                                      AuditLog.record_id == str(old.id),
                                                      AuditLog.action == "update")).all()
    changes = " ".join(row.changes() for row in audit)
    assert "状態: 送信済 → 差し替え済" in changes and f"差し替えの理由: （なし） → {REASON}" in changes
    assert "差し替えた人" in changes
    # A third file now: 第2回 is the one sent, so the warning names it (not the replaced 第1回).
    with acting_as(ACTOR):
        again = generate_debit_file("2026-10")
    assert not again.created and again.batch.id == new.id and again.sent_earlier == []
    # Nothing left to replace once it is 差し替え済; and marking it sent again is refused.
    with acting_as(ACTOR), pytest.raises(DomainError):
        mark_sent(first.id)


def test_replace_needs_a_sent_batch_to_replace(db, closed_october):  # noqa: F811
    with acting_as(ACTOR):
        batch = generate_debit_file("2026-10").batch
    with acting_as(ACTOR), pytest.raises(DomainError) as refused:
        mark_sent(batch.id, replace=True, reason=REASON)
    assert "差し替える送信済の口座振替データがありません" in refused.value.message
    assert _status(db, batch.id) == "generated"


def test_result_of_a_replaced_batch_is_refused_and_the_live_one_is_found(db, closed_october, tmp_path):  # noqa: F811
    first, second = _sent_then_corrected(db, closed_october["m1"])
    with acting_as(ACTOR):
        mark_sent(second.batch.id, replace=True, reason=REASON)
    assert first.debit_date == second.batch.debit_date  # same 委託者コード and 引落日: the live one must be chosen
    old_result = tmp_path / "kekka-old.txt"
    old_result.write_bytes(result_file(bytes(first.content), {}))
    with acting_as(ACTOR), pytest.raises(DomainError) as refused:
        import_debit_result(old_result)
    message = str(refused.value.message if hasattr(refused.value, "message") else refused.value)
    message += " ".join(getattr(refused.value, "errors", []))
    assert "第1回" in message and "差し替え済" in message and "第2回" in message
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    assert _status(db, first.id) == "replaced"

    new_result = tmp_path / "kekka-new.txt"
    new_result.write_bytes(result_file(bytes(second.batch.content), {}))
    with acting_as(ACTOR):
        summary = import_debit_result(new_result)
    assert summary.batch.id == second.batch.id
    assert db.session.scalar(select(func.count()).select_from(Payment)) == second.batch.record_count
    assert _status(db, first.id) == "replaced"


def test_a_batch_whose_result_is_in_cannot_be_replaced(db, closed_october, tmp_path):  # noqa: F811
    m1 = closed_october["m1"]
    with acting_as(ACTOR):
        first = generate_debit_file("2026-10").batch
        mark_sent(first.id)
    path = tmp_path / "kekka.txt"
    path.write_bytes(result_file(bytes(first.content), {}))
    with acting_as(ACTOR):
        import_debit_result(path)
        rule = db.session.scalar(select(TariffRule).where(TariffRule.rule_id == "card_monthly"))
        rule.params = {**rule.params, "amount": 220}
        db.session.commit()
        reissue_invoice(invoice_of(db, m1, "2026-10").id, "カード管理料の誤り", ACTOR)
        second = generate_debit_file("2026-10")
    assert "第1回は結果取込済です" in second.warning
    with acting_as(ACTOR), pytest.raises(DomainError) as plain:
        mark_sent(second.batch.id)
    assert "第1回は結果取込済です" in plain.value.message
    with acting_as(ACTOR), pytest.raises(DomainError) as replace:
        mark_sent(second.batch.id, replace=True, reason=REASON)
    assert "結果取込済" in replace.value.message and "差し替えできません" in replace.value.message
    assert "入金の充当先" in replace.value.message
    assert _status(db, first.id) == "result_imported" and _status(db, second.batch.id) == "generated"


def test_screens_send_refused_and_replacement_by_the_manager(db, closed_october, client):  # noqa: F811
    first, second = _sent_then_corrected(db, closed_october["m1"])
    pk = second.batch.id
    staff_client = manager_client = client
    login(client, "staff", STAFF_PASSWORD)
    page = staff_client.get(f"/debit-batches/show/{pk}").get_data(as_text=True)
    assert "第1回は送信済です" in page and "差し替え" in page
    assert 'id="debit-mark-sent"' not in page and 'id="debit-replace"' not in page  # staff do not replace
    refused = staff_client.post(f"/debit-batches/send/{pk}", follow_redirects=True).get_data(as_text=True)
    assert "二重に引き落とされます" in refused and _status(db, pk) == "generated"
    response = staff_client.post(f"/debit-batches/replace/{pk}", data={"reason": REASON})
    assert response.status_code in (302, 403) and _status(db, first.id) == "sent"
    client.post("/logout/")
    login(client, "manager", MANAGER_PASSWORD)

    page = manager_client.get(f"/debit-batches/show/{pk}").get_data(as_text=True)
    assert 'id="debit-replace"' in page and 'name="reason"' in page
    without = manager_client.post(f"/debit-batches/replace/{pk}", data={"reason": ""}, follow_redirects=True)
    assert "理由" in without.get_data(as_text=True) and _status(db, first.id) == "sent"
    done = manager_client.post(f"/debit-batches/replace/{pk}", data={"reason": REASON}, follow_redirects=True)
    body = done.get_data(as_text=True)
    assert done.status_code == 200 and "差し替え" in body
    assert _status(db, first.id) == "replaced" and _status(db, pk) == "sent"
    old_page = manager_client.get(f"/debit-batches/show/{first.id}").get_data(as_text=True)
    assert "差し替え済" in old_page and REASON in old_page and "第2回" in old_page


def test_generate_screen_says_the_earlier_file_was_sent(db, closed_october, staff_client):  # noqa: F811
    with acting_as(ACTOR):
        first = generate_debit_file("2026-10").batch
        mark_sent(first.id)
        rule = db.session.scalar(select(TariffRule).where(TariffRule.rule_id == "card_monthly"))
        rule.params = {**rule.params, "amount": 220}
        db.session.commit()
        reissue_invoice(invoice_of(db, closed_october["m1"], "2026-10").id, "カード管理料の誤り", ACTOR)
    response = staff_client.post("/debit-batches/generate", data={"month": "2026-10", "profile": "default"},
                                 follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "第2回を作成しました" in body and "第1回は送信済です" in body

"""未収 (issue 11 item 5): payment states, the 未収一覧 with ageing, unpaid balances carried into the next invoice
as 前月未収額 outside the tax and into its debit amount, write-offs approved by the 責任者 (audit-logged)."""
import datetime as dt

import pytest
from sqlalchemy import select

from app.domain.errors import DomainError
from app.domain.zengin.files import split_records
from app.models import AuditLog
from app.models.billing import InvoiceLine
from app.models.payment import WriteOff
from app.services.actor import acting_as
from app.services.billing.close import close_billing_run
from app.services.billing.draft import run_billing
from app.services.debit_files import generate_debit_file
from app.services.debit_results import import_debit_result
from app.services.transfers import add_transfer, match_transfer
from app.services.receivables import (complete_transfer_reconciliation, decide_write_off, receivable_of,
                                      request_write_off, unpaid_list)
from tests.integration.test_billing import ACTOR, C1, add_usage, invoice_of
from tests.integration.test_payments_debit import C4, closed_october  # noqa: F401  (fixture)
from tests.integration.test_payments_results import result_file


@pytest.fixture()
def results_in(db, closed_october, tmp_path):  # noqa: F811
    """October debited: M001 paid, M003 資金不足; M002 (振込) has paid nothing."""
    with acting_as(ACTOR):
        batch = generate_debit_file("2026-10").batch
    path = tmp_path / "kekka.txt"
    path.write_bytes(result_file(bytes(batch.content), {2: "1"}))
    with acting_as(ACTOR):
        import_debit_result(path)
    return closed_october


def _november(db, october):
    from app.models import Card

    cards = {c.number: c for c in db.session.scalars(select(Card))}
    add_usage(db, "2026-11", [(cards[C1], "NEXCO東日本", 1000), (cards[C4], "NEXCO東日本", 1000)])
    run_billing("2026-11")


def test_payment_states_and_unpaid_list_with_ageing(db, results_in):
    m1, m2, m3 = results_in["m1"], results_in["m2"], results_in["m3"]
    assert receivable_of(invoice_of(db, m1, "2026-10").id).state_name == "入金済"
    three = receivable_of(invoice_of(db, m3, "2026-10").id)
    assert (three.state_name, three.received, three.owed) == ("未入金", 0, invoice_of(db, m3, "2026-10").total)
    rows, summary = unpaid_list("2026-10", today=dt.date(2027, 1, 20))  # 44 days after 2026-12-07
    assert [r[0] for r in rows[:-1]] == ["M002", "M003"]
    assert rows[1][3:5] == ["口座振替", dt.date(2026, 12, 7)] and rows[1][8:10] == [44, "31〜60日"]
    owed = invoice_of(db, m2, "2026-10").total + invoice_of(db, m3, "2026-10").total
    assert rows[-1][7] == owed and dict((b, (c, a)) for b, c, a in summary)["31〜60日"] == (2, owed)


def test_unpaid_debit_is_carried_outside_the_tax_and_debited_next(db, results_in):
    m1, m2, m3 = results_in["m1"], results_in["m2"], results_in["m3"]
    october_three = invoice_of(db, m3, "2026-10")
    _november(db, results_in)
    november = invoice_of(db, m3, "2026-11")
    lines = db.session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == november.id)
                               .order_by(InvoiceLine.position)).all()
    carried = [l for l in lines if l.kind == "carried_over"]
    assert [(l.description, l.amount, l.tax_category) for l in carried] == [
        (f"前月未収額（請求書 {october_three.number}）", october_three.total, "繰越")]
    taxable = sum(l.amount for l in lines if l.tax_category == "10%")
    assert november.tax_amount == taxable * 10 // 110  # not taxed again
    assert november.total == taxable + october_three.total
    # M001 paid, M002 pays by transfer and its month is not reconciled yet: nothing carried for them.
    assert not [l for l in db.session.scalars(select(InvoiceLine).where(
        InvoiceLine.invoice_id == invoice_of(db, m1, "2026-11").id)) if l.kind == "carried_over"]
    assert invoice_of(db, m2, "2026-11") is None or not any(
        l.kind == "carried_over" for l in invoice_of(db, m2, "2026-11").lines)

    close_billing_run("2026-11", "課長")
    db.session.expire_all()
    assert invoice_of(db, m3, "2026-10").credit_carried_to_invoice_id == november.id
    assert receivable_of(october_three.id).state_name == f"未収（請求書 {november.number} へ繰越）"
    rows, _ = unpaid_list("2026-10")
    assert [r[7] for r in rows if r[0] == "M003"] == [0]  # owed on the November invoice now
    with acting_as(ACTOR):
        batch = generate_debit_file("2026-11").batch
    record = [r for r in split_records(bytes(batch.content)) if r[:1] == b"2" and int(r[91:111]) == m3.id][0]
    assert int(record[80:90]) == november.total  # the carried balance is debited with November


def test_transfers_carry_only_once_the_month_is_reconciled(db, results_in):
    m2 = results_in["m2"]
    october = invoice_of(db, m2, "2026-10")
    with acting_as(ACTOR):  # M002 transferred 1,000円 less than billed: partly paid, the rest is carried
        match_transfer(add_transfer("2026/12/25", "ﾀｶﾊｼﾌﾞﾂﾘﾕｳ", october.total - 1000).id, october.id)
    assert receivable_of(october.id).state_name == "一部入金"
    with acting_as(ACTOR):
        complete_transfer_reconciliation("2026-10")
    _november(db, results_in)
    two = invoice_of(db, m2, "2026-11")
    assert [(l.kind, l.amount) for l in two.lines if l.kind == "carried_over"] == [("carried_over", 1000)]


def test_write_off_needs_the_managers_approval_and_stops_the_carry(db, results_in):
    m3 = results_in["m3"]
    october = invoice_of(db, m3, "2026-10")
    with pytest.raises(DomainError, match="理由"), acting_as("staff"):
        request_write_off(october.id, " ")
    db.session.rollback()
    with acting_as("staff"):
        write_off = request_write_off(october.id, "倒産のため回収不能")
    assert (write_off.amount, write_off.status) == (october.total, "requested")
    with pytest.raises(DomainError, match="依頼した人"), acting_as("staff"):
        decide_write_off(write_off.id, True)
    db.session.rollback()
    _november(db, results_in)  # still requested: carried
    assert any(l.kind == "carried_over" for l in invoice_of(db, m3, "2026-11").lines)
    with acting_as("manager"):
        decide_write_off(write_off.id, True)
    run_billing("2026-11")
    db.session.expire_all()
    assert not any(l.kind == "carried_over" for l in invoice_of(db, m3, "2026-11").lines)
    assert receivable_of(october.id).state_name == "未収（償却済）"
    entries = db.session.scalars(select(AuditLog).where(AuditLog.table_name == "write_off").order_by(AuditLog.id)).all()
    assert [(e.action, e.username) for e in entries] == [("create", "staff"), ("update", "manager")]


def test_unpaid_screen_and_roles(db, results_in, client):
    from tests.conftest import MANAGER_PASSWORD, STAFF_PASSWORD, login

    m3 = results_in["m3"]
    october = invoice_of(db, m3, "2026-10")
    login(client, "staff", STAFF_PASSWORD)
    page = client.get("/payments/unpaid/?month=2026-10").get_data(as_text=True)
    assert "未収一覧" in page and "M003" in page and "振込の消込" in page
    client.post(f"/payments/unpaid/write-off/{october.id}", data={"reason": "回収不能"})
    write_off = db.session.scalar(select(WriteOff))
    assert client.post(f"/payments/unpaid/decide/{write_off.id}", data={"decision": "approve"}).status_code in (302, 403)
    db.session.expire_all()
    assert db.session.get(WriteOff, write_off.id).status == "requested"
    invoice_page = client.get(f"/invoices/show/{october.id}").get_data(as_text=True)
    assert "入金状況" in invoice_page and "未入金" in invoice_page
    client.post("/logout/")
    login(client, "manager", MANAGER_PASSWORD)
    client.post(f"/payments/unpaid/decide/{write_off.id}", data={"decision": "approve"})
    db.session.expire_all()
    assert db.session.get(WriteOff, write_off.id).status == "approved"


def test_unpaid_list_excel(db, app, results_in, tmp_path, manager_client):
    from openpyxl import load_workbook

    out = tmp_path / "unpaid.xlsx"
    result = app.test_cli_runner().invoke(args=["etc", "export", "unpaid-list", "2026-10", "-o", str(out)])
    assert result.exit_code == 0 and "2件" in result.output
    book = load_workbook(out)
    assert book.sheetnames == ["未収一覧 2026-10", "経過別"]
    assert [c.value for c in book.worksheets[0][1]][:3] == ["組合員コード", "組合員名", "請求書番号"]
    assert book.worksheets[0]["A2"].value == "M002" and book.worksheets[1]["A2"].value == "期日前"
    download = manager_client.get("/payments/unpaid/download/?month=2026-10")
    assert download.status_code == 200 and download.data[:2] == b"PK"

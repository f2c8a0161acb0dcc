"""カード明細書, 走行明細書 and 口座振替のお知らせ / 振込のご案内, from a month closed through the real
services: the PDFs' text, the workbooks' numbers and the CSV rows are the database's."""
import csv
import io
import re

from openpyxl import load_workbook
from sqlalchemy import func, select

from app.documents.data import load_invoice_documents
from app.documents.render import document_title, render_document
from app.models import Invoice, UsageRecord
from app.models.billing import InvoiceLine
from app.models.usage import NOT_BILLED_FLAGS
from app.services.billing.close import close_billing_run
from app.services.billing.corrections import add_adjustment
from app.services.billing.draft import run_billing

from .documents_month import C1, C2, LONG_NAME, build_closed_month, pdf_pages, pdftotext
from .test_billing import ACTOR


def card_sums(db, invoice_id):
    """card id → (usage, discount, fees) from the invoice's lines, as the database holds them."""
    sums = {}
    for card_id, kind, amount in db.session.execute(select(InvoiceLine.card_id, InvoiceLine.kind, InvoiceLine.amount)
                                                    .where(InvoiceLine.invoice_id == invoice_id)):
        if card_id is None:
            continue
        usage, discount, fees = sums.get(card_id, (0, 0, 0))
        if kind in ("usage", "non_taxable"):
            usage += amount
        elif kind == "member_discount":
            discount += amount
        else:
            fees += amount
        sums[card_id] = (usage, discount, fees)
    return sums


def billed_rows(db, member_id):
    u = UsageRecord
    return db.session.execute(select(func.count(), func.sum(u.amount_billed), func.sum(u.discount))
                              .where(u.member_id == member_id, u.usage_month == "2026-10",
                                     u.flags.op("&")(NOT_BILLED_FLAGS) == 0)).one()


def test_card_statement_has_one_row_per_card_adding_up_to_the_invoice(db, tmp_path):
    ids = build_closed_month(db, tmp_path)
    invoice = db.session.get(Invoice, ids["i1"])
    sums = card_sums(db, invoice.id)
    data = load_invoice_documents(db.session, invoice.id)
    text = pdftotext(render_document("card-statement", "pdf", data), tmp_path)
    assert "カード明細書" in re.sub(r"\s", "", text) and f"{LONG_NAME}御中" in re.sub(r"\s", "", pdftotext(
        render_document("card-statement", "pdf", data), tmp_path, "-raw"))
    for card_id, masked, plate in ((ids["c1"], "************0011", "品川 100 あ"), (ids["c2"], "************0029", None)):
        usage, discount, fees = sums[card_id]
        row = next(line for line in text.splitlines() if masked in line)
        numbers = [int(n.replace(",", "")) for n in re.findall(r"-?[\d,]+", row.split(masked, 1)[1])
                   if re.fullmatch(r"-?\d{1,3}(,\d{3})*", n)]
        assert numbers[-4:] == [usage, discount, fees, usage + discount + fees]
        assert "大型車" in row and (plate is None or plate in row)
    assert C1 not in text and C2 not in text
    assert re.search(rf"ご請求金額（請求書の合計）\s+{invoice.total:,}", text)
    assert re.search(r"カード管理料（手数料）\s+220", text) and re.search(r"組合員管理料（手数料）\s+660", text)

    book = load_workbook(io.BytesIO(render_document("card-statement", "xlsx", data)))
    sheet = book.active
    header = next(r for r in sheet.iter_rows() if r[0].value == "No.")[0].row
    assert sheet.freeze_panes == f"A{header + 1}"
    rows = list(sheet.iter_rows(min_row=header + 1, values_only=True))
    cards = {r[1]: r for r in rows if isinstance(r[0], int)}
    assert cards["************0011"][5:] == (*sums[ids["c1"]], sum(sums[ids["c1"]]))
    assert cards["************0029"][5:] == (*sums[ids["c2"]], sum(sums[ids["c2"]]))
    assert rows[-1][1] == "ご請求金額（請求書の合計）" and rows[-1][8] == invoice.total
    assert sum(r[8] for r in rows if r[8] is not None and r is not rows[-1] and not str(r[1]).startswith("カード計")) \
        == invoice.total


def test_usage_statement_lists_the_billed_passages_and_says_what_was_left_out(db, tmp_path):
    ids = build_closed_month(db, tmp_path, duplicate=True)
    count, billed, discount = billed_rows(db, ids["m1"])
    assert count == 4  # the second delivery of 東京→厚木 is 重複の疑い: kept, not billed
    data = load_invoice_documents(db.session, ids["i1"])
    assert data.excluded == (("重複の疑い", 1),)
    pdf = render_document("usage-statement", "pdf", data)
    text = pdftotext(pdf, tmp_path)
    assert "走行明細書" in re.sub(r"\s", "", text)
    assert len(re.findall(r"^\s*10/\d\d\s", text, re.M)) == count
    assert "10/03   02:10   03:05   東京" in text and "大型車" in text
    assert "りんくうJCT" in text and "関西空港" in text
    assert re.search(rf"合計（{count}件）\s+[\d,]+\s+{discount:,}\s+{billed:,}", text)
    assert "重複の疑い 1件" in text
    assert "ページ 1 / 1" in text


def test_a_1200_row_usage_statement_paginates_with_the_header_on_every_page(db, tmp_path):
    ids = build_closed_month(db, tmp_path, extra_rows=1200)
    count, billed, discount = billed_rows(db, ids["m1"])
    assert count == 1204
    data = load_invoice_documents(db.session, ids["i1"])
    pdf = render_document("usage-statement", "pdf", data)
    pages = pdf_pages(pdf, tmp_path)
    assert pages >= 20
    rows = 0
    for page in range(1, pages + 1):
        text = pdftotext(pdf, tmp_path, "-f", str(page), "-l", str(page))
        assert re.search(r"利用日\s+入口時刻\s+出口時刻\s+入口IC\s+出口IC\s+車種\s+割引前料金\s+割引額\s+通行料金", text), page
        assert f"ページ {page} / {pages}" in text
        rows += len(re.findall(r"^\s*10/\d\d\s", text, re.M))
        if page > 1 and page < pages:
            assert "カード ************0029" in text  # the card continued from the page before is named again
    assert rows == count
    assert re.search(rf"合計（{count:,}件）\s+[\d,]+\s+{discount:,}\s+{billed:,}", pdftotext(pdf, tmp_path, "-f", str(pages)))

    sheet = load_workbook(io.BytesIO(render_document("usage-statement", "xlsx", data))).active
    header = next(r for r in sheet.iter_rows() if r[0].value == "カード番号")[0].row
    assert sheet.freeze_panes == f"A{header + 1}" and sheet.print_title_rows == f"${header}:${header}"
    passages = [r for r in sheet.iter_rows(min_row=header + 1, values_only=True) if r[4]]
    assert len(passages) == count
    assert sum(r[11] for r in passages) == billed and sum(r[10] for r in passages) == discount
    total = next(r for r in sheet.iter_rows(min_row=header + 1, values_only=True) if r[0] == "合計")
    assert (total[10], total[11]) == (discount, billed)
    money = next(sheet.iter_rows(min_row=header + 1, max_row=header + 1))[11]
    assert money.number_format == "#,##0" and isinstance(money.value, int)

    raw = render_document("usage-statement", "csv", data)
    reader = list(csv.reader(io.StringIO(raw.decode("cp932"), newline="")))
    assert reader[0][:5] == ["請求書番号", "利用月", "カード番号（末尾4桁）", "車両番号", "利用日"]
    assert len(reader) == count + 1 and sum(int(r[13]) for r in reader[1:]) == billed
    assert b"\r\n" in raw and C2 not in raw.decode("cp932")


def test_card_statement_csv_is_cp932(db, tmp_path):
    ids = build_closed_month(db, tmp_path)
    data = load_invoice_documents(db.session, ids["i2"])
    rows = list(csv.reader(io.StringIO(render_document("card-statement", "csv", data).decode("cp932"))))
    assert rows[0][-1] == "差引金額" and rows[1][2] == "************0021" and int(rows[1][-1]) == data.cards[0].net


def test_payment_notice_follows_the_payment_method(db, tmp_path):
    ids = build_closed_month(db, tmp_path)
    debit = load_invoice_documents(db.session, ids["i1"])
    transfer = load_invoice_documents(db.session, ids["i2"])
    assert document_title("payment-notice", debit) == "口座振替のお知らせ"
    assert document_title("payment-notice", transfer) == "振込のご案内"
    text = re.sub(r" +", " ", pdftotext(render_document("payment-notice", "pdf", debit), tmp_path))
    invoice = db.session.get(Invoice, ids["i1"])
    assert "口座振替のお知らせ" in re.sub(r"\s", "", text)
    assert f"振替金額 {invoice.total:,}円" in text and "振替日 2026年12月7日" in text
    assert "普通 ****567" in text and "1234567" not in text  # the member's account, masked
    text = re.sub(r" +", " ", pdftotext(render_document("payment-notice", "pdf", transfer), tmp_path))
    invoice = db.session.get(Invoice, ids["i2"])
    assert "振込のご案内" in re.sub(r"\s", "", text)
    assert f"お振込金額 {invoice.total:,}円" in text and "お支払期日 2026年12月7日" in text
    assert "みずほ銀行（0001）" in text and "東京営業部（001）" in text and "普通 7654321" in text
    sheet = load_workbook(io.BytesIO(render_document("payment-notice", "xlsx", transfer))).active
    values = {r[0]: r[1] for r in sheet.iter_rows(values_only=True) if r and r[0]}
    assert values["お振込金額"] == invoice.total and values["口座番号"] == "7654321"
    assert values["お支払期日"].date() == invoice.debit_date
    debit_values = {r[0]: r[1] for r in load_workbook(io.BytesIO(render_document(
        "payment-notice", "xlsx", debit))).active.iter_rows(values_only=True) if r and r[0]}
    assert debit_values["口座番号"] == "****567" and debit_values["振替金額"] == debit.invoice.total


def test_a_credit_is_not_paid_and_is_carried_into_the_next_invoice(db, tmp_path):
    ids = build_closed_month(db, tmp_path)
    october = db.session.get(Invoice, ids["i2"])
    add_adjustment(october.id, -20000, "通行料金の二重計上の返金", ACTOR)
    run_billing("2026-11")
    close_billing_run("2026-11", ACTOR)
    november = db.session.scalar(select(Invoice).where(Invoice.member_id == ids["m2"], Invoice.month == "2026-11"))
    assert november.total < 0 and november.debit_date is None
    data = load_invoice_documents(db.session, november.id)
    text = pdftotext(render_document("invoice", "pdf", data), tmp_path)
    assert f"訂正（請求書 {october.number}）通行料金の二重計上の返金" in text  # the corrected invoice is named
    assert re.search(rf"貸方残高（次回繰越）\s+{november.total:,}", text)
    notice = pdftotext(render_document("payment-notice", "pdf", data), tmp_path)
    assert "今回のお支払はありません" in notice and f"{november.total:,}円" in notice
    run_billing("2026-12")
    close_billing_run("2026-12", ACTOR)
    december = db.session.scalar(select(Invoice).where(Invoice.member_id == ids["m2"], Invoice.month == "2026-12"))
    text = pdftotext(render_document("invoice", "pdf", load_invoice_documents(db.session, december.id)), tmp_path)
    assert f"前月繰越（貸方）（請求書 {november.number}）" in text
    assert re.search(rf"前月繰越（貸方）\s+{november.total:,}", text)
    assert re.search(r"対象外\s+" + f"{november.total:,}", text)


def test_invoices_read_together_give_the_same_data_as_one_by_one(db, tmp_path):
    """The render batch reads its claimed invoices together (load_invoices_documents): each member's
    documents must hold that member's rows and cards only, exactly as when read alone."""
    from app.documents.data import load_invoices_documents

    ids = build_closed_month(db, tmp_path)
    together = load_invoices_documents(db.session, [ids["i2"], ids["i1"], 10**9])
    assert set(together) == {ids["i1"], ids["i2"]}  # an unknown id is left out
    for key in ("i1", "i2"):
        alone = load_invoice_documents(db.session, ids[key])
        assert together[ids[key]] == alone and alone.usages and alone.cards
    assert {c.card_id for c in together[ids["i1"]].cards}.isdisjoint({c.card_id for c in together[ids["i2"]].cards})

"""請求書 (適格請求書) as PDF and Excel, from a month closed through the real services: the text of the
PDF and the numbers of the workbook are those the database holds."""
import io
import multiprocessing
import pickle
import re

from openpyxl import load_workbook
from sqlalchemy import select

from app.documents.data import load_invoice_documents
from app.documents.render import FORMATS, KIND_TITLES, KINDS, document_title, render_document
from app.models.billing import Invoice, InvoiceLine, InvoiceTaxSubtotal
from app.services.billing.corrections import reissue_invoice

from .documents_month import (C1, C2, LONG_NAME, OPERATOR_NAME, REGISTRATION, build_closed_month, pdf_pages,
                              pdffonts, pdftotext)


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def db_invoice(db, invoice_id):
    invoice = db.session.get(Invoice, invoice_id)
    lines = db.session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id)
                               .order_by(InvoiceLine.position)).all()
    subtotals = {s.category: s for s in db.session.scalars(
        select(InvoiceTaxSubtotal).where(InvoiceTaxSubtotal.invoice_id == invoice_id))}
    return invoice, lines, subtotals


def test_the_interface_names_four_kinds_and_two_formats():
    assert KINDS == ("invoice", "card-statement", "usage-statement", "payment-notice")
    assert FORMATS == ("pdf", "xlsx")
    assert KIND_TITLES["invoice"] == "請求書"


def test_invoice_pdf_carries_the_qualified_invoice_items_of_the_database(db, tmp_path):
    ids = build_closed_month(db, tmp_path)
    invoice, lines, subtotals = db_invoice(db, ids["i1"])
    data = load_invoice_documents(db.session, invoice.id)
    pickle.loads(pickle.dumps(data))  # plain values: it travels to a worker process
    pdf = render_document("invoice", "pdf", data)
    assert pdf.startswith(b"%PDF") and pdf_pages(pdf, tmp_path) == 1
    text = pdftotext(pdf, tmp_path)
    flat = compact(pdftotext(pdf, tmp_path, "-raw"))
    # recipient: address and the long name with 御中 (wrapped, but whole)
    assert f"{LONG_NAME}御中" in flat
    assert "〒231-0001" in text and "神奈川県横浜市中区新港二丁目3番4号" in text
    # issuer, registration number, number and dates
    assert OPERATOR_NAME in text and f"登録番号 {REGISTRATION}" in re.sub(r" +", " ", text)
    assert invoice.number == "00000001" and "00000001" in text
    assert "請求日" in text and "2026年11月20日" in text
    assert "2026年10月1日〜2026年10月31日" in text
    assert "口座振替" in text and "振替日" in text and "2026年12月7日" in text
    # amounts: every line, the tax per rate, 不課税 apart, the total
    for line in lines:
        assert f"{line.amount:,}" in text, line.description
    ten, free = subtotals["10%"], subtotals["不課税"]
    assert (ten.total_including_tax, ten.tax, free.total_including_tax) == (37894, 3444, 900)
    assert re.search(rf"10%対象（税込）\s+{ten.total_including_tax:,}", text)
    assert re.search(rf"うち消費税（10%）\s+{ten.tax:,}", text)
    assert re.search(rf"不課税（関空橋税など）\s+{free.total_including_tax:,}", text)
    assert re.search(rf"合計（ご請求金額）\s+{invoice.total:,}", text)
    assert f"¥{invoice.total:,}-" in text
    # card numbers: only the last four digits on paper
    assert "************0011" in text and "************0029" in text
    assert C1 not in flat and C2 not in flat and "100001-0000-00001-1" not in flat
    assert "ページ 1 / 1" in text


def test_invoice_pdf_embeds_ipaex_gothic(db, tmp_path):
    ids = build_closed_month(db, tmp_path)
    pdf = render_document("invoice", "pdf", load_invoice_documents(db.session, ids["i2"]))
    fonts = pdffonts(pdf, tmp_path)
    line = next(l for l in fonts.splitlines() if "IPAexGothic" in l)
    assert line.split()[-5:-2] == ["yes", "yes", "yes"]  # embedded, subset, unicode


def test_bank_transfer_invoice_names_the_due_date_and_the_account_to_pay_into(db, tmp_path):
    ids = build_closed_month(db, tmp_path, date_style="wareki")
    invoice, _, _ = db_invoice(db, ids["i2"])
    text = pdftotext(render_document("invoice", "pdf", load_invoice_documents(db.session, invoice.id)), tmp_path)
    assert "髙橋物流有限会社 御中" in text
    assert "振込" in text and "お支払期日" in text and "令和8年12月7日" in text  # 和暦 per operator setting
    assert "請求日" in text and "令和8年11月20日" in text
    assert "令和8年10月1日〜令和8年10月31日" in text
    assert "みずほ銀行 東京営業部 普通 7654321" in text
    assert f"¥{invoice.total:,}-" in text


def test_invoice_xlsx_rereads_as_the_database_numbers(db, tmp_path):
    ids = build_closed_month(db, tmp_path)
    invoice, lines, subtotals = db_invoice(db, ids["i1"])
    data = load_invoice_documents(db.session, invoice.id)
    book = load_workbook(io.BytesIO(render_document("invoice", "xlsx", data)))
    sheet = book.active
    assert sheet.title == "請求書" and sheet["A1"].value == "請求書"
    values = {row[0].value: row for row in sheet.iter_rows() if row and row[0].value}
    pairs = {}
    for row in sheet.iter_rows(values_only=True):
        for i in range(0, len(row) - 1):
            if isinstance(row[i], str) and row[i + 1] is not None:
                pairs.setdefault(row[i], row[i + 1])
    assert pairs["宛先"] == f"{LONG_NAME} 御中"
    assert pairs["請求書番号"] == invoice.number and pairs["登録番号"] == REGISTRATION
    assert pairs["ご請求金額（税込）"] == invoice.total
    assert pairs["請求日"].date() == invoice.invoice_date and pairs["振替日"].date() == invoice.debit_date
    header_row = next(r for r in sheet.iter_rows() if r[0].value == "No.")[0].row
    assert sheet.freeze_panes == f"A{header_row + 1}"
    table = [r for r in sheet.iter_rows(min_row=header_row + 1, values_only=True) if isinstance(r[0], int)]
    assert [(r[0], r[5]) for r in sorted(table)] == [(l.position, l.amount) for l in lines]
    money = next(sheet.iter_rows(min_row=header_row + 1, max_row=header_row + 1))[5]
    assert money.number_format == "#,##0"
    totals = {r[3]: r[5] for r in sheet.iter_rows(values_only=True) if r[3] and isinstance(r[5], int)}
    assert totals["10%対象（税込）"] == subtotals["10%"].total_including_tax
    assert totals["うち消費税（10%）"] == subtotals["10%"].tax
    assert totals["不課税"] == subtotals["不課税"].total_including_tax
    assert totals["合計（ご請求金額）"] == invoice.total
    assert sheet.page_setup.paperSize == 9 and sheet.page_setup.fitToWidth == 1
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert values  # the sheet has rows keyed by their first cell


def test_corrected_invoice_names_the_invoice_it_corrects_and_why(db, tmp_path):
    ids = build_closed_month(db, tmp_path)
    original = db.session.get(Invoice, ids["i1"])
    corrected = reissue_invoice(original.id, "組合員管理料の誤り", "課長")
    data = load_invoice_documents(db.session, corrected.id)
    assert document_title("invoice", data) == "請求書（訂正）"
    text = pdftotext(render_document("invoice", "pdf", data), tmp_path)
    assert "請求書（訂正）" in compact(text)
    assert f"請求書番号 {original.number} を訂正します" in text and "組合員管理料の誤り" in text
    assert corrected.number in text
    old = pdftotext(render_document("invoice", "pdf", load_invoice_documents(db.session, original.id)), tmp_path)
    assert f"訂正後の請求書番号 {corrected.number}" in old


def _render_in_a_fresh_process(payload: bytes) -> bytes:
    return render_document("invoice", "pdf", pickle.loads(payload))


def test_rendering_needs_no_database_or_flask_in_the_worker(db, tmp_path):
    """A spawned process has no app, no app context and no database: the pickled data is enough."""
    ids = build_closed_month(db, tmp_path)
    payload = pickle.dumps(load_invoice_documents(db.session, ids["i2"]))
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        pdf = pool.apply(_render_in_a_fresh_process, (payload,))
    assert "髙橋物流有限会社 御中" in pdftotext(pdf, tmp_path)


def _png(width=240, height=80) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).rectangle((4, 4, width - 5, height - 5), outline="navy", width=6)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_the_operators_logo_is_printed_and_its_change_is_audited_by_digest(db, tmp_path):
    import subprocess

    from app.models import AuditLog

    ids = build_closed_month(db, tmp_path, logo=_png())
    pdf = render_document("invoice", "pdf", load_invoice_documents(db.session, ids["i1"]))
    (tmp_path / "logo.pdf").write_bytes(pdf)
    listing = subprocess.run(["pdfimages", "-list", str(tmp_path / "logo.pdf")], capture_output=True, text=True,
                             check=True).stdout.splitlines()[2:]
    assert len(listing) == 1 and listing[0].split()[3:5] == ["240", "80"]
    entry = db.session.scalars(select(AuditLog).order_by(AuditLog.id.desc())
                               .where(AuditLog.table_name == "operator_settings")).first()
    assert "SHA-256" in str(entry.after.get("logo_image"))

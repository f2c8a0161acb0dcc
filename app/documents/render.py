"""Render one member document of one invoice: `render_document(kind, fmt, data) -> bytes`.

Pure: `data` is the InvoiceDocuments that app.documents.data.load_invoice_documents read; nothing here
touches the database or needs a Flask application or request, so a multiprocessing worker can run it.
No clock is read: every date printed comes from the data.

kinds (docs/documents.md):
  invoice          請求書（適格請求書）
  card-statement   カード明細書
  usage-statement  走行明細書
  payment-notice   口座振替のお知らせ / 振込のご案内 (by the invoice's payment method)
formats: pdf, xlsx; and csv (cp932, for members' own systems) for card-statement and usage-statement.

Page x / y without <pdf:pagecount/>: that tag makes xhtml2pdf lay the whole document out twice
(stack-notes.md §3: 150 → 108 ms for one invoice page, 2.85 → 1.78 s for 9 pages). The footer
instead prints the total the renderer expects (one page for an ordinary invoice, rows per page for a
statement); the page count of the result is checked, and only a wrong guess renders a second time,
with the real count. The footer frame has a fixed height, so the number in it never moves the body:
the second pass has the count it was given.
"""
from __future__ import annotations

import io
import math

from pypdf import PdfReader

from . import excel, html
from .data import InvoiceDocuments
from .pdf import html_to_pdf
from .layout import card_totals, line_groups, usage_groups, usage_sums
from .statement_pages import Entry, paginate

KINDS = ("invoice", "card-statement", "usage-statement", "payment-notice")
FORMATS = ("pdf", "xlsx")
CSV_KINDS = ("card-statement", "usage-statement")
KIND_TITLES = {"invoice": "請求書", "card-statement": "カード明細書", "usage-statement": "走行明細書",
               "payment-notice": "口座振替のお知らせ"}
PAYMENT_NOTICE_TITLES = {"direct_debit": "口座振替のお知らせ", "bank_transfer": "振込のご案内"}


def payment_notice_title(payment_method: str) -> str:
    """口座振替のお知らせ (direct debit) or 振込のご案内 (bank transfer)."""
    return PAYMENT_NOTICE_TITLES.get(payment_method, PAYMENT_NOTICE_TITLES["bank_transfer"])


def document_title(kind: str, data: InvoiceDocuments) -> str:
    """The title printed on the document (and a good file-name word)."""
    if kind == "payment-notice":
        return payment_notice_title(data.invoice.payment_method)
    if kind == "invoice" and data.invoice.kind == "corrected":
        return "請求書（訂正）"
    return KIND_TITLES[kind]


def render_document(kind: str, fmt: str, data: InvoiceDocuments) -> bytes:
    if kind not in KINDS:
        raise ValueError(f"帳票の種類「{kind}」はありません（{', '.join(KINDS)}）。")
    if fmt == "pdf":
        context = _CONTEXTS[kind](data, document_title(kind, data))
        return paged_pdf(f"{kind}.html", context, _EXPECTED_PAGES[kind](data, context))
    if fmt == "xlsx":
        return excel.WRITERS[kind](data, document_title(kind, data))
    if fmt == "csv" and kind in CSV_KINDS:
        from . import csv_export

        return csv_export.WRITERS[kind](data)
    raise ValueError(f"形式「{fmt}」で「{KIND_TITLES[kind]}」は作れません（pdf, xlsx"
                     f"{', csv' if kind in CSV_KINDS else ''}）。")


def _invoice_context(data: InvoiceDocuments, title: str) -> dict:
    context = html.base_context(data, title)
    context.update(line_groups=line_groups(data), taxable=data.subtotal("10%"), non_taxable=data.subtotal("不課税"),
                   carried=data.subtotal("繰越"))
    return context


def paged_pdf(template: str, context: dict, expected_pages: int) -> bytes:
    """The PDF with "ページ x / y" right: rendered with the expected total, again only if it was wrong."""
    total = max(1, expected_pages)
    for _ in range(2):
        pdf = html_to_pdf(html.render_html(template, {**context, "page_total": total}))
        pages = page_count(pdf)
        if pages == total:
            return pdf
        total = pages
    raise RuntimeError(f"{template}: ページ数が定まりません（{total}）。")  # the footer moved the body: a template bug


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


# Table rows that fit a page, measured on invoice.html (A4, 9pt, one-line descriptions): a guess only,
# a wrong one costs a second pass. The totals and the note below the lines take about 6 rows.
INVOICE_LINES_FIRST_PAGE = 28
INVOICE_LINES_PER_PAGE = 46


def _invoice_pages(data: InvoiceDocuments, context: dict) -> int:
    rows = len(data.lines) + len(context["line_groups"]) + 6  # lines, group headings, totals and note
    if rows <= INVOICE_LINES_FIRST_PAGE:
        return 1
    return 1 + math.ceil((rows - INVOICE_LINES_FIRST_PAGE) / INVOICE_LINES_PER_PAGE)


def _card_statement_context(data: InvoiceDocuments, title: str) -> dict:
    context = html.base_context(data, title)
    context.update(cards=data.cards, card_totals=card_totals(data), member_lines=data.member_lines())
    return context


def _usage_statement_context(data: InvoiceDocuments, title: str) -> dict:
    context = html.base_context(data, title)
    totals = usage_sums(data.usages)
    entries = []
    for group in usage_groups(data):
        entries.append(Entry("group", group["card"]))
        entries.extend(Entry("row", group["card"], usage) for usage in group["usages"])
        entries.append(Entry("subtotal", group["card"], sums=group))
    if entries:
        entries.append(Entry("total", None, sums=totals))
    context.update(pages=paginate(entries), usages=data.usages, totals=totals, excluded=data.excluded)
    return context


def _payment_notice_context(data: InvoiceDocuments, title: str) -> dict:
    return html.base_context(data, title)


def _usage_pages(data: InvoiceDocuments, context: dict) -> int:
    return max(1, len(context["pages"]))  # laid out beforehand (statement_pages.py)


def _card_pages(data: InvoiceDocuments, context: dict) -> int:
    rows = len(data.cards) + len(data.member_lines()) + 2
    return 1 if rows <= 40 else 1 + math.ceil((rows - 40) / 52)


_CONTEXTS = {"invoice": _invoice_context, "card-statement": _card_statement_context,
             "usage-statement": _usage_statement_context, "payment-notice": _payment_notice_context}
_EXPECTED_PAGES = {"invoice": _invoice_pages, "card-statement": _card_pages, "usage-statement": _usage_pages,
                   "payment-notice": lambda data, context: 1}

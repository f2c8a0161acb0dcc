"""The member documents as .xlsx (issue 10 item 5): a title row, Japanese headers, yen as numbers with
the #,##0 format, column widths, the table header frozen and repeated on every printed page, A4
fitted to the page width. Every sheet is written in openpyxl's write-only mode (rows streamed: the
usage statement may have thousands), and every text cell goes through app.exports.excel.set_value
(text that looks like a formula stays text)."""
from __future__ import annotations

import datetime as dt
import io
from typing import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from app.domain.bank_account import mask_account_number
from app.domain.invoice_calculation import carried_label
from app.domain.wareki import WAREKI, format_month
from app.exports.excel import YEN_FORMAT, set_value
from app.models.member import PAYMENT_METHODS

from . import formatting
from .data import InvoiceDocuments
from .layout import card_totals, line_groups, usage_groups, usage_sums

PAPER_A4 = 9  # ECMA-376 ST_PaperSize
_TITLE_FONT = Font(bold=True, size=16)
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_SUBTOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
_THIN = Side(style="thin", color="808080")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="top")


def date_format(style: str) -> str:
    """Excel's own date format, so a date stays a date cell: 2026年11月29日 or 令和8年11月29日
    ([$-ja-JP-x-gannen] would print 元年; [$-411]ggge is what both Excel and LibreOffice read)."""
    return '[$-411]ggge"年"m"月"d"日"' if style == WAREKI else 'yyyy"年"m"月"d"日"'


class SheetWriter:
    """One write-only sheet: the preamble (title and key/value rows) first, then one table whose
    header row is frozen and printed on every page."""

    def __init__(self, workbook: Workbook, title: str, widths: Sequence[float], date_style: str):
        self.sheet = workbook.create_sheet(title=title[:31])
        self.columns = len(widths)
        self.date_style = date_style
        self.rows = 0
        for index, width in enumerate(widths, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = width
        setup = self.sheet.page_setup
        setup.paperSize, setup.orientation, setup.fitToWidth, setup.fitToHeight = PAPER_A4, "portrait", 1, 0
        self.sheet.sheet_properties.pageSetUpPr.fitToPage = True
        self.sheet.page_margins.left = self.sheet.page_margins.right = 0.4
        self.sheet.oddFooter.center.text = "&P / &N"

    def cell(self, value, money=False, font=None, fill=None, border=None, wrap=False):
        cell = set_value(WriteOnlyCell(self.sheet), value)
        if isinstance(value, dt.datetime):
            cell.number_format = "yyyy/mm/dd hh:mm"
        elif isinstance(value, dt.date):
            cell.number_format = date_format(self.date_style)
        elif money and isinstance(value, int) and not isinstance(value, bool):
            cell.number_format = YEN_FORMAT
        if font is not None:
            cell.font = font
        if fill is not None:
            cell.fill = fill
        if border is not None:
            cell.border = border
        if wrap:
            cell.alignment = _WRAP
        return cell

    def freeze_at(self, header_row: int) -> None:
        """Before the first row is written (write-only sheets write their view first)."""
        self.sheet.freeze_panes = f"A{header_row + 1}"
        self.sheet.print_title_rows = f"{header_row}:{header_row}"

    def append(self, cells: list) -> None:
        self.sheet.append(cells)
        self.rows += 1

    def title(self, text: str) -> None:
        self.append([self.cell(text, font=_TITLE_FONT)])

    def pairs(self, pairs: Iterable[tuple[str, object]], money_keys=()) -> None:
        """Key/value rows, two pairs a row (columns A–B and the two after the middle)."""
        pairs = list(pairs)
        half = max(2, self.columns // 2)
        for i in range(0, len(pairs), 2):
            row = []
            for j, (key, value) in enumerate(pairs[i:i + 2]):
                if j:
                    row += [None] * (half - 2)
                row += [self.cell(key, font=_BOLD), self.cell(value, money=key in money_keys)]
            self.append(row)

    def blank(self) -> None:
        self.append([])

    def header(self, headers: Sequence[str]) -> None:
        self.append([self.cell(h, font=_BOLD, fill=_HEADER_FILL, border=_BOX) for h in headers])

    def row(self, values: Sequence, money: Sequence[int] = (), fill=None, font=None, wrap: Sequence[int] = ()) -> None:
        self.append([self.cell(v, money=i in money, fill=fill, font=font, border=_BOX, wrap=i in wrap)
                     for i, v in enumerate(values)])


def _bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _month(data: InvoiceDocuments) -> str:
    month = data.invoice.month
    return format_month(int(month[:4]), int(month[5:7]), data.operator.date_style)


def _recipient(data: InvoiceDocuments) -> list[tuple[str, object]]:
    return [("宛先", f"{data.member.name} 御中"), (f"{data.operator.member_term}コード", data.member.code),
            ("利用月", f"{_month(data)}分"), ("請求書番号", data.invoice.number or "（未採番）")]


def _issuer(data: InvoiceDocuments) -> list[tuple[str, object]]:
    return [("発行者", data.operator.name), ("登録番号", data.operator.registration_number or "（未設定）")]


# ── 請求書 ───────────────────────────────────────────────────────────────────────────────────

INVOICE_HEADERS = ("No.", "カード", "内容", "区分", "税率", "金額（円）")


def invoice_xlsx(data: InvoiceDocuments, title: str) -> bytes:
    invoice = data.invoice
    workbook = Workbook(write_only=True)
    sheet = SheetWriter(workbook, title, (6, 24, 46, 14, 8, 14), data.operator.date_style)
    first, last = invoice.period
    pairs = [*_recipient(data), ("住所", " ".join(p for p in (data.member.postal_code and f"〒{data.member.postal_code}",
                                                          data.member.address) if p)),
             ("請求日", invoice.invoice_date), ("対象期間（自）", first), ("対象期間（至）", last), *_issuer(data),
             ("お支払方法", PAYMENT_METHODS.get(invoice.payment_method, invoice.payment_method)),
             ("振替日" if invoice.payment_method == "direct_debit" else "お支払期日",
              invoice.debit_date if not invoice.is_credit else "貸方のためお支払はありません"),
             ("貸方残高（次回繰越）" if invoice.is_credit else "ご請求金額（税込）", invoice.total)]
    if invoice.corrects_number:
        pairs += [("訂正する請求書", invoice.corrects_number), ("訂正の理由", invoice.correction_reason)]
    preamble = 2 + (len(pairs) + 1) // 2 + 1
    sheet.freeze_at(preamble + 1)
    sheet.title(title)
    sheet.blank()
    sheet.pairs(pairs, money_keys=("ご請求金額（税込）", "貸方残高（次回繰越）"))
    sheet.blank()
    sheet.header(INVOICE_HEADERS)
    for group in line_groups(data):
        for line in group["lines"]:
            card = group["card"].masked_number if group["card"] else ""
            sheet.row((line.position, card, line.description, line.kind_name,
                       formatting.tax_label(line.tax_category), line.amount), money=(5,), wrap=(2,))
    sheet.blank()
    taxable, non_taxable, carried = data.subtotal("10%"), data.subtotal("不課税"), data.subtotal("繰越")
    totals = [("10%対象（税込）", taxable.total_including_tax if taxable else 0),
              ("うち消費税（10%）", taxable.tax if taxable else 0),
              ("不課税", non_taxable.total_including_tax if non_taxable else 0)]
    if carried:
        totals.append((carried_label(carried.total_including_tax), carried.total_including_tax))
    totals.append(("貸方残高（次回繰越）" if invoice.is_credit else "合計（ご請求金額）", invoice.total))
    for label, value in totals:
        sheet.append([None, None, None, sheet.cell(label, font=_BOLD, border=_BOX), None,
                      sheet.cell(value, money=True, border=_BOX)])
    return _bytes(workbook)


# ── カード明細書 ─────────────────────────────────────────────────────────────────────────────

CARD_HEADERS = ("No.", "カード番号", "車両番号", "車種", "件数", "通行料金", "割引", "手数料", "差引金額")


def card_statement_xlsx(data: InvoiceDocuments, title: str) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = SheetWriter(workbook, title, (6, 20, 20, 12, 9, 14, 13, 12, 15), data.operator.date_style)
    pairs = [*_recipient(data), ("請求日", data.invoice.invoice_date), *_issuer(data)]
    sheet.freeze_at(2 + (len(pairs) + 1) // 2 + 1 + 1)
    sheet.title(title)
    sheet.blank()
    sheet.pairs(pairs)
    sheet.blank()
    sheet.header(CARD_HEADERS)
    money = (4, 5, 6, 7, 8)
    for number, card in enumerate(data.cards, start=1):
        sheet.row((number, card.masked_number, card.plate, formatting.vehicle_class_name(card.vehicle_class),
                   card.trips, card.usage, card.discount, card.fees, card.net), money=money)
    totals = card_totals(data)
    sheet.row((None, f"カード計（{len(data.cards)}枚）", None, None, totals["trips"], totals["usage"],
               totals["discount"], totals["fees"], totals["net"]), money=money, fill=_SUBTOTAL_FILL, font=_BOLD)
    for line in data.member_lines():
        sheet.row((None, f"{line.description}（{line.kind_name}）", None, None, None, None, None, None, line.amount),
                  money=(8,))
    sheet.row((None, "貸方残高（次回繰越）" if data.invoice.is_credit else "ご請求金額（請求書の合計）", None, None, None,
               None, None, None, data.invoice.total), money=(8,), fill=_SUBTOTAL_FILL, font=_BOLD)
    return _bytes(workbook)


# ── 走行明細書 ───────────────────────────────────────────────────────────────────────────────

USAGE_HEADERS = ("カード番号", "車両番号", "利用日", "入口時刻", "出口時刻", "入口IC", "出口IC", "道路事業者", "車種",
                 "割引前料金", "割引額", "通行料金", "割引の種類")


def usage_statement_xlsx(data: InvoiceDocuments, title: str) -> bytes:
    """One row per passage (streamed: thousands are fine), a subtotal row per card and the total.
    利用日 is a date cell; the times are text (HH:MM) so that they read the same everywhere."""
    workbook = Workbook(write_only=True)
    sheet = SheetWriter(workbook, title, (19, 18, 16, 9, 9, 18, 18, 16, 11, 12, 10, 12, 18), data.operator.date_style)
    pairs = _recipient(data) + _issuer(data)
    sheet.freeze_at(2 + (len(pairs) + 1) // 2 + 1 + 1)
    sheet.title(title)
    sheet.blank()
    sheet.pairs(pairs)
    sheet.blank()
    sheet.header(USAGE_HEADERS)
    money = (9, 10, 11)
    for group in usage_groups(data):
        card = group["card"]
        for u in group["usages"]:
            sheet.row((card.masked_number, card.plate, u.exit_at.date(),
                       u.entry_at.strftime("%H:%M") if u.entry_at else "", u.exit_at.strftime("%H:%M"),
                       u.entry_ic, u.exit_ic, u.road_operator,
                       formatting.vehicle_class_name(u.vehicle_class or card.vehicle_class),
                       u.amount_before_discount, u.discount, u.amount_billed, u.discount_kinds), money=money)
        sheet.row((card.masked_number, f"小計（{group['rows']:,}件）", None, None, None, None, None, None, None,
                   group["before"], group["discount"], group["billed"], None), money=money, fill=_SUBTOTAL_FILL,
                  font=_BOLD)
    totals = usage_sums(data.usages)
    sheet.row(("合計", f"{totals['rows']:,}件", None, None, None, None, None, None, None, totals["before"],
               totals["discount"], totals["billed"], None), money=money, fill=_SUBTOTAL_FILL, font=_BOLD)
    if data.excluded:
        sheet.blank()
        sheet.append([sheet.cell("確認中のため今回は請求していない走行（この明細に含みません）: " + "、".join(
            f"{name} {count}件" for name, count in data.excluded))])
    return _bytes(workbook)


# ── 口座振替のお知らせ / 振込のご案内 ───────────────────────────────────────────────────────

def payment_notice_xlsx(data: InvoiceDocuments, title: str) -> bytes:
    invoice = data.invoice
    workbook = Workbook(write_only=True)
    sheet = SheetWriter(workbook, title, (24, 40), data.operator.date_style)
    rows: list[tuple[str, object]] = [("宛先", f"{data.member.name} 御中"),
                                      (f"{data.operator.member_term}コード", data.member.code),
                                      ("ご利用月", f"{_month(data)}分"), ("請求書番号", invoice.number)]
    if invoice.is_credit:
        rows += [("貸方残高（次回繰越）", invoice.total), ("お支払", "今回のお支払はありません（次回のご請求から差し引きます）")]
    elif invoice.payment_method == "direct_debit":
        bank = data.member.bank
        rows += [("振替金額", invoice.total), ("振替日", invoice.debit_date)]
        rows += _bank_rows(bank, masked=True) if bank else [("振替口座", "（口座が登録されていません）")]
    else:
        bank = data.operator.bank
        rows += [("お振込金額", invoice.total), ("お支払期日", invoice.debit_date)]
        rows += _bank_rows(bank, masked=False) if bank else [("お振込先", f"（{data.operator.name}へお問い合わせください）")]
    rows += [("発行者", data.operator.name), ("登録番号", data.operator.registration_number or "（未設定）")]
    sheet.freeze_at(3)
    sheet.title(title)
    sheet.blank()
    sheet.header(("項目", "内容"))
    for key, value in rows:
        sheet.row((key, value), money=(1,))
    return _bytes(workbook)


def _bank_rows(bank, masked: bool) -> list[tuple[str, object]]:
    number = mask_account_number(bank.account_number) if masked else bank.account_number
    return [("金融機関", f"{bank.bank_name}（{bank.bank_code}）" if bank.bank_name else bank.bank_code),
            ("支店", f"{bank.branch_name}（{bank.branch_code}）" if bank.branch_name else bank.branch_code),
            ("預金種目", bank.account_type), ("口座番号", number), ("口座名義", bank.holder_kana)]


WRITERS = {"invoice": invoice_xlsx, "card-statement": card_statement_xlsx, "usage-statement": usage_statement_xlsx,
           "payment-notice": payment_notice_xlsx}

"""請求一覧: one row per invoice of the month (the ones that count: corrections replace what they
cancel) and a totals row; on screen and as Excel (`flask etc export invoice-list YYYY-MM -o FILE`)."""
from pathlib import Path

from sqlalchemy import select

from app.exports.excel import workbook_bytes
from app.domain.month import Month
from app.extensions import db
from app.labels import member_term
from app.models import Member
from app.models.billing import CANCELLED, Invoice
from .files import write_atomically


MONEY_COLUMNS = (3, 4, 5, 6, 7, 8)


def invoice_list_headers() -> list[str]:
    term = member_term()
    return [f"{term}コード", f"{term}名", "請求書番号", "利用額", "割引額", "手数料", "訂正額", "消費税", "請求金額"]


def invoice_list_rows(month: str) -> list[list]:
    """Rows in member-code order, then the totals row (its code cell reads 合計). 割引額 is positive
    (what the member saves); 利用額 − 割引額 + 手数料 + 訂正額 = 請求金額; 消費税 is the part of it that is
    tax (内税, once per rate per invoice)."""
    month = str(Month.of(month))
    rows, totals = [], [0] * 6
    query = (select(Member.code, Member.name, Invoice.number, Invoice.usage_total, Invoice.discount_total,
                    Invoice.fee_total, Invoice.adjustment_total, Invoice.tax_amount, Invoice.total)
             .join(Member, Member.id == Invoice.member_id)
             .where(Invoice.month == month, Invoice.status != CANCELLED).order_by(Member.code, Invoice.id))
    for code, name, number, *amounts in db.session.execute(query):
        amounts = [int(a) for a in amounts]
        rows.append([code, name, number or "（締め前）", *amounts])
        totals = [t + a for t, a in zip(totals, amounts)]
    rows.append(["合計", f"{len(rows)}件", "", *totals])
    return rows


def export_invoice_list(month: str, path: str | Path) -> int:
    """Write the list as .xlsx (yen with thousands separators). Returns the number of invoices."""
    month = str(Month.of(month))
    rows = invoice_list_rows(month)
    data = workbook_bytes([(f"請求一覧 {month}", invoice_list_headers(), rows, MONEY_COLUMNS)])
    write_atomically(path, data)
    return len(rows) - 1

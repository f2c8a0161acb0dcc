"""Lists for checking money in (issue 11 item 3), on screen and as Excel:

- 自動振替一覧表 per collection profile: every 口座振替 invoice of the closed month that the profile debits —
  member, bank, branch, account (masked: last 3 digits), amount, 振替日 — with the ones not debited (0円,
  貸方) marked, and a totals row of what is debited (the same selection as the debit file:
  app/services/debit_files.py).
- 振込一覧表: the invoices of members who pay by 振込: amount and 支払期日.

`flask etc export debit-list YYYY-MM -o FILE.xlsx` (one sheet per profile) and
`flask etc export transfer-list YYYY-MM -o FILE.xlsx`."""
from pathlib import Path

from sqlalchemy import select

from app.domain.bank_account import bank_branch_names, mask_account_number
from app.exports.excel import workbook_bytes
from app.extensions import db
from app.labels import member_term
from app.models import Member
from app.models.billing import ISSUED, Invoice
from app.models.member import BANK_TRANSFER
from app.models.payment import CollectionProfile

from .collection_profiles import all_profiles, find_profile
from .debit_files import debit_invoices, require_closed
from .files import write_atomically

DEBIT_MONEY = (9,)
TRANSFER_MONEY = (3,)


def debit_list_headers() -> list[str]:
    term = member_term()
    return [f"{term}コード", f"{term}名", "請求書番号", "銀行", "支店", "預金種目", "口座番号", "口座名義カナ",
            "振替日", "振替金額", "備考"]


def _note(total: int) -> str:
    if total == 0:
        return "対象外（0円）"
    if total < 0:
        return "対象外（貸方: 次の請求書へ繰越）"
    return ""


def debit_list_rows(month: str, profile: CollectionProfile) -> list[list]:
    """Rows in member-code order, then the totals row (振替する件数と金額)."""
    rows, count, total = [], 0, 0
    for invoice, member in debit_invoices(month, profile):
        amount = int(invoice.total)
        bank, branch = bank_branch_names(member.bank_code, member.branch_code)
        rows.append([member.code, member.name, invoice.number, member.bank_name or bank, member.branch_name or branch,
                     member.account_type_name(), mask_account_number(member.account_number),
                     member.account_holder_kana or "", invoice.debit_date, amount, _note(amount)])
        if amount > 0:
            count, total = count + 1, total + amount
    rows.append(["合計", f"振替 {count}件", "", "", "", "", "", "", None, total, ""])
    return rows


def debit_list_sections(month, profile_code: str | None = None) -> list[tuple[CollectionProfile, list[list]]]:
    month = require_closed(month)
    profiles = [find_profile(profile_code)] if profile_code else all_profiles()
    return [(profile, debit_list_rows(month, profile)) for profile in profiles]


def export_debit_list(month, path: str | Path, profile_code: str | None = None) -> int:
    """One sheet per profile. Returns the number of invoices listed."""
    month = require_closed(month)
    sections = debit_list_sections(month, profile_code)
    sheets = [(f"自動振替一覧表 {profile.code}", debit_list_headers(), rows, DEBIT_MONEY) for profile, rows in sections]
    if not sheets:
        sheets = [("自動振替一覧表", debit_list_headers(), [], DEBIT_MONEY)]
    write_atomically(path, workbook_bytes(sheets))
    return sum(len(rows) - 1 for _, rows in sections)


def transfer_list_headers() -> list[str]:
    term = member_term()
    return [f"{term}コード", f"{term}名", "請求書番号", "請求金額", "支払期日", "備考"]


def transfer_list_rows(month) -> list[list]:
    month = require_closed(month)
    rows, count, total = [], 0, 0
    query = (select(Invoice, Member).join(Member, Member.id == Invoice.member_id)
             .where(Invoice.month == month, Invoice.status == ISSUED, Invoice.payment_method == BANK_TRANSFER)
             .order_by(Member.code, Invoice.id))
    for invoice, member in db.session.execute(query):
        amount = int(invoice.total)
        rows.append([member.code, member.name, invoice.number, amount, invoice.debit_date, _note(amount)])
        if amount > 0:
            count, total = count + 1, total + amount
    rows.append(["合計", f"振込 {count}件", "", total, None, ""])
    return rows


def export_transfer_list(month, path: str | Path) -> int:
    rows = transfer_list_rows(month)
    write_atomically(path, workbook_bytes([(f"振込一覧表 {month}", transfer_list_headers(), rows, TRANSFER_MONEY)]))
    return len(rows) - 1

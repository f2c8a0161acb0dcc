"""道路事業者の割引額（報告）: what the road operators say they discounted per card (or, with no card
number, for the contract: 契約単位割引), to check against Tollbook's computation (billing.operator_check).

CSV, UTF-8 (BOM allowed) or cp932, one header line:

    利用月,道路事業者,カード番号,割引額
    2026-10,NEXCO,4980001234567890,7500
    2026-10,NEXCO,,512000

All rows or none. A file replaces the earlier report of the same months and road operators. Reports
may arrive after the month is closed (NEXCO bills at the end of the following month): they change
no invoice, only the check and the margin."""
import csv
import io
from pathlib import Path

from sqlalchemy import delete, tuple_

from app.domain.errors import DomainError
from app.domain.text import digits_only
from app.domain.month import Month
from app.extensions import db
from app.models.billing import OperatorDiscountReport
from app.models.mixins import now_jst


HEADERS = ("利用月", "道路事業者", "カード番号", "割引額")


class OperatorDiscountImportRefused(DomainError):
    def __init__(self, file_name: str, errors: list[str]):
        self.errors = errors
        super().__init__(f"{file_name}: {len(errors)}件のエラーがあるため取り込みませんでした。")


def _text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError("文字コードが UTF-8 でも Shift_JIS（cp932）でもありません。")


def import_operator_discounts(path: str | Path) -> str:
    path = Path(path)
    name = path.name
    try:
        reader = csv.reader(io.StringIO(_text(path.read_bytes())))
        header = [cell.strip() for cell in next(reader, [])]
    except DomainError as error:
        raise OperatorDiscountImportRefused(name, [error.message]) from None
    missing = [h for h in HEADERS if h not in header]
    if missing:
        raise OperatorDiscountImportRefused(name, [f"1行目: 見出し「{'、'.join(missing)}」がありません"
                                                   f"（必要な見出し: {','.join(HEADERS)}）。"])
    index = {h: header.index(h) for h in HEADERS}
    errors, rows, seen = [], [], {}
    for line_no, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        cells = cells + [""] * (len(header) - len(cells))
        month_text, road, card, amount_text = (cells[index[h]].strip() for h in HEADERS)
        try:
            month = str(Month.parse(month_text, "利用月"))
        except DomainError:
            errors.append(f"{line_no}行目 利用月: 「{month_text}」は YYYY-MM の形で書いてください。")
            continue
        if not road:
            errors.append(f"{line_no}行目 道路事業者: 空です。")
            continue
        number = digits_only(card)
        if card and (len(number) not in (15, 16) or not number.isdigit()):
            errors.append(f"{line_no}行目 カード番号: 「{card}」は16桁（旧形式は15桁）の数字です。")
            continue
        try:
            amount = int(amount_text.replace(",", "").replace("円", ""))
        except ValueError:
            errors.append(f"{line_no}行目 割引額: 「{amount_text}」は整数（円）で書いてください。")
            continue
        key = (month, road, number)
        if key in seen:
            errors.append(f"{line_no}行目: {seen[key]}行目と同じ利用月・道路事業者・カード番号です。")
            continue
        seen[key] = line_no
        rows.append(dict(month=month, road_operator=road[:40], card_number=number, amount=amount, source=name[:255],
                         imported_at=now_jst()))
    if errors:
        raise OperatorDiscountImportRefused(name, errors)
    if not rows:
        raise OperatorDiscountImportRefused(name, ["明細行がありません。"])
    session = db.session
    try:
        pairs = sorted({(r["month"], r["road_operator"]) for r in rows})
        table = OperatorDiscountReport.__table__
        session.execute(delete(table).where(tuple_(table.c.month, table.c.road_operator).in_(pairs)))
        session.execute(table.insert(), rows)
        session.commit()
    except Exception:
        session.rollback()
        raise
    total = sum(r["amount"] for r in rows)
    months = "、".join(sorted({r["month"] for r in rows}))
    return f"{name}: 道路事業者の割引額 {len(rows):,}件（{months}, 合計 {total:,}円）を取り込みました。"

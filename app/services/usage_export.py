"""A month of usage records as Excel (write-only workbook: streamed, flat memory)."""
from sqlalchemy import select

from app.domain.errors import DomainError
from app.domain.month import Month
from app.exports.excel import workbook_bytes
from app.extensions import db
from app.models import Member
from app.models.usage import BATCH_ACTIVE, FLAG_NAMES, ImportBatch, UsageRecord

EXCEL_MAX_ROWS = 1_048_575  # one header row
HEADERS = ("利用月", "組合員コード", "組合員名", "カード番号", "入口日時", "出口日時", "入口IC", "出口IC", "道路事業者",
           "車種", "割引前料金", "割引額", "通行料金", "車両番号", "備考", "要確認", "取込", "行")
MONEY = (10, 11, 12)


def usage_query(month: str):
    return (select(UsageRecord.usage_month, Member.code, Member.name, UsageRecord.card_number, UsageRecord.entry_at,
                   UsageRecord.exit_at, UsageRecord.entry_ic, UsageRecord.exit_ic, UsageRecord.road_operator,
                   UsageRecord.vehicle_class, UsageRecord.amount_before_discount, UsageRecord.discount,
                   UsageRecord.amount_billed, UsageRecord.plate, UsageRecord.remarks, UsageRecord.flags,
                   UsageRecord.batch_id, UsageRecord.line_no)
            .join(ImportBatch, ImportBatch.id == UsageRecord.batch_id)
            .outerjoin(Member, Member.id == UsageRecord.member_id)
            .where(UsageRecord.usage_month == month, ImportBatch.status == BATCH_ACTIVE)
            .order_by(UsageRecord.batch_id, UsageRecord.line_no))


def flag_text(flags: int) -> str:
    return "・".join(name for bit, name in FLAG_NAMES.items() if (flags or 0) & bit)


def export_usage(month, output: str) -> int:
    month = str(Month.of(month))
    count = 0

    def rows():
        nonlocal count
        for row in db.session.execute(usage_query(month).execution_options(yield_per=5000)):
            count += 1
            if count > EXCEL_MAX_ROWS:
                raise DomainError(f"{month} の明細が Excel の行数上限を超えます。組合員ごとに書き出してください。")
            values = list(row)
            values[15] = flag_text(values[15])
            yield values

    body = workbook_bytes([(f"走行明細 {month}", HEADERS, rows(), MONEY)])
    with open(output, "wb") as handle:
        handle.write(body)
    return count




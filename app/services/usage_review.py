"""Staff decisions on flagged usage rows: 重複の疑い (a genuine separate trip) and 期ずれ (accepted
into the batch's month). Either clears its flag and sets FLAG_CONFIRMED, so the row is billed and no
later check flags it again. Only rows of open months in live batches change (a closed month never
changes); each change is in the audit log (usage rows are bulk-loaded, so it is written here)."""
from sqlalchemy import select, update

from app.domain.errors import DomainError
from app.extensions import db
from app.models import AuditLog
from app.models.mixins import now_jst
from app.models.usage import (BATCH_ACTIVE, FLAG_CONFIRMED, FLAG_NAMES, FLAG_OFF_MONTH, FLAG_SUSPECTED_DUPLICATE,
                              ImportBatch, UsageRecord)

from .actor import current_actor
from .unit_of_work import transactional
from .usage_rematch import open_months

CONFIRMABLE = (FLAG_SUSPECTED_DUPLICATE, FLAG_OFF_MONTH)


@transactional
def confirm_rows(row_ids: list[int], flag: int) -> int:
    """Confirm the rows `row_ids` that carry `flag`; returns how many changed. One unit of work."""
    if flag not in CONFIRMABLE:
        raise DomainError("確認できるのは 重複の疑い と 期ずれ の明細です。")
    months = open_months()
    ids = sorted({int(i) for i in row_ids})
    if not ids or not months:
        raise DomainError(f"確認済みにできる{FLAG_NAMES[flag]}の明細がありません（締め済みの月の明細は変更できません）。")
    where = (UsageRecord.id.in_(ids), UsageRecord.usage_month.in_(months),
             UsageRecord.flags.op("&")(flag) != 0,
             UsageRecord.batch_id.in_(select(ImportBatch.id).where(ImportBatch.status == BATCH_ACTIVE)))
    found = db.session.execute(select(UsageRecord.id, UsageRecord.flags, UsageRecord.batch_id, UsageRecord.line_no,
                                      UsageRecord.card_number).where(*where).with_for_update()).all()
    if not found:
        raise DomainError(f"確認済みにできる{FLAG_NAMES[flag]}の明細がありません（締め済みの月の明細は変更できません）。")
    db.session.execute(update(UsageRecord).where(*where)
                       .values(flags=UsageRecord.flags.op("&")(~flag).op("|")(FLAG_CONFIRMED))
                       .execution_options(synchronize_session=False))
    username, user_id = current_actor()
    db.session.execute(AuditLog.__table__.insert(), [dict(
        occurred_at=now_jst(), username=username, user_id=user_id, action="update", table_name="usage_record",
        record_id=str(row.id), record_label=f"取込#{row.batch_id} {row.line_no}行 {row.card_number}"[:200],
        before={"flags": row.flags}, after={"flags": (row.flags & ~flag) | FLAG_CONFIRMED}) for row in found])
    return len(found)

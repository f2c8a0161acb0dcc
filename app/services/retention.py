"""保存期間を過ぎた走行明細の削除 (issue 13 item 5): usage rows of months before the retention cutoff
(app/domain/backup_rotation.retention_cutoff: the current fiscal year and N before it), only from CLOSED
months — an open month's rows are still to be billed — and only after a successful backup (the ledger's
last done `backup` run, recent enough), so what goes is in a copy. Invoices, issued documents and import
batches stay: the invoice is the legal record; the rows behind it are what the retention ends.

The months are locked first (app/services/month_lock.py) and checked closed after the lock."""
import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import delete, select

from app.domain.clock import now_jst
from app.domain.errors import DomainError
from app.extensions import db
from app.models import AuditLog, UsageRecord
from app.models.billing import CLOSED, BillingRun

from .audit import audit_row
from .job_runs import last_success
from .month_lock import lock_months
from .unit_of_work import transactional


@dataclass
class PurgeSummary:
    cutoff: str
    purged: dict[str, int] = field(default_factory=dict)  # month → rows removed
    kept_open: list[str] = field(default_factory=list)

    def __str__(self):
        rows = sum(self.purged.values())
        text = (f"{self.cutoff} より前の走行明細 {rows:,}件（{len(self.purged)}か月分）を削除しました。"
                if self.purged else f"{self.cutoff} より前で削除できる走行明細はありません。")
        if self.kept_open:
            text += f" 締めていない月 {', '.join(self.kept_open)} の明細は残しました。"
        return text


def require_recent_backup(max_age: dt.timedelta) -> dt.datetime:
    run = last_success("backup")
    if run is None or run.ended_at is None or run.ended_at < now_jst() - max_age:
        when = f"最後の成功は {run.ended_at:%Y/%m/%d %H:%M}" if run is not None and run.ended_at else "成功したバックアップがありません"
        raise DomainError(f"直近のバックアップがないため、走行明細を削除しません（{when}）。"
                          "先にバックアップを実行してください。何も削除していません。")
    return run.ended_at


@transactional
def purge_usage(cutoff: str, backup_max_age: dt.timedelta = dt.timedelta(hours=36)) -> PurgeSummary:
    require_recent_backup(backup_max_age)
    summary = PurgeSummary(cutoff)
    months = sorted(db.session.scalars(select(UsageRecord.usage_month).distinct()
                                       .where(UsageRecord.usage_month < cutoff)))
    if not months:
        return summary
    lock_months(months)
    closed = set(db.session.scalars(select(BillingRun.month).where(BillingRun.month.in_(months),
                                                                    BillingRun.status == CLOSED)))
    for month in months:
        if month not in closed:
            summary.kept_open.append(month)
            continue
        deleted = db.session.execute(delete(UsageRecord).where(UsageRecord.usage_month == month))
        summary.purged[month] = deleted.rowcount
    if summary.purged:
        db.session.connection().execute(AuditLog.__table__.insert(), [audit_row(
            "purge", "usage_record", cutoff, f"{cutoff} より前の走行明細",
            {"months": ", ".join(summary.purged), "rows": sum(summary.purged.values())})])
    return summary

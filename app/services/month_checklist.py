"""The month's checklist on the staff home page (issue 9 item 9): what is imported, what still needs a
look before billing, and where the draft and the close stand — so nobody has to remember where to look.

Read-only and cheap: one GROUP BY over the month's live usage rows (flags and missing road operators
counted together), one over its import batches, and the billing run's row with its input stamp.
"""
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from app.domain.month import Month
from app.extensions import db
from app.models import BillingRun
from app.models.billing import CLOSED, DRAFT
from app.models.usage import (BATCH_ACTIVE, FLAG_OFF_MONTH, FLAG_SUSPECTED_DUPLICATE, FLAG_UNREGISTERED_CARD,
                              FLAG_USED_AFTER_LOSS, ImportBatch, ImportProfile, UsageRecord)

from .billing.inputs import active_batch_ids
from .billing.review import draft_inputs_changed
from .job_runs import failed_runs
from .usage_rematch import flag_counts

# Draft states as the checklist names them.
NO_DRAFT, DRAFT_CURRENT, DRAFT_CHANGED, MONTH_CLOSED = "none", "current", "changed", "closed"
DRAFT_STATES = {NO_DRAFT: "未作成", DRAFT_CURRENT: "最新", DRAFT_CHANGED: "入力が変わりました（再計算が必要です）",
                MONTH_CLOSED: "締め済"}


@dataclass(frozen=True)
class ImportedProfile:
    label: str  # the import profile as people know it (ETC利用照会 …)
    files: int
    rows: int
    billed: int


@dataclass(frozen=True)
class FailedJob:
    run_id: int
    what: str  # 請求の下書き 2026-10
    started_at: dt.datetime
    error: str


@dataclass(frozen=True)
class MonthChecklist:
    month: str
    imports: tuple[ImportedProfile, ...]
    unregistered: int  # 未登録カード rows
    unknown_operators: int  # 道路事業者不明 rows
    duplicates: int  # 重複の疑い rows
    after_loss: int  # 紛失後利用 rows
    off_month: int  # 期ずれ rows
    draft_state: str  # NO_DRAFT / DRAFT_CURRENT / DRAFT_CHANGED / MONTH_CLOSED
    closed_at: dt.datetime | None
    # 定期処理 that failed or stopped with their process and were not retried since (any month): they
    # need somebody (issue 13 item 3)
    failed_jobs: tuple[FailedJob, ...] = ()

    @property
    def draft_state_name(self) -> str:
        return DRAFT_STATES[self.draft_state]

    @property
    def open_items(self) -> int:
        """Rows that still need a look before the close."""
        return self.unregistered + self.unknown_operators + self.duplicates + self.off_month


def working_month(today: dt.date) -> str:
    """The month being worked on: the newest month with a draft or with imports that is not closed, else
    the month before today's (the one a cooperative bills at the start of a month)."""
    closed = set(db.session.scalars(select(BillingRun.month).where(BillingRun.status == CLOSED)))
    candidates = set(db.session.scalars(select(BillingRun.month).where(BillingRun.status == DRAFT)))
    candidates |= set(db.session.scalars(select(ImportBatch.usage_month).where(ImportBatch.status == BATCH_ACTIVE)
                                         .distinct()))
    open_ = sorted(candidates - closed)
    return open_[-1] if open_ else str(Month(today.year, today.month).previous())


def month_checklist(month: str) -> MonthChecklist:
    month = str(Month.of(month))
    session = db.session
    imports = tuple(ImportedProfile(label, int(files), int(rows or 0), int(billed or 0))
                    for label, files, rows, billed in session.execute(
        select(ImportProfile.label, func.count(), func.sum(ImportBatch.row_count), func.sum(ImportBatch.total_billed))
        .join(ImportProfile, ImportProfile.id == ImportBatch.profile_id)
        .where(ImportBatch.usage_month == month, ImportBatch.status == BATCH_ACTIVE)
        .group_by(ImportProfile.label).order_by(ImportProfile.label)))
    batch_ids = active_batch_ids(month)
    counts = flag_counts(month, batch_ids)
    u = UsageRecord.__table__.c
    unknown = session.scalar(select(func.count()).where(
        u.usage_month == month, u.batch_id.in_(batch_ids), func.coalesce(u.road_operator, "") == "")) if batch_ids else 0
    unregistered, duplicates = counts[FLAG_UNREGISTERED_CARD], counts[FLAG_SUSPECTED_DUPLICATE]
    after_loss, off_month = counts[FLAG_USED_AFTER_LOSS], counts[FLAG_OFF_MONTH]
    run = session.scalar(select(BillingRun).where(BillingRun.month == month))
    if run is None:
        state = NO_DRAFT
    elif run.status == CLOSED:
        state = MONTH_CLOSED
    elif draft_inputs_changed(run, month):
        state = DRAFT_CHANGED
    else:
        state = DRAFT_CURRENT
    failed = tuple(FailedJob(r.id, str(r), r.started_at, r.error or "サーバーの停止などで中断しました。")
                   for r in failed_runs(10))
    return MonthChecklist(month, imports, unregistered, unknown, duplicates, after_loss, off_month, state,
                          getattr(run, "closed_at", None) if state == MONTH_CLOSED else None, failed)

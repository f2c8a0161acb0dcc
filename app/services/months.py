"""Whether a billing month may still change. A closed month never changes (architecture.md)."""
from sqlalchemy import select

from app.domain.errors import DomainError
from app.extensions import db
from app.models.billing import CLOSED, BillingRun


def is_month_closed(month) -> bool:
    return db.session.scalar(select(BillingRun.id).where(BillingRun.month == str(month),
                                                         BillingRun.status == CLOSED)) is not None


def ensure_month_open(month) -> None:
    if is_month_closed(month):
        raise DomainError(f"{month} は締め済みのため変更できません。", "month")


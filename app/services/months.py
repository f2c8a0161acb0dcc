"""Whether a billing month may still change. A closed month never changes (architecture.md)."""
from sqlalchemy import select

from app.domain.errors import DomainError
from app.extensions import db
from app.models.billing import CLOSED, BillingRun


def is_month_closed(month: str) -> bool:
    return db.session.scalar(select(BillingRun.id).where(BillingRun.month == month,
                                                         BillingRun.status == CLOSED)) is not None


def ensure_month_open(month: str) -> None:
    if is_month_closed(month):
        raise DomainError(f"{month} は締め済みのため変更できません。", "month")


def parse_month(text: str) -> str:
    """'2026-10', '2026/10' or '202610' → '2026-10'; anything else is refused in Japanese."""
    import datetime as dt

    value = (text or "").strip().replace("/", "-")
    if len(value) == 6 and value.isdigit():
        value = f"{value[:4]}-{value[4:]}"
    try:
        return dt.datetime.strptime(value, "%Y-%m").strftime("%Y-%m")
    except ValueError:
        raise DomainError(f"請求月「{text}」は YYYY-MM の形で指定してください（例: 2026-10）。", "month") from None

from sqlalchemy import Column, DateTime, Integer, String

from flask_appbuilder import Model

from .mixins import now_jst

DRAFT, CLOSED = "draft", "closed"
RUN_STATUSES = {DRAFT: "下書き", CLOSED: "締め済"}


class BillingRun(Model):
    """請求処理: one billing month, draft → closed. A closed month never changes (imports included)."""

    __tablename__ = "billing_run"
    id = Column(Integer, primary_key=True)
    month = Column(String(7), nullable=False, unique=True)  # YYYY-MM
    status = Column(String(10), nullable=False, default=DRAFT)
    created_at = Column(DateTime, nullable=False, default=now_jst)
    closed_at = Column(DateTime)
    closed_by = Column(String(128))

    def __repr__(self):
        return f"{self.month} {RUN_STATUSES.get(self.status, self.status)}"

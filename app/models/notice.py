"""会員ページのお知らせメール (issue 12 item 3): one row per member and closed month for members with an
e-mail address, created by the close; sent in the background once the member's documents of the month are
rendered; retried; the row is the sent / failed log per member (docs/portal.md)."""
from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import relationship

from flask_appbuilder import Model

from .mixins import now_jst

NOTICE_PENDING, NOTICE_SENT, NOTICE_FAILED = "pending", "sent", "failed"
NOTICE_STATUSES = {NOTICE_PENDING: "送信待ち", NOTICE_SENT: "送信済み", NOTICE_FAILED: "送信失敗"}


class PortalNotice(Model):
    __tablename__ = "portal_notice"
    __table_args__ = (
        UniqueConstraint("member_id", "month", name="uq_portal_notice_member_month"),
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="ck_portal_notice_status"),
        Index("ix_portal_notice_status_next", "status", "next_attempt_at"),
    )
    id = Column(Integer, primary_key=True)
    member_id = Column(Integer, ForeignKey("member.id"), nullable=False, index=True)
    member = relationship("Member")
    month = Column(String(7), nullable=False)
    email = Column(String(200), nullable=False)  # the address as it was when the month closed
    status = Column(String(10), nullable=False, default=NOTICE_PENDING, server_default=NOTICE_PENDING)
    attempts = Column(Integer, nullable=False, default=0, server_default="0")
    error = Column(String(500))  # the last failure's reason, as the mail server said it
    created_at = Column(DateTime, nullable=False, default=now_jst)
    next_attempt_at = Column(DateTime)  # not before (retries wait); NULL: at once
    sent_at = Column(DateTime)

    def status_name(self) -> str:
        return NOTICE_STATUSES.get(self.status, self.status)

from sqlalchemy import Boolean, Column, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import relationship

from flask_appbuilder import Model

from app.domain.card_lifecycle import CARD_STATUSES, EVENT_KINDS
from app.domain.card_number import CARD_KINDS, format_card_number

from .mixins import TimestampMixin, now_jst


class Card(TimestampMixin, Model):
    """ETCカード (corporate or credit). Its status changes only through CardEvent rows."""

    __tablename__ = "card"
    id = Column(Integer, primary_key=True)
    number = Column(String(16), nullable=False, unique=True)
    kind = Column(String(20), nullable=False)  # corporate / credit
    issuer = Column(String(60), nullable=False)  # NEXCO or the card company
    member_id = Column(Integer, ForeignKey("member.id"), nullable=False, index=True)
    member = relationship("Member", backref="cards")
    vehicle_id = Column(Integer, ForeignKey("vehicle.id"), index=True)
    vehicle = relationship("Vehicle", backref="cards")
    valid_from = Column(Date)
    valid_until = Column(Date)
    status = Column(String(20), nullable=False, default="active")
    status_changed_on = Column(Date)  # loss, cancellation, reissue date
    replaces_card_id = Column(Integer, ForeignKey("card.id"), index=True)
    replaces_card = relationship("Card", remote_side=[id], backref="successors")
    note = Column(String(200))

    def __repr__(self):
        return format_card_number(self.number)

    def number_text(self) -> str:
        return format_card_number(self.number)

    def kind_name(self) -> str:
        return CARD_KINDS.get(self.kind, self.kind)

    def status_name(self) -> str:
        return CARD_STATUSES.get(self.status, self.status)


class CardEvent(Model):
    """カード異動: one change to a card, kept forever; its fee is billed once by the monthly run."""

    __tablename__ = "card_event"
    id = Column(Integer, primary_key=True)
    card_id = Column(Integer, ForeignKey("card.id"), nullable=False, index=True)
    card = relationship("Card", foreign_keys=[card_id], backref="events")
    # The member the card belonged to when the event happened (fees are billed to it).
    member_id = Column(Integer, ForeignKey("member.id"), nullable=False, index=True)
    member = relationship("Member", backref="card_events")
    kind = Column(String(20), nullable=False)
    occurred_on = Column(Date, nullable=False)  # 異動日 (for a loss: the date it was lost)
    new_card_id = Column(Integer, ForeignKey("card.id"))
    new_card = relationship("Card", foreign_keys=[new_card_id])
    old_vehicle_id = Column(Integer, ForeignKey("vehicle.id"))
    old_vehicle = relationship("Vehicle", foreign_keys=[old_vehicle_id])
    new_vehicle_id = Column(Integer, ForeignKey("vehicle.id"))
    new_vehicle = relationship("Vehicle", foreign_keys=[new_vehicle_id])
    new_card_number = Column(String(16))  # as entered, for reissue / renewal / vehicle change
    note = Column(String(200))
    entered_by = Column(String(128), nullable=False)
    entered_at = Column(DateTime, nullable=False, default=now_jst)
    fee_billed = Column(Boolean, nullable=False, default=False, index=True)  # 手数料請求済
    billed_month = Column(String(7))  # YYYY-MM of the billing run that charged the fee

    def __repr__(self):
        # How the event reads in 操作履歴 (対象データ) and in select boxes: 紛失・盗難 123456-7890-12345-6 2026/04/10
        parts = [self.kind_name(), repr(self.card) if self.card is not None else "",
                 f"{self.occurred_on:%Y/%m/%d}" if self.occurred_on else ""]
        return " ".join(p for p in parts if p)

    def kind_name(self) -> str:
        return EVENT_KINDS.get(self.kind, self.kind)

    def fee_status(self) -> str:
        return f"請求済（{self.billed_month}）" if self.fee_billed else "未請求"

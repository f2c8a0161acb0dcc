from sqlalchemy import (JSON, BigInteger, Boolean, Column, Date, ForeignKey, Integer, Numeric, String,
                        UniqueConstraint, false)
from sqlalchemy.orm import relationship

from flask_appbuilder import Model

from .mixins import BankAccountMixin, TimestampMixin


class Agency(TimestampMixin, BankAccountMixin, Model):
    """代理店: introduces members and earns a commission, paid by 総合振込 to this account."""

    __tablename__ = "agency"
    id = Column(Integer, primary_key=True)
    code = Column(String(20), nullable=False, unique=True)
    name = Column(String(100), nullable=False)
    kana = Column(String(100))
    postal_code = Column(String(8))
    address = Column(String(200))
    phone = Column(String(20))
    email = Column(String(200))
    # 個人の代理店: its commissions have 源泉徴収 withheld (app/domain/agency_commission.py).
    is_individual = Column(Boolean, nullable=False, default=False, server_default=false())

    def __repr__(self):
        return f"{self.code} {self.name}"


class AgencyCommissionRule(Model):
    """代理店手数料の規則: effective-dated, per agency (app/domain/agency_commission.py)."""

    __tablename__ = "agency_commission_rule"
    id = Column(Integer, primary_key=True)
    agency_id = Column(Integer, ForeignKey("agency.id"), nullable=False, index=True)
    agency = relationship("Agency")
    basis = Column(String(20), nullable=False)  # usage_rate / fee_rate / per_card
    rate = Column(Numeric(6, 4))  # 0.0150 = 1.5%
    amount = Column(Integer)  # yen per card and month
    valid_from = Column(Date, nullable=False)
    valid_to = Column(Date)
    note = Column(String(200))

    def __repr__(self):
        return f"代理店手数料 {self.agency.code if self.agency else ''} {self.basis} {self.valid_from}〜"


class AgencyMonthCommission(Model):
    """代理店手数料 of one agency and closed month, computed at the close and kept (issue 11 item 6): what the
    agency's members had then (利用額, 手数料, cards in force), the lines of the rules valid then and whether the
    agency was an individual (源泉徴収). Moving a member to another agency, editing a rule or the individual
    flag later changes neither the closed month's list nor its 総合振込 file."""

    __tablename__ = "agency_commission"
    __table_args__ = (UniqueConstraint("month", "agency_id", name="uq_agency_commission_month_agency"),)
    id = Column(Integer, primary_key=True)
    month = Column(String(7), nullable=False)  # YYYY-MM
    agency_id = Column(Integer, ForeignKey("agency.id"), nullable=False, index=True)
    agency = relationship("Agency")
    is_individual = Column(Boolean, nullable=False)
    usage_total = Column(BigInteger, nullable=False)
    fee_total = Column(BigInteger, nullable=False)
    cards = Column(Integer, nullable=False)
    # [{basis, base, rate (text, exact decimal), amount_per_card, commission}] (app/domain/agency_commission.py)
    lines = Column(JSON, nullable=False)

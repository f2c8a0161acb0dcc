from sqlalchemy import Boolean, Column, Date, DateTime, ForeignKey, Integer, String, true
from sqlalchemy.orm import relationship

from flask_appbuilder import Model

from .mixins import BankAccountMixin, TimestampMixin

DIRECT_DEBIT = "direct_debit"
BANK_TRANSFER = "bank_transfer"
PAYMENT_METHODS = {DIRECT_DEBIT: "口座振替", BANK_TRANSFER: "振込"}
ACTIVE = "active"
WITHDRAWN = "withdrawn"
MEMBER_STATUSES = {ACTIVE: "在籍", WITHDRAWN: "脱退"}


class Member(TimestampMixin, BankAccountMixin, Model):
    """組合員 (or 支店・営業所): the billing unit that receives one invoice a month."""

    __tablename__ = "member"
    id = Column(Integer, primary_key=True)
    code = Column(String(20), nullable=False, unique=True)
    name = Column(String(100), nullable=False)
    kana = Column(String(100), nullable=False)
    postal_code = Column(String(8))
    address = Column(String(200))
    phone = Column(String(20))
    email = Column(String(200))
    contact_person = Column(String(60))
    agency_id = Column(Integer, ForeignKey("agency.id"), index=True)
    agency = relationship("Agency", backref="members")
    payment_method = Column(String(20), nullable=False, default=DIRECT_DEBIT)
    # 収納代行・委託者 that debits this member (口座振替); empty: the operator's default profile.
    collection_profile_id = Column(Integer, ForeignKey("collection_profile.id"), index=True)
    collection_profile = relationship("CollectionProfile")
    status = Column(String(20), nullable=False, default=ACTIVE)
    withdrawn_on = Column(Date)
    member_group = Column(String(40))  # 組合員グループ: tariff rules can be scoped to it
    # 郵送希望: the month's merged invoice PDF for mailing (billing screen) holds these members' invoices;
    # the others download theirs (member portal, e-mail).
    invoice_by_post = Column(Boolean, nullable=False, default=True, server_default=true())

    def __repr__(self):
        return f"{self.code} {self.name}"

    def payment_method_name(self) -> str:
        return PAYMENT_METHODS.get(self.payment_method, "")

    def status_name(self) -> str:
        return MEMBER_STATUSES.get(self.status, "")


class MemberAccount(Model):
    """Links a portal login (FAB user with the 組合員 role) to the one member it may see."""

    __tablename__ = "member_account"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, unique=True)
    member_id = Column(Integer, ForeignKey("member.id"), nullable=False, index=True)
    member = relationship("Member")
    # Issued by staff (screen, bulk, `flask etc portal-login`): when and by whom the password was last set.
    issued_at = Column(DateTime)
    issued_by = Column(String(128))
    # Werkzeug hash of the generated initial password (NULL when the member chose its own with --password):
    # the member's password rules refuse it as the new password (app/security/passwords.py).
    initial_password_hash = Column(String(256))

    def __repr__(self):
        # How the link reads in 操作履歴 (対象データ), instead of "<MemberAccount object at 0x…>".
        member = self.__dict__.get("member")  # no lazy load: this runs inside the audit flush
        return f"ポータル利用者 {self.user_id} → {repr(member) if member is not None else self.member_id}"

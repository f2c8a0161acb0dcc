from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import relationship

from flask_appbuilder import Model

from .mixins import BankAccountMixin, TimestampMixin

COOPERATIVE = "cooperative"
COMPANY = "company"
OPERATOR_TYPES = {COOPERATIVE: "事業協同組合", COMPANY: "企業（支店・営業所）"}


class OperatorSettings(TimestampMixin, BankAccountMixin, Model):
    """運営者: the one cooperative or company this deployment serves (a single row)."""

    __tablename__ = "operator_settings"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False)
    operator_type = Column(String(20), nullable=False, default=COOPERATIVE)
    postal_code = Column(String(8))
    address = Column(String(200))
    phone = Column(String(20))
    registration_number = Column(String(14))  # 適格請求書発行事業者登録番号 T+13桁
    # 口座振替 (全銀 種別91) settings, used by the debit file issue.
    debit_requester_code = Column(String(10))  # 委託者コード
    debit_requester_name_kana = Column(String(40))  # 委託者名（カナ）
    debit_day = Column(Integer)  # 振替日 (day of month); moved to the next bank business day
    # Usage month + this many months = the debit month (2: 2026-10 → 2026-12-05, 翌々月5日, etc-domain.md §6).
    debit_month_offset = Column(Integer, nullable=False, default=2, server_default="2")
    invoice_day = Column(Integer, nullable=False, default=20, server_default="20")  # 請求日: day of the next month
    # Member documents (issue 10): the logo printed top left (PNG/JPEG, checked and capped by the settings
    # screen) and how their dates read: seireki 2026年11月29日 or wareki 令和8年11月29日 (app/domain/wareki.py).
    logo_image = Column(LargeBinary)
    logo_mime = Column(String(20))  # image/png, image/jpeg
    date_style = Column(String(10), nullable=False, default="seireki", server_default="seireki")
    # 収納代行・委託者 of the members who have none of their own (issue 11; `flask etc init` creates `default`).
    default_collection_profile_id = Column(Integer, ForeignKey("collection_profile.id"))
    default_collection_profile = relationship("CollectionProfile")

    def __repr__(self):
        return self.name

    def operator_type_name(self) -> str:
        return OPERATOR_TYPES.get(self.operator_type, "")

    def date_style_name(self) -> str:
        from app.domain.wareki import DATE_STYLES

        return DATE_STYLES.get(self.date_style or "seireki", "")

    def logo_text(self) -> str:
        return f"登録済み（{self.logo_mime}、{len(self.logo_image):,}バイト）" if self.logo_image else "なし"

    @property
    def member_term(self) -> str:
        return "支店・営業所" if self.operator_type == COMPANY else "組合員"

from sqlalchemy import Column, DateTime, Integer, String

from app.domain.clock import now_jst  # noqa: F401  Japan time: the one clock (app/domain/clock.py)


class TimestampMixin:
    created_at = Column(DateTime, default=now_jst, nullable=False)
    updated_at = Column(DateTime, default=now_jst, onupdate=now_jst, nullable=False)


class BankAccountMixin:
    """A 全銀 bank account. Names are copied from the zengin-code master when the codes are set."""

    bank_code = Column(String(4))
    bank_name = Column(String(60))
    branch_code = Column(String(3))
    branch_name = Column(String(60))
    account_type = Column(Integer)  # 1 普通, 2 当座, 4 貯蓄, 9 その他
    account_number = Column(String(7))
    account_holder_kana = Column(String(60))

    def account_type_name(self) -> str:
        from app.domain.bank_account import ACCOUNT_TYPES

        return ACCOUNT_TYPES.get(self.account_type, "") if self.account_type else ""

    @property
    def has_bank_account(self) -> bool:
        return bool(self.bank_code and self.branch_code and self.account_number)

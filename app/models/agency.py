from sqlalchemy import Column, Integer, String

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

    def __repr__(self):
        return f"{self.code} {self.name}"

"""料金表 (tariff) rules as stored: one row per rule version, effective-dated (docs/tariff.md).

The domain form is app.domain.tariff.Rule; app.services.tariff converts between the two and the
reviewable YAML file (`flask etc tariff export/import`)."""
from sqlalchemy import JSON, Column, Date, Integer, String, UniqueConstraint

from flask_appbuilder import Model

from .mixins import TimestampMixin


class TariffRule(TimestampMixin, Model):
    __tablename__ = "tariff_rule"
    __table_args__ = (UniqueConstraint("rule_id", "valid_from", name="uq_tariff_rule_version"),)
    id = Column(Integer, primary_key=True)
    rule_id = Column(String(60), nullable=False, index=True)
    type = Column(String(30), nullable=False)
    label = Column(String(100), nullable=False)
    valid_from = Column(Date, nullable=False)
    valid_to = Column(Date)
    params = Column(JSON, nullable=False, default=dict)
    scope = Column(JSON, nullable=False, default=dict)
    rounding = Column(String(10), nullable=False, default="floor")
    position = Column(Integer, nullable=False, default=0)  # order in the YAML file, kept on export

    def explanation(self) -> str:
        """What the rule does, from its type (app/domain/pricing/<type>.py): shown on the rule's page."""
        from app.domain.pricing.rule_type import rule_types

        kind = rule_types().get(self.type)
        try:
            return kind.explain(self.params or {}) if kind is not None else ""
        except Exception:  # noqa: BLE001  (a rule being edited may lack a parameter: no sentence then)
            return ""

    def __repr__(self):
        return f"{self.rule_id}（{self.label}, {self.valid_from:%Y/%m/%d}〜）"

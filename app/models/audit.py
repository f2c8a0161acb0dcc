from sqlalchemy import Column, DateTime, Integer, JSON, String

from flask_appbuilder import Model

from .mixins import now_jst


class AuditLog(Model):
    """操作履歴: one row per created, changed or deleted record (who, when, before → after)."""

    __tablename__ = "audit_log"
    id = Column(Integer, primary_key=True)
    occurred_at = Column(DateTime, nullable=False, default=now_jst, index=True)
    user_id = Column(Integer, index=True)
    username = Column(String(128), nullable=False)
    action = Column(String(10), nullable=False)  # create / update / delete
    table_name = Column(String(64), nullable=False, index=True)
    record_id = Column(String(64), nullable=False)
    record_label = Column(String(200))
    before = Column(JSON)
    after = Column(JSON)

    def changes(self) -> str:
        """'name: "旧" → "新"; …' for the list screen."""
        import json

        before, after = self.before or {}, self.after or {}
        keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
        return "; ".join(f"{k}: {json.dumps(before.get(k), ensure_ascii=False)} → "
                         f"{json.dumps(after.get(k), ensure_ascii=False)}" for k in keys)[:500]

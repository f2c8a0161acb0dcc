from sqlalchemy import Column, DateTime, String

from flask_appbuilder import Model

from .mixins import now_jst


class SystemSetting(Model):
    """Facts about this installation that belong to the database itself, not to one process's
    environment; `environment` = `production` is written by `flask etc init` under
    TOLLBOOK_ENV=production, so demo data can never be loaded into it (app/services/demo.py)."""

    __tablename__ = "system_setting"
    key = Column(String(40), primary_key=True)
    value = Column(String(200), nullable=False)
    changed_at = Column(DateTime, nullable=False, default=now_jst, onupdate=now_jst)

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer

from flask_appbuilder import Model


class AccountSecurity(Model):
    """Per-login security state that FAB's ab_user has no column for (docs/security.md):
    the lock after repeated failed logins and the forced password change after an admin's reset.
    FAB's own ab_user.fail_login_count counts the failures."""

    __tablename__ = "account_security"
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    locked_at = Column(DateTime)
    locked_until = Column(DateTime)
    must_change_password = Column(Boolean, nullable=False, default=False)
    password_changed_at = Column(DateTime)

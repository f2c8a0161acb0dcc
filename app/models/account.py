from sqlalchemy import JSON, BigInteger, Boolean, Column, DateTime, ForeignKey, Integer, String

from flask_appbuilder import Model


class AccountSecurity(Model):
    """Per-login security state that FAB's ab_user has no column for (docs/security.md):
    the lock after repeated failed logins, the forced password change after an admin's reset, and
    the two-factor authenticator (TOTP secret, last used time step, hashed recovery codes).
    FAB's own ab_user.fail_login_count counts the failures."""

    __tablename__ = "account_security"
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    locked_at = Column(DateTime)
    locked_until = Column(DateTime)
    must_change_password = Column(Boolean, nullable=False, default=False)
    password_changed_at = Column(DateTime)
    totp_secret = Column(String(64))  # base32; set once the user confirmed a first code
    totp_enabled_at = Column(DateTime)
    totp_last_step = Column(BigInteger)  # a code's 30-second step is accepted once (no replay)
    recovery_codes = Column(JSON)  # SHA-256 of each unused recovery code

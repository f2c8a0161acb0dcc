from sqlalchemy import Column, Float, Integer, Text

from flask_appbuilder import Model


class RateLimitCounter(Model):
    """One login rate limit's count for one address and one window (app/security/rate_limits.py): in the
    database, so every gunicorn worker counts into the same row and a restarted worker forgets nothing."""

    __tablename__ = "rate_limit_counter"
    # Flask-Limiter's key: "LIMITER/<address>/<endpoint>/<amount>/<multiples>/<granularity>"
    key = Column(Text, primary_key=True)
    count = Column(Integer, nullable=False)
    # Seconds since the epoch (limits' own unit) when this window ends; the next hit after it starts a new one.
    expires_at = Column(Float, nullable=False, index=True)

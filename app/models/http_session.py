from sqlalchemy import Column, DateTime, Integer, LargeBinary, String

from flask_appbuilder import Model


class HttpSession(Model):
    """A browser's login session, kept on the server (app/security/sessions.py): the cookie holds only
    a random id, this row holds the data. Deleting the row ends the session wherever the cookie is."""

    __tablename__ = "http_session"
    # SHA-256 of the id in the cookie: whoever reads the table cannot use its rows as cookies.
    id = Column(String(64), primary_key=True)
    user_id = Column(Integer, index=True)  # to end all of a user's sessions (password change, reset)
    data = Column(LargeBinary, nullable=False)
    created_at = Column(DateTime, nullable=False)  # UTC; the absolute lifetime counts from here
    touched_at = Column(DateTime, nullable=False)  # UTC; last write
    expires_at = Column(DateTime, nullable=False, index=True)  # UTC; idle timeout or absolute end

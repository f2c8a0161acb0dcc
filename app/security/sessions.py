"""Server-side sessions in the database (issue 8 §6), with Flask-Session's session interface.

The cookie holds only a random id (Flask-Session, 32 bytes); the data is a row of `http_session`
(a table of the Alembic migrations, so SQLite and PostgreSQL alike). Deleting the row ends the
session wherever the cookie has been copied to: at logout, when the user changes the password (the
user's other sessions), when an administrator resets it (all of them).

- Idle timeout: SESSION_IDLE_MINUTES for staff (default 30), SESSION_IDLE_MINUTES_MEMBER for members.
- Absolute lifetime: SESSION_ABSOLUTE_HOURS from the login (default 12), however active.

Why not Flask-Session's own SQLAlchemy backend: it creates its table outside Alembic and commits the
request's own database session (anything a view left pending would be committed with it). The rows
are written here through a session of their own, and a row whose only change is its idle time is
written at most once a minute (SQLite has one writer: pages read while an import writes).
"""
import datetime as dt
import hashlib
import logging

import msgspec
from flask import Flask, current_app
from flask_babel.speaklater import LazyString
from markupsafe import Markup
from flask_session.base import ServerSideSession, ServerSideSessionInterface
from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.models import HttpSession

log = logging.getLogger(__name__)
IDLE_KEY = "_tollbook_idle_minutes"  # set at login from the user's roles
TOUCH_EVERY = dt.timedelta(seconds=60)


MARKUP_TAG = "__tollbook_markup__"


def _encode_other(value):
    """FAB flashes lazily translated messages (kept as their text) and some screens flash Markup
    (kept as Markup, so the message's HTML stays HTML when it is shown)."""
    if isinstance(value, Markup):
        return {MARKUP_TAG: str(value)}
    if isinstance(value, LazyString):
        return str(value)
    raise NotImplementedError(f"セッションに保存できない値です: {type(value).__name__}")


def _restore(value):
    if isinstance(value, dict):
        if len(value) == 1 and MARKUP_TAG in value:
            return Markup(value[MARKUP_TAG])
        return {key: _restore(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_restore(item) for item in value]
    return value


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class DatabaseSession(ServerSideSession):
    touched_at: dt.datetime | None = None
    created_at: dt.datetime | None = None


class DatabaseSessionInterface(ServerSideSessionInterface):
    session_class = DatabaseSession
    ttl = False  # expired rows are deleted by this class, on average every 200 requests

    def __init__(self, app: Flask, engine):
        self.engine = engine
        super().__init__(app, key_prefix="", use_signer=False, permanent=False, sid_length=32,
                         serialization_format="msgpack", cleanup_n_requests=200)
        self.serializer.encoder = msgspec.msgpack.Encoder(enc_hook=_encode_other)

    # --- storage -----------------------------------------------------------------------------

    def _get_store_id(self, sid: str) -> str:
        return hashlib.sha256(sid.encode()).hexdigest()

    def _retrieve_session_data(self, store_id: str):
        with Session(self.engine) as db:
            row = db.get(HttpSession, store_id)
            if row is None:
                return None
            if row.expires_at <= _utcnow():
                db.delete(row)
                db.commit()
                return None
            data = _restore(self.serializer.decode(row.data))
            # kept beside the data so save_session knows the row's age without reading it again
            data["_tollbook_row"] = (row.created_at.isoformat(), row.touched_at.isoformat())
            return data

    def open_session(self, app, request):
        session = super().open_session(app, request)
        stamps = session.pop("_tollbook_row", None) if "_tollbook_row" in session else None
        session.modified = False  # popping the bookkeeping key is not a change
        if stamps:
            session.created_at, session.touched_at = (dt.datetime.fromisoformat(value) for value in stamps)
        return session

    def should_set_storage(self, app, session) -> bool:
        if session.modified or session.touched_at is None:
            return True
        return _utcnow() - session.touched_at >= TOUCH_EVERY  # only the idle time would change

    def _delete_session(self, store_id: str) -> None:
        with Session(self.engine) as db:
            db.execute(delete(HttpSession).where(HttpSession.id == store_id))
            db.commit()

    def _upsert_session(self, session_lifetime, session, store_id: str) -> None:
        config = current_app.config
        now = _utcnow()
        created = session.created_at or now
        idle = dt.timedelta(minutes=int(session.get(IDLE_KEY) or config["SESSION_IDLE_MINUTES"]))
        expires = min(now + idle, created + dt.timedelta(hours=int(config["SESSION_ABSOLUTE_HOURS"])))
        user_id = session.get("_user_id")
        values = dict(user_id=int(user_id) if user_id else None, data=self.serializer.encode(session),
                      touched_at=now, expires_at=expires)
        refresh_only = not session.modified
        with self.engine.connect() as connection:
            # Only the idle time moves: on SQLite never wait behind a long import for that.
            quick = refresh_only and connection.dialect.name == "sqlite"
            if quick:
                previous = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
                connection.exec_driver_sql("PRAGMA busy_timeout=200")
                connection.commit()
            try:
                with Session(bind=connection) as db:
                    row = db.get(HttpSession, store_id)
                    if row is None:
                        db.add(HttpSession(id=store_id, created_at=created, **values))
                    else:
                        for key, value in values.items():
                            setattr(row, key, value)
                    db.commit()
            except OperationalError:
                connection.rollback()
                if not refresh_only:
                    raise
                log.info("session idle time not refreshed (database busy); a later request retries")
                return
            finally:
                if quick:
                    connection.exec_driver_sql(f"PRAGMA busy_timeout={int(previous)}")
                    connection.commit()
        session.created_at, session.touched_at = created, now

    def _delete_expired_sessions(self) -> None:
        with Session(self.engine) as db:
            db.execute(delete(HttpSession).where(HttpSession.expires_at <= _utcnow()))
            db.commit()

    # --- ending sessions ---------------------------------------------------------------------

    def end_user_sessions(self, user_id: int, keep_sid: str | None = None) -> int:
        """Delete every session of a user (all but `keep_sid`'s); returns how many ended."""
        statement = delete(HttpSession).where(HttpSession.user_id == user_id)
        if keep_sid:
            statement = statement.where(HttpSession.id != self._get_store_id(keep_sid))
        with Session(self.engine) as db:
            ended = db.execute(statement).rowcount
            db.commit()
        return ended

    def count_user_sessions(self, user_id: int) -> int:
        with Session(self.engine) as db:
            return len(db.scalars(select(HttpSession.id).where(HttpSession.user_id == user_id)).all())

"""Login rate limits counted in Tollbook's own database (docs/security.md, "Rate limiting").

Flask-Limiter keeps its counts in a storage of the `limits` library. Its `memory://` storage counts in
each process: under `make serve`'s gunicorn (3 workers) an address got three times AUTH_RATE_LIMIT, and a
worker replaced after a crash started again from zero. This storage, `tollbook+db://` (the default
RATELIMIT_STORAGE_URI), keeps one row per limit and address in `rate_limit_counter`, so every worker
counts into the same number and nothing is forgotten; no service is added. `memory://` and `redis://…`
stay selectable.

Every hit is ONE statement — INSERT … ON CONFLICT (key) DO UPDATE … RETURNING count — which starts the
window or adds to it, decided by the primary key under the database's own lock, never by a read before
the write: two workers counting at once get 1 and 2, not 1 and 1. It runs on a short connection of its
own, committed at once, never on the request's session (whose transaction may be rolled back, and on
SQLite would hold the writer's lock for the whole request).

Old rows: a key's row is restarted in place by its next hit after its window; rows of addresses that
do not come back are deleted every SWEEP_EVERY hits of a process, in a statement of their own.

Only the fixed-window strategy (Flask-Limiter's default, RATELIMIT_STRATEGY) is supported.
"""
import time

from limits.storage import Storage
from sqlalchemy import case, delete, select, text
from sqlalchemy.exc import SQLAlchemyError

from app.models import RateLimitCounter
from app.services.bulk import dialect_insert

SCHEME = "tollbook+db"
SWEEP_EVERY = 100
TABLE = RateLimitCounter.__table__


def now() -> float:
    """The clock of every window (seconds, limits' unit); the tests move it."""
    return time.time()


class DatabaseStorage(Storage):
    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, engine=None, **options):
        """`engine`: the database to count in; by default the app's (Flask-SQLAlchemy's, looked up when first
        needed, so the storage can be made before the app is bound)."""
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._engine = engine
        self._hits = 0

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    @property
    def engine(self):
        if self._engine is None:
            from app.extensions import db

            self._engine = db.engine
        return self._engine

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        at = now()
        with self.engine.begin() as connection:
            statement = dialect_insert(connection, TABLE, key=key, count=amount, expires_at=at + expiry)
            over = TABLE.c.expires_at <= at  # this key's window has ended: the hit starts a new one
            statement = statement.on_conflict_do_update(index_elements=[TABLE.c.key], set_={
                "count": case((over, statement.excluded.count), else_=TABLE.c.count + statement.excluded.count),
                "expires_at": case((over, statement.excluded.expires_at), else_=TABLE.c.expires_at),
            }).returning(TABLE.c.count)
            count = connection.execute(statement).scalar_one()
        self._hits += 1
        if self._hits % SWEEP_EVERY == 0:
            self.delete_expired()
        return count

    def get(self, key: str) -> int:
        with self.engine.connect() as connection:
            count = connection.scalar(select(TABLE.c.count).where(TABLE.c.key == key, TABLE.c.expires_at > now()))
        return count or 0

    def get_expiry(self, key: str) -> float:
        with self.engine.connect() as connection:
            expires_at = connection.scalar(select(TABLE.c.expires_at).where(TABLE.c.key == key,
                                                                             TABLE.c.expires_at > now()))
        return expires_at if expires_at is not None else now()  # as limits' memory storage: no window, now

    def check(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with self.engine.begin() as connection:
            return connection.execute(delete(TABLE)).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(TABLE).where(TABLE.c.key == key))

    def delete_expired(self) -> int:
        """Rows whose window is over. Its own transaction, after the hit's: a sweep that waits for a row another
        worker is counting holds no row that worker needs."""
        with self.engine.begin() as connection:
            return connection.execute(delete(TABLE).where(TABLE.c.expires_at <= now())).rowcount

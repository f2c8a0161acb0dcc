"""SQLite as the embedded database: WAL so that screens keep reading while an import or a billing
run writes in the background (with the default rollback journal a long write locks readers out
once its cache spills), and a busy timeout instead of an immediate 'database is locked'.
Durability stays at SQLite's default (synchronous=FULL)."""
from sqlalchemy import event
from sqlalchemy.engine import Engine


def configure_sqlite(engine: Engine) -> None:
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

"""Login rate limits counted in the database (app/security/rate_limits.py): one count for every worker of
the installation, on SQLite and PostgreSQL. The served case (gunicorn, 2 workers) is in test_serving.py."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from app.models import RateLimitCounter

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def storage(app, db):
    from app.security.rate_limits import DatabaseStorage

    return DatabaseStorage("tollbook+db://")


@pytest.fixture()
def clock(monkeypatch):
    """The storage's clock, moved by the test."""
    moment = [1_900_000_000.0]
    monkeypatch.setattr("app.security.rate_limits.now", lambda: moment[0])
    return moment


def rows(db):
    db.session.rollback()  # a fresh snapshot: the storage writes on its own connection
    return dict(db.session.execute(select(RateLimitCounter.key, RateLimitCounter.count)).all())


def test_the_login_limits_count_in_the_database_by_default(app, client, db):
    from app.extensions import appbuilder
    from app.security.rate_limits import DatabaseStorage

    assert app.config["RATELIMIT_STORAGE_URI"] == "tollbook+db://"
    assert isinstance(appbuilder.sm.limiter.storage, DatabaseStorage)
    for attempt in range(3):
        client.post("/login/", data={"username": "staff", "password": f"wrong-{attempt}"})
    counted = rows(db)
    # one row per limit of AUTH_RATE_LIMIT ("30 per minute;300 per hour"), each at 3
    assert sorted(counted.values()) == [3, 3] and all("127.0.0.1" in key for key in counted)


def test_incr_counts_get_and_expiry_follow_the_window(storage, db, clock):
    assert storage.get("k") == 0 and storage.get_expiry("k") == clock[0]
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.incr("k", 60, amount=2) == 5
    assert storage.get("k") == 5 and storage.get_expiry("k") == clock[0] + 60
    assert storage.incr("other", 60) == 1
    assert rows(db) == {"k": 5, "other": 1}

    clock[0] += 59.9
    assert storage.incr("k", 60) == 6 and storage.get_expiry("k") == clock[0] - 59.9 + 60
    clock[0] += 0.1  # the window is over: nothing counted, and the next hit starts a new one
    assert storage.get("k") == 0 and storage.get_expiry("k") == clock[0]
    assert storage.incr("k", 60) == 1 and storage.get_expiry("k") == clock[0] + 60
    assert rows(db)["k"] == 1


def test_clear_and_reset(storage, db, clock):
    for key in ("a", "b", "c"):
        storage.incr(key, 60)
    storage.clear("b")
    assert storage.get("b") == 0 and rows(db) == {"a": 1, "c": 1}
    assert storage.reset() == 2 and rows(db) == {}
    assert storage.check()


def test_rows_of_windows_over_are_deleted_by_later_hits(storage, db, clock, monkeypatch):
    monkeypatch.setattr("app.security.rate_limits.SWEEP_EVERY", 5)
    for address in range(3):
        storage.incr(f"gone-{address}", 60)
    clock[0] += 61
    storage.incr("here", 60)
    assert len(rows(db)) == 4  # not yet: a sweep every 5 hits
    storage.incr("here", 60)
    assert rows(db) == {"here": 2}
    assert storage.delete_expired() == 0


def test_the_limiter_refuses_across_workers_counting_into_one_storage(app, db, clock):
    """Two app processes are two storages over one table: what one counted, the other sees."""
    from limits import parse
    from limits.strategies import FixedWindowRateLimiter  # Flask-Limiter's default strategy

    from app.security.rate_limits import DatabaseStorage

    first, second = DatabaseStorage("tollbook+db://"), DatabaseStorage("tollbook+db://")
    limit = parse("5 per minute")
    one, other = FixedWindowRateLimiter(first), FixedWindowRateLimiter(second)
    results = [(one if n % 2 else other).hit(limit, "127.0.0.1") for n in range(7)]
    assert results == [True] * 5 + [False] * 2
    assert one.get_window_stats(limit, "127.0.0.1").remaining == 0


COUNTER = r"""
import os, sys, time
from sqlalchemy import create_engine
from app.sqlite_settings import configure_sqlite
from app.security.rate_limits import DatabaseStorage

engine = create_engine(os.environ["DATABASE_URL"])
configure_sqlite(engine)
storage = DatabaseStorage(engine=engine)
storage.check()  # connected before the start, so both processes count at the same time
start = float(sys.argv[1])
while time.time() < start:
    time.sleep(0.001)
print(" ".join(str(storage.incr("LIMITER/203.0.113.7/login", 600)) for _ in range(int(sys.argv[2]))), flush=True)
"""


def test_two_processes_counting_one_key_at_once_give_the_exact_total(app, db):
    hits = 150
    env = {**os.environ, "DATABASE_URL": db.engine.url.render_as_string(hide_password=False)}
    env.pop("TEST_DATABASE_URL", None)
    start = time.time() + 4  # both interpreters loaded by then
    processes = [subprocess.Popen([sys.executable, "-c", COUNTER, str(start), str(hits)], cwd=REPO, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=180) for process in processes]
    assert all(process.returncode == 0 for process in processes), [error for _, error in outputs]
    seen = [[int(count) for count in out.split()] for out, _ in outputs]
    # every hit got its own number: no two hits read the same count and wrote the same next one
    assert sorted(seen[0] + seen[1]) == list(range(1, 2 * hits + 1))
    assert all(counts == sorted(counts) for counts in seen)
    assert rows(db) == {"LIMITER/203.0.113.7/login": 2 * hits}
    # they did count at the same time: each process's numbers are not one unbroken run
    assert seen[0] != list(range(seen[0][0], seen[0][0] + hits)) or seen[1] != list(range(seen[1][0], seen[1][0] + hits))

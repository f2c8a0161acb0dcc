"""Issue 8 §6: sessions on the server, ended at logout and password change, idle and absolute limits."""
import datetime as dt
import hashlib

import pytest

from app.models import HttpSession
from app.security import sessions

from ..conftest import ADMIN_PASSWORD, MEMBER_PASSWORD, STAFF_PASSWORD, login
from .test_security_logins import NEW_STAFF_PASSWORD as NEW_PASSWORD, logged_in, post_login


def cookie(client) -> str | None:
    found = client.get_cookie("session")
    return found.value if found else None


def fresh_client(app, value):
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def forget_cached_user():
    """The tests' requests share one app context: drop Flask-Login's cached user between clients."""
    from flask import g

    g.pop("_login_user", None)


def test_a_copied_cookie_is_refused_after_logout(app, client, db):
    login(client, "staff", STAFF_PASSWORD)
    copied = cookie(client)
    thief = fresh_client(app, copied)
    assert logged_in(thief)  # the copy works while the session lives
    client.post("/logout/")
    forget_cached_user()
    assert cookie(client) is None
    assert not logged_in(fresh_client(app, copied))
    assert db.session.get(HttpSession, hashlib.sha256(copied.encode()).hexdigest()) is None


def test_the_cookie_holds_only_a_random_id(app, client, db):
    login(client, "staff", STAFF_PASSWORD)
    value = cookie(client)
    assert len(value) == 43 and "." not in value  # 32 random bytes, no signed payload
    row = db.session.get(HttpSession, hashlib.sha256(value.encode()).hexdigest())
    assert row is not None and row.user_id is not None and value.encode() not in row.data


def test_login_gives_a_new_session_id(app, client, db):
    client.get("/login/")  # the login form puts its CSRF token in a session
    before = cookie(client)
    assert before
    login(client, "staff", STAFF_PASSWORD)
    after = cookie(client)
    assert after and after != before
    forget_cached_user()
    assert not logged_in(fresh_client(app, before))


def test_changing_the_password_ends_the_users_other_sessions(app, client, db):
    login(client, "staff", STAFF_PASSWORD)
    other = app.test_client()
    forget_cached_user()
    post_login(other, "staff", STAFF_PASSWORD)
    other_cookie = cookie(other)
    old_cookie = cookie(client)
    changed = client.post("/resetmypassword/form", data={"current_password": STAFF_PASSWORD, "password": NEW_PASSWORD,
                                                         "conf_password": NEW_PASSWORD}, follow_redirects=True)
    assert "パスワードを変更しました。" in changed.get_data(as_text=True)
    assert cookie(client) != old_cookie  # this session goes on under a new id
    forget_cached_user()
    assert logged_in(client)
    forget_cached_user()
    assert not logged_in(fresh_client(app, other_cookie))
    assert not logged_in(fresh_client(app, old_cookie))


def test_an_administrators_reset_ends_every_session_of_the_user(app, client, db):
    from app.extensions import appbuilder

    staff = app.test_client()
    post_login(staff, "staff", STAFF_PASSWORD)
    staff_cookie = cookie(staff)
    forget_cached_user()
    login(client, "admin", ADMIN_PASSWORD)
    staff_id = appbuilder.sm.find_user(username="staff").id
    client.post(f"/resetpassword/form?pk={staff_id}",
                data={"password": "kari-no-pasuwado-42", "conf_password": "kari-no-pasuwado-42"})
    assert logged_in(client)  # the administrator's own session is untouched
    forget_cached_user()
    assert not logged_in(fresh_client(app, staff_cookie))


@pytest.fixture()
def clock(monkeypatch):
    """The sessions' clock, moved by hand."""
    now = [dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)]
    monkeypatch.setattr(sessions, "_utcnow", lambda: now[0])

    def advance(**delta):
        now[0] += dt.timedelta(**delta)
        forget_cached_user()
    return advance


def test_idle_staff_session_ends_after_30_minutes_active_one_goes_on(app, client, db, clock):
    assert app.config["SESSION_IDLE_MINUTES"] == 30
    login(client, "staff", STAFF_PASSWORD)
    clock(minutes=29)
    assert logged_in(client)  # activity moves the idle limit
    clock(minutes=29)
    assert logged_in(client)
    clock(minutes=31)
    assert not logged_in(client)


def test_members_have_their_own_idle_time(app, client, db, clock):
    assert app.config["SESSION_IDLE_MINUTES_MEMBER"] == 60
    post_login(client, "member1", MEMBER_PASSWORD)
    clock(minutes=45)
    assert logged_in(client)
    clock(minutes=61)
    assert not logged_in(client)


def test_a_session_ends_twelve_hours_after_login_however_active(app, client, db, clock):
    assert app.config["SESSION_ABSOLUTE_HOURS"] == 12
    login(client, "staff", STAFF_PASSWORD)
    for _ in range(28):  # 28 × 25 minutes = 11 h 40 min of steady work
        clock(minutes=25)
        assert logged_in(client)
    clock(minutes=25)  # 12 h 5 min after the login
    assert not logged_in(client)


def test_expired_rows_are_deleted(app, client, db, clock):
    login(client, "staff", STAFF_PASSWORD)
    assert db.session.query(HttpSession).count() == 1
    clock(hours=13)
    app.session_interface._delete_expired_sessions()
    db.session.expire_all()
    assert db.session.query(HttpSession).count() == 0

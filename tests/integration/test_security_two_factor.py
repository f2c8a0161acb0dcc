"""Issue 8 §8: TOTP for staff (required for 管理者 and 責任者, optional for 事務), enrolment with a
QR code drawn locally, recovery codes, and logins, failures, locks, password changes in the audit log."""
import re

import pyotp
import pytest
from sqlalchemy import select

from app.models import AuditLog

from ..conftest import ADMIN_PASSWORD, MANAGER_PASSWORD, STAFF_PASSWORD, login
from .test_security_logins import logged_in, no_address_limit, post_login  # noqa: F401 (fixture)
from .test_security_sessions import forget_cached_user


@pytest.fixture()
def required(app):
    """Two-factor required for 管理者 and 責任者, as configured outside the tests."""
    import config

    app.config["TWO_FACTOR_REQUIRED_ROLES"] = config.TWO_FACTOR_REQUIRED_ROLES
    yield
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = ()


def enrol(client) -> tuple[str, list[str]]:
    page = client.get("/two-factor/setup").get_data(as_text=True)
    secret = re.search(r'<code id="two-factor-secret">([A-Z2-7]+)</code>', page).group(1)
    done = client.post("/two-factor/setup", data={"code": pyotp.TOTP(secret).now()}).get_data(as_text=True)
    codes = re.findall(r"<li>([0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4})</li>", done)
    return secret, codes


def code_at(secret, steps_ago=0):
    totp = pyotp.TOTP(secret)
    import time

    return totp.generate_otp(int(time.time()) // totp.interval - steps_ago)


def test_a_manager_must_enrol_with_a_local_qr_code(app, client, db, required):
    first = post_login(client, "manager", MANAGER_PASSWORD)
    assert first.request.path == "/two-factor/setup"
    page = first.get_data(as_text=True)
    assert "2段階認証が必須です" in page and "設定が終わるまで" in page
    svg = re.search(r'<div id="two-factor-qr"[^>]*>(.*?)</div>', page, re.S).group(1)
    assert svg.strip().startswith("<svg") and "http" not in svg  # drawn here, no QR service
    assert client.get("/memberview/list/").headers["Location"].endswith("/two-factor/setup")
    secret = re.search(r'<code id="two-factor-secret">([A-Z2-7]+)</code>', page).group(1)
    wrong = client.post("/two-factor/setup", data={"code": "000000" if code_at(secret) != "000000" else "111111"})
    assert "確認コードが違います" in wrong.get_data(as_text=True)
    done = client.post("/two-factor/setup", data={"code": code_at(secret)}).get_data(as_text=True)
    codes = re.findall(r"<li>([0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4})</li>", done)
    assert len(codes) == 10 and "二度と表示されません" in done
    assert client.get("/memberview/list/").status_code == 200


def test_login_asks_for_the_code_after_the_password(app, client, db, required):
    login(client, "manager", MANAGER_PASSWORD)
    secret, _ = enrol(client)
    client.post("/logout/")
    forget_cached_user()
    step = post_login(client, "manager", MANAGER_PASSWORD)
    assert step.request.path == "/two-factor/" and "確認コード" in step.get_data(as_text=True)
    assert not logged_in(client)  # the password alone is not a login
    bad = client.post("/two-factor/", data={"code": "12345a"}).get_data(as_text=True)
    assert "確認コードが違います" in bad and not logged_in(client)
    code = code_at(secret, steps_ago=1)  # one step of clock drift is accepted
    assert client.post("/two-factor/", data={"code": code}).status_code == 302
    assert logged_in(client)
    # the same code cannot be used twice (someone watching over the shoulder)
    client.post("/logout/")
    forget_cached_user()
    post_login(client, "manager", MANAGER_PASSWORD)
    assert "確認コードが違います" in client.post("/two-factor/", data={"code": code}).get_data(as_text=True)
    assert not logged_in(client)


def test_a_recovery_code_works_once(app, client, db, required):
    login(client, "manager", MANAGER_PASSWORD)
    _, codes = enrol(client)
    client.post("/logout/")
    forget_cached_user()
    post_login(client, "manager", MANAGER_PASSWORD)
    used = client.post("/two-factor/", data={"code": codes[0].upper()}, follow_redirects=True)
    assert "回復コードを使いました（残り9個）" in used.get_data(as_text=True) and logged_in(client)
    client.post("/logout/")
    forget_cached_user()
    post_login(client, "manager", MANAGER_PASSWORD)
    client.post("/two-factor/", data={"code": codes[0]})
    assert not logged_in(client)


def test_wrong_codes_lock_the_account(app, client, db, required, no_address_limit):
    login(client, "manager", MANAGER_PASSWORD)
    secret, _ = enrol(client)
    client.post("/logout/")
    forget_cached_user()
    post_login(client, "manager", MANAGER_PASSWORD)
    for _ in range(app.config["AUTH_LOCKOUT_THRESHOLD"]):
        client.post("/two-factor/", data={"code": "999999" if code_at(secret) != "999999" else "888888"})
    assert client.post("/two-factor/", data={"code": code_at(secret)}, follow_redirects=True).request.path == "/login/"
    assert not logged_in(client)
    post_login(client, "manager", MANAGER_PASSWORD)  # locked: the right password does not even reach the code
    assert not logged_in(client)


def test_staff_may_enrol_and_switch_it_off_with_the_password(app, client, db, required):
    login(client, "staff", STAFF_PASSWORD)  # optional: no enrolment asked
    assert client.get("/memberview/list/").status_code == 200
    assert 'id="two-factor-menu"' in client.get("/memberview/list/").get_data(as_text=True)
    enrol(client)
    wrong = client.post("/two-factor/disable", data={"password": "nope"}, follow_redirects=True)
    assert "パスワードが違います" in wrong.get_data(as_text=True)
    off = client.post("/two-factor/disable", data={"password": STAFF_PASSWORD}, follow_redirects=True)
    assert "2段階認証を解除しました" in off.get_data(as_text=True)


def test_a_manager_cannot_switch_it_off_but_an_administrator_resets_it(app, client, db, required):
    from app.extensions import appbuilder
    from app.services import two_factor

    login(client, "manager", MANAGER_PASSWORD)
    enrol(client)
    refused = client.post("/two-factor/disable", data={"password": MANAGER_PASSWORD}, follow_redirects=True)
    assert "解除できません" in refused.get_data(as_text=True)
    manager_id = appbuilder.sm.find_user(username="manager").id
    assert two_factor.is_enabled(manager_id)
    client.post("/logout/")
    forget_cached_user()
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = ()  # the admin logs in with the password here
    login(client, "admin", ADMIN_PASSWORD)
    reset = client.post("/users/action_post", data={"action": "reset_2fa", "rowid": [str(manager_id)]},
                        follow_redirects=True)
    assert "manager の2段階認証をリセットしました" in reset.get_data(as_text=True)
    db.session.expire_all()
    assert not two_factor.is_enabled(manager_id)


def test_logins_failures_locks_and_password_changes_are_audited(app, client, db, no_address_limit):
    post_login(client, "staff", "wrong-password")
    post_login(client, "nobody-here", "whatever")
    for n in range(app.config["AUTH_LOCKOUT_THRESHOLD"]):
        post_login(client, "manager", f"wrong-{n}")
    login(client, "staff", STAFF_PASSWORD)
    client.post("/resetmypassword/form", data={"current_password": STAFF_PASSWORD, "password": "kawasemi-hashiru-7",
                                               "conf_password": "kawasemi-hashiru-7"})
    client.post("/logout/")
    rows = db.session.scalars(select(AuditLog).where(AuditLog.table_name == "ab_user").order_by(AuditLog.id)).all()
    seen = [(row.action, row.record_label) for row in rows]
    assert ("login_fail", "staff") in seen and ("login_fail", "nobody-here") in seen
    assert ("lock", "manager") in seen and ("login", "staff") in seen
    assert ("password", "staff") in seen and ("logout", "staff") in seen
    lock = next(row for row in rows if row.action == "lock")
    assert "分間ロックしました" in lock.after["detail"] and lock.after["ip"] == "127.0.0.1"
    # the audit screen shows them in Japanese
    forget_cached_user()
    login(client, "admin", ADMIN_PASSWORD)
    page = client.get("/auditlogview/list/?psize_AuditLogView=100").get_data(as_text=True)
    for label in ("ログイン失敗", "ロック", "パスワード変更", "ログアウト"):
        assert label in page

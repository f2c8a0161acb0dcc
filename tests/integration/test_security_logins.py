"""Issue 8 §3 (brute force) and §5 (passwords): lockout per account, limit per address, one message
for every failure; password rules, current password, forced change after an administrator's reset."""
import datetime as dt

import pytest
from sqlalchemy import select

from app.models import AccountSecurity
from app.security.manager import LOGIN_FAILED

from ..conftest import ADMIN_PASSWORD, MEMBER_PASSWORD, STAFF_PASSWORD, login

NEW_STAFF_PASSWORD = "kawasemi-hashiru-7"


def post_login(client, username, password):
    return client.post("/login/", data={"username": username, "password": password}, follow_redirects=True)


def logged_in(client) -> bool:
    # Logged out: sent to the login page. A member login is refused the back-office page (403) instead.
    return client.get("/users/userinfo/").status_code in (200, 403)


@pytest.fixture()
def no_address_limit(app):
    """The per-address limit off, to see the per-account lock alone (as from many addresses)."""
    from app.extensions import appbuilder

    appbuilder.sm.limiter.enabled = False
    yield
    appbuilder.sm.limiter.enabled = True


def user(db, username):
    from app.extensions import appbuilder

    found = appbuilder.sm.find_user(username=username)
    db.session.refresh(found)
    return found


def test_fifty_wrong_passwords_then_the_right_one_is_refused(app, client, db):
    for attempt in range(50):
        response = post_login(client, "staff", f"wrong-{attempt}")
        assert response.status_code in (200, 429)
    right = post_login(client, "staff", STAFF_PASSWORD)
    assert not logged_in(client)
    assert right.status_code == 429 and "ログインの操作が多すぎます" in right.get_data(as_text=True)
    # From another address (limits reset) the account itself is still locked.
    from app.extensions import appbuilder

    appbuilder.sm.limiter.reset()
    again = post_login(client, "staff", STAFF_PASSWORD)
    assert LOGIN_FAILED in again.get_data(as_text=True) and not logged_in(client)


def test_account_is_locked_after_the_threshold_of_failures(app, client, db, no_address_limit):
    threshold = app.config["AUTH_LOCKOUT_THRESHOLD"]
    for attempt in range(threshold - 1):
        post_login(client, "staff", f"wrong-{attempt}")
    assert db.session.get(AccountSecurity, user(db, "staff").id) is None  # not locked yet
    post_login(client, "staff", "wrong-last")
    state = db.session.get(AccountSecurity, user(db, "staff").id)
    assert state.locked_until - state.locked_at == dt.timedelta(minutes=app.config["AUTH_LOCKOUT_MINUTES"])
    assert LOGIN_FAILED in post_login(client, "staff", STAFF_PASSWORD).get_data(as_text=True)
    assert not logged_in(client)
    # the lock is the account's, not the address's: another login still works
    post_login(client, "manager", STAFF_PASSWORD)
    assert logged_in(client)


def test_lock_lifts_after_its_time_with_a_fresh_count(app, client, db, no_address_limit):
    for attempt in range(app.config["AUTH_LOCKOUT_THRESHOLD"]):
        post_login(client, "staff", f"wrong-{attempt}")
    state = db.session.get(AccountSecurity, user(db, "staff").id)
    state.locked_until = dt.datetime(2000, 1, 1)
    db.session.commit()
    post_login(client, "staff", STAFF_PASSWORD)
    assert logged_in(client)
    assert user(db, "staff").fail_login_count == 0


def test_an_administrator_unlocks_from_the_user_list(app, client, db, no_address_limit):
    for attempt in range(app.config["AUTH_LOCKOUT_THRESHOLD"]):
        post_login(client, "staff", f"wrong-{attempt}")
    staff_id = user(db, "staff").id
    login(client, "admin", ADMIN_PASSWORD)
    response = client.post("/users/action_post", data={"action": "unlock", "rowid": [str(staff_id)]},
                           follow_redirects=True)
    assert "staff のログインロックを解除しました。" in response.get_data(as_text=True)
    client.post("/logout/")
    post_login(client, "staff", STAFF_PASSWORD)
    assert logged_in(client)


def test_failures_say_the_same_whether_the_login_exists_or_not(app, client, db, no_address_limit):
    def message(username, password):
        page = post_login(client, username, password).get_data(as_text=True)
        return LOGIN_FAILED in page and "ユーザー名またはパスワードが違います" not in page

    assert message("no-such-login", "whatever-1")
    assert message("staff", "wrong-password")
    for attempt in range(app.config["AUTH_LOCKOUT_THRESHOLD"]):
        post_login(client, "staff", f"wrong-{attempt}")
    assert message("staff", STAFF_PASSWORD)  # locked: the same words as a wrong password


def test_many_logins_from_one_address_are_limited_whatever_the_login(app, client, db):
    statuses = [client.post("/login/", data={"username": f"guess{n}", "password": "x"}).status_code
                for n in range(31)]
    assert statuses[:30] == [302] * 30 and statuses[30] == 429
    page = client.post("/login/", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert page.status_code == 429
    text = page.get_data(as_text=True)
    assert "数分待ってからもう一度お試しください" in text and "Too Many Requests" not in text


# ---- passwords (§5) --------------------------------------------------------------------------

def change_own(client, current, new, confirm=None):
    return client.post("/resetmypassword/form", data={"current_password": current, "password": new,
                                                      "conf_password": confirm or new},
                       follow_redirects=True).get_data(as_text=True)


def test_changing_ones_password_needs_the_current_one_and_follows_the_rules(client, db):
    login(client, "staff", STAFF_PASSWORD)
    form = client.get("/resetmypassword/form").get_data(as_text=True)
    assert "現在のパスワード" in form and "12文字以上" in form
    assert "現在のパスワードが違います。" in change_own(client, "not-my-password", NEW_STAFF_PASSWORD)
    assert "12文字以上にしてください（入力は1文字）" in change_own(client, STAFF_PASSWORD, "x")
    assert "よく使われるパスワード" in change_own(client, STAFF_PASSWORD, "password1234")
    assert "パスワードを変更しました。" in change_own(client, STAFF_PASSWORD, NEW_STAFF_PASSWORD)
    client.post("/logout/")
    post_login(client, "staff", STAFF_PASSWORD)
    assert not logged_in(client)
    post_login(client, "staff", NEW_STAFF_PASSWORD)
    assert logged_in(client)


def test_the_login_id_itself_is_refused(app, client, db):
    from app.extensions import appbuilder

    login(client, "admin", ADMIN_PASSWORD)
    created = client.post("/users/add", data={
        "first_name": "長い", "last_name": "名前", "username": "kaikei-tanto-01", "email": "k@test.invalid",
        "active": "y", "roles": [str(appbuilder.sm.find_role("事務").id)],
        "password": "Kaikei-Tanto-01", "conf_password": "Kaikei-Tanto-01"}, follow_redirects=True)
    assert "ログインIDと同じパスワードは使えません。" in created.get_data(as_text=True)
    assert appbuilder.sm.find_user(username="kaikei-tanto-01") is None


def test_members_need_ten_characters_staff_twelve(client, db):
    # no member account linked: its portal answers 403, but the login may still change its password
    # (/resetmypassword/form sends a member to the portal's own form, the POST with it: 307)
    post_login(client, "member1", MEMBER_PASSWORD)
    assert "10文字以上にしてください（入力は9文字）" in change_own(client, MEMBER_PASSWORD, "tsubame-9")
    assert "パスワードを変更しました。" in change_own(client, MEMBER_PASSWORD, "tsubame-10")
    client.post("/logout/")
    login(client, "staff", STAFF_PASSWORD)
    assert "12文字以上にしてください（入力は10文字）" in change_own(client, STAFF_PASSWORD, "tsubame-10")


def test_an_administrators_reset_forces_a_change_at_next_login(app, client, db):
    staff_id = user(db, "staff").id
    login(client, "admin", ADMIN_PASSWORD)
    short = client.post(f"/resetpassword/form?pk={staff_id}", data={"password": "abc", "conf_password": "abc"},
                        follow_redirects=True).get_data(as_text=True)
    assert "12文字以上にしてください" in short
    done = client.post(f"/resetpassword/form?pk={staff_id}", data={
        "password": "kari-no-pasuwado-42", "conf_password": "kari-no-pasuwado-42"}, follow_redirects=True)
    assert "次のログインでパスワードの変更が必要です" in done.get_data(as_text=True)
    client.post("/logout/")

    first = post_login(client, "staff", "kari-no-pasuwado-42").get_data(as_text=True)
    assert "ご自身のパスワードに変更してください" in first and "現在のパスワード" in first
    elsewhere = client.get("/memberview/list/")
    assert elsewhere.status_code == 302 and "/resetmypassword/form" in elsewhere.headers["Location"]
    assert "パスワードを変更しました。" in change_own(client, "kari-no-pasuwado-42", NEW_STAFF_PASSWORD)
    assert client.get("/memberview/list/").status_code == 200
    assert db.session.scalar(select(AccountSecurity.must_change_password)
                             .where(AccountSecurity.user_id == staff_id)) is False


def test_a_user_added_by_an_administrator_changes_the_password_first(app, client, db):
    from app.extensions import appbuilder

    login(client, "admin", ADMIN_PASSWORD)
    role = str(appbuilder.sm.find_role("組合員").id)
    data = {"first_name": "新規", "last_name": "組合員", "username": "m0099", "email": "m0099@test.invalid",
            "active": "y", "roles": [role]}
    refused = client.post("/users/add", data={**data, "password": "short", "conf_password": "short"},
                          follow_redirects=True).get_data(as_text=True)
    assert "10文字以上にしてください（入力は5文字）" in refused
    client.post("/users/add", data={**data, "password": "hajimete-10", "conf_password": "hajimete-10"})
    assert appbuilder.sm.find_user(username="m0099") is not None
    client.post("/logout/")
    first = post_login(client, "m0099", "hajimete-10").get_data(as_text=True)
    assert "ご自身のパスワードに変更してください" in first


def test_init_refuses_a_weak_admin_password(app, db):
    result = app.test_cli_runner().invoke(args=["etc", "init", "--admin-password", "admin"])
    assert result.exit_code == 1 and "12文字以上" in result.output


def test_flask_etc_unlock(app, client, db, no_address_limit):
    for attempt in range(app.config["AUTH_LOCKOUT_THRESHOLD"]):
        post_login(client, "staff", f"wrong-{attempt}")
    result = app.test_cli_runner().invoke(args=["etc", "unlock", "staff"])
    assert result.exit_code == 0 and "staff のロックを解除しました。" in result.output
    post_login(client, "staff", STAFF_PASSWORD)
    assert logged_in(client)
    assert app.test_cli_runner().invoke(args=["etc", "unlock", "nobody"]).exit_code == 1

"""Member logins (issue 12 items 1 and 5): issued by staff singly, in bulk and by `flask etc portal-login`,
a PDF letter per member, the forced change at first login (not with --password), the member's password
rules (10 characters, not the login ID, not the initial password), staff reset, stop and unlock, the login
history on the staff screen, and the login's rate limit and lock."""
import re

from sqlalchemy import select

from app.extensions import appbuilder
from app.models import AuditLog, Member, MemberAccount
from app.services.actor import acting_as
from tests.conftest import STAFF_PASSWORD, login

from .documents_month import pdftotext
from .test_billing import make_member

NEW_PASSWORD = "fuji-sakura-umi-7"


def members(db, *codes):
    made = [make_member(db, code, f"テスト運送{code}") for code in codes]
    return [m.id for m in made]


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["etc", *args])


def post_login(client, username, password):
    return client.post("/login/", data={"username": username, "password": password}, follow_redirects=True)


def change(client, current, new, confirm=None):
    return client.post("/portal/password", data={"current_password": current, "password": new,
                                                  "conf_password": confirm or new}, follow_redirects=True)


def test_portal_login_command_creates_then_resets_and_the_first_login_forces_a_change(app, client, db):
    (member_id,) = members(db, "M0001")
    result = cli(app, "portal-login", "M0001")
    assert result.exit_code == 0, result.output
    assert "M0001 テスト運送M0001: 会員ページのログインを作成しました。" in result.output
    assert "ログインID: m0001" in result.output
    initial = re.search(r"初期パスワード: (\S+)（初回ログインで変更が必要です）", result.output).group(1)
    assert len(initial) == 14
    account = db.session.scalar(select(MemberAccount).where(MemberAccount.member_id == member_id))
    assert account.issued_by == "flask etc portal-login" and account.initial_password_hash

    # first login: every portal page leads to the change form
    page = post_login(client, "m0001", initial).get_data(as_text=True)
    assert "ご自身のパスワードに変更してください" in page and "現在のパスワード" in page and "p-main" in page
    assert client.get("/portal/documents/").headers["Location"].endswith("/portal/password")
    # the member's rules: 10 characters, not the login ID, not the initial password
    assert "10文字以上にしてください" in change(client, initial, "short-9ab").get_data(as_text=True)
    refused = change(client, initial, initial).get_data(as_text=True)
    assert "お送りした初期パスワードと同じパスワードは使えません。" in refused
    done = change(client, initial, NEW_PASSWORD).get_data(as_text=True)
    assert "パスワードを変更しました。" in done and "最新のご請求" in done
    assert client.get("/portal/documents/").status_code == 200
    client.post("/logout/")

    # the command again resets the same login: the new password works, the old ones do not
    again = cli(app, "portal-login", "M0001")
    assert "パスワードを再発行しました。" in again.output and "ログインID: m0001" in again.output
    second = re.search(r"初期パスワード: (\S+)（", again.output).group(1)
    assert "ログインできませんでした" in post_login(client, "m0001", NEW_PASSWORD).get_data(as_text=True)
    assert "ご自身のパスワードに変更してください" in post_login(client, "m0001", second).get_data(as_text=True)
    assert db.session.scalar(select(MemberAccount.id).where(MemberAccount.member_id == member_id)
                             .order_by(MemberAccount.id.desc()).limit(1)) == account.id  # still one login


def test_login_id_is_refused_as_the_password(client, db, app):
    members(db, "M0001")
    initial = re.search(r"初期パスワード: (\S+)（", cli(app, "portal-login", "M0001").output).group(1)
    post_login(client, "m0001", initial)
    # full-width and upper case fold to the login ID
    assert "ログインIDと同じパスワードは使えません" in change(client, initial, "Ｍ００01").get_data(as_text=True)
    members(db, "KAISHA-LONG1")
    result = cli(app, "portal-login", "KAISHA-LONG1", "--password", "KAISHA-long1")
    assert result.exit_code == 1 and "ログインIDと同じパスワードは使えません" in result.output


def test_a_password_given_on_the_command_line_is_not_forced_to_change(app, client, db):
    members(db, "M0002")
    result = cli(app, "portal-login", "M0002", "--password", NEW_PASSWORD)
    assert result.exit_code == 0, result.output
    assert "ログインID: m0002" in result.output and "初期パスワード" not in result.output
    assert NEW_PASSWORD not in result.output
    page = post_login(client, "m0002", NEW_PASSWORD).get_data(as_text=True)
    assert "最新のご請求" in page and "ご自身のパスワードに変更してください" not in page
    short = cli(app, "portal-login", "M0002", "--password", "short")
    assert short.exit_code == 1 and "10文字以上にしてください（入力は5文字）" in short.output
    unknown = cli(app, "portal-login", "NOPE")
    assert unknown.exit_code == 1 and "組合員コード「NOPE」の組合員は登録されていません。" in unknown.output


def test_a_login_waiting_for_its_first_change_reset_with_password_is_not_forced_to_change(app, client, db):
    members(db, "M0002")
    initial = re.search(r"初期パスワード: (\S+)（", cli(app, "portal-login", "M0002").output).group(1)
    reset = cli(app, "portal-login", "M0002", "--password", NEW_PASSWORD)
    assert reset.exit_code == 0, reset.output
    assert reset.output.splitlines()[-3:] == ["M0002 テスト運送M0002: 会員ページのパスワードを再発行しました。",
                                              "ログインID: m0002", "パスワード: 指定されたもの（変更は求めません）"]
    assert "ログインできませんでした" in post_login(client, "m0002", initial).get_data(as_text=True)
    page = post_login(client, "m0002", NEW_PASSWORD).get_data(as_text=True)
    assert "最新のご請求" in page and "ご自身のパスワードに変更してください" not in page
    assert client.get("/portal/documents/").status_code == 200


def test_staff_issue_singly_and_in_bulk_with_a_letter_per_member(client, db, tmp_path):
    members(db, "M0001", "M0002", "M0003")
    with acting_as("tester"):
        db.session.scalar(select(Member).where(Member.code == "M0003")).status = "withdrawn"
        db.session.commit()
    login(client, "staff", STAFF_PASSWORD)
    page = client.get("/portal-logins/").get_data(as_text=True)
    assert "未発行の組合員 2件に一括発行" in page  # M0003 has withdrawn
    single = client.post("/portal-logins/issue", data={"member_code": "M0001"})
    assert single.status_code == 200 and single.mimetype == "application/pdf"
    text = pdftotext(single.data, tmp_path)
    assert "会員ページ ご利用のご案内" in text and "m0001" in text and "テスト運送M0001 御中" in text
    assert "http://localhost/login/" in text
    initial = re.search(r"初期パスワード\s+(\S{4}-\S{4}-\S{4})", text).group(1)
    # a second login of the same member
    second = pdftotext(client.post("/portal-logins/issue", data={"member_code": "M0001"}).data, tmp_path)
    assert "m0001-2" in second
    bulk = client.post("/portal-logins/bulk")
    text = pdftotext(bulk.data, tmp_path)
    assert "m0002" in text and "m0001" not in text and "m0003" not in text
    assert "未発行の組合員 0件" in client.get("/portal-logins/").get_data(as_text=True)
    assert client.post("/portal-logins/issue", data={"member_code": "XX"}, follow_redirects=True) \
        .get_data(as_text=True).count("組合員コード「XX」の組合員は登録されていません。") == 1
    client.post("/logout/")
    assert "ご自身のパスワードに変更してください" in post_login(client, "m0001", initial).get_data(as_text=True)


def test_staff_reset_stop_unlock_and_read_the_login_history(app, client, db, tmp_path):
    members(db, "M0001")
    initial = re.search(r"初期パスワード: (\S+)（", cli(app, "portal-login", "M0001").output).group(1)
    post_login(client, "m0001", initial)
    change(client, initial, NEW_PASSWORD)
    client.post("/logout/")
    post_login(client, "m0001", "wrong-password-1")
    user_id = appbuilder.sm.find_user(username="m0001").id

    login(client, "staff", STAFF_PASSWORD)
    history = client.get(f"/portal-logins/history/{user_id}").get_data(as_text=True)
    for text in ("ログイン失敗", "パスワード変更", "本人がパスワードを変更しました", "ログアウト",
                 "事務局がポータルの初期パスワードを発行しました"):
        assert text in history, text
    # the successful login too, each row with the client address (「ログイン失敗」 alone contains 「ログイン」)
    rows = history.split('id="login-history"')[1]
    assert "パスワードでログインしました" in rows and "<td>ログイン</td>" in rows
    assert rows.count("<td>127.0.0.1</td>") >= 4
    client.post(f"/portal-logins/stop/{user_id}")
    assert "停止中" in client.get("/portal-logins/").get_data(as_text=True)
    client.post("/logout/")
    assert "ログインできませんでした" in post_login(client, "m0001", NEW_PASSWORD).get_data(as_text=True)
    login(client, "staff", STAFF_PASSWORD)
    client.post(f"/portal-logins/restart/{user_id}")
    letter = client.post(f"/portal-logins/reset/{user_id}")
    reset = re.search(r"初期パスワード\s+(\S{4}-\S{4}-\S{4})", pdftotext(letter.data, tmp_path)).group(1)
    # staff may not reset a staff login through this screen
    assert client.post(f"/portal-logins/reset/{appbuilder.sm.find_user(username='staff').id}").status_code == 404
    client.post("/logout/")
    assert "ご自身のパスワードに変更してください" in post_login(client, "m0001", reset).get_data(as_text=True)


def test_a_member_login_is_locked_after_the_threshold_and_staff_unlock_it(app, client, db):
    members(db, "M0001")
    cli(app, "portal-login", "M0001", "--password", NEW_PASSWORD)
    appbuilder.sm.limiter.enabled = False
    try:
        for _ in range(app.config["AUTH_LOCKOUT_THRESHOLD"]):
            post_login(client, "m0001", "wrong-password-1")
        assert "ログインできませんでした" in post_login(client, "m0001", NEW_PASSWORD).get_data(as_text=True)
    finally:
        appbuilder.sm.limiter.enabled = True
    user_id = appbuilder.sm.find_user(username="m0001").id
    login(client, "staff", STAFF_PASSWORD)
    assert "ロック中" in client.get("/portal-logins/").get_data(as_text=True)
    client.post(f"/portal-logins/unlock/{user_id}")
    history = client.get(f"/portal-logins/history/{user_id}").get_data(as_text=True)
    assert "<td>ロック</td>" in history and "<td>ロック解除</td>" in history and "事務局がロックを解除しました" in history
    client.post("/logout/")
    assert "最新のご請求" in post_login(client, "m0001", NEW_PASSWORD).get_data(as_text=True)


def test_a_member_session_ends_on_the_server_at_logout_and_at_a_password_change(app, client, db):
    """Item 5 for member logins: a copied session cookie is worthless after logout, and changing the password
    on the portal's own page ends the login's other sessions."""
    from .test_security_sessions import cookie, forget_cached_user, fresh_client

    members(db, "M0001")
    cli(app, "portal-login", "M0001", "--password", NEW_PASSWORD)
    post_login(client, "m0001", NEW_PASSWORD)
    copied = cookie(client)
    assert fresh_client(app, copied).get("/portal/").status_code == 200
    client.post("/logout/")
    forget_cached_user()
    assert fresh_client(app, copied).get("/portal/").status_code == 302

    phone, desk = app.test_client(), app.test_client()
    post_login(phone, "m0001", NEW_PASSWORD)
    forget_cached_user()
    post_login(desk, "m0001", NEW_PASSWORD)
    forget_cached_user()
    assert "パスワードを変更しました。" in change(desk, NEW_PASSWORD, "kiso-hotaka-yari-8").get_data(as_text=True)
    forget_cached_user()
    assert desk.get("/portal/").status_code == 200
    forget_cached_user()
    assert phone.get("/portal/").status_code == 302


def test_member_logins_are_rate_limited_per_address(app, client, db):
    members(db, "M0001")
    cli(app, "portal-login", "M0001", "--password", NEW_PASSWORD)
    statuses = [client.post("/login/", data={"username": "m0001", "password": f"guess-{i}"}).status_code
                for i in range(35)]
    assert 429 in statuses and statuses.index(429) <= 30
    assert "短い時間にログインの操作が多すぎます" in client.post(
        "/login/", data={"username": "m0001", "password": NEW_PASSWORD}).get_data(as_text=True)


def test_the_initial_password_hash_never_reaches_the_audit_log(app, db):
    members(db, "M0001")
    cli(app, "portal-login", "M0001")
    hashed = db.session.scalar(select(MemberAccount.initial_password_hash))
    for before, after in db.session.execute(select(AuditLog.before, AuditLog.after)):
        assert hashed not in str(before) + str(after)
        assert "initial_password_hash" not in str(before) + str(after)


def test_managers_read_the_logins_but_do_not_issue(client, db):
    members(db, "M0001")
    from tests.conftest import MANAGER_PASSWORD

    login(client, "manager", MANAGER_PASSWORD)
    assert client.get("/portal-logins/").status_code == 200
    response = client.post("/portal-logins/bulk")
    assert response.status_code in (302, 403) and response.mimetype != "application/pdf"
    assert db.session.scalar(select(MemberAccount.id)) is None

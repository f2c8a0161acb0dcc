"""Tollbook's FAB security manager (config FAB_SECURITY_MANAGER_CLASS) and its login screens.

What it changes from FAB 5.3's own (docs/security.md):
- the JSON login API (/api/v1/security/login, /refresh) is not registered: nothing uses it, and FAB 5
  ties it to FAB_ADD_SECURITY_VIEWS, which would also remove the login screen (issue 8 §4);
- logout is a POST with the form's CSRF token, so another site cannot log a user out (§16);
- an account is locked after AUTH_LOCKOUT_THRESHOLD failed logins in a row for AUTH_LOCKOUT_MINUTES
  (or until an administrator unlocks it), on top of FAB's per-address AUTH_RATE_LIMIT (§3); every
  failure shows one message that does not tell whether the login exists;
- passwords follow app/domain/password_policy.py; changing one's own needs the current one; a
  password set by an administrator must be changed at the next login (§5);
- sessions (app/security/sessions.py) get a new id at login, end at logout, and a password change
  ends the user's other sessions, an administrator's reset all of them (§6).
"""
import time

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_appbuilder.models.sqla.filters import FilterNotEqual
from flask_appbuilder.actions import action
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.decorators import no_cache
from flask_appbuilder.security.forms import LoginForm_db
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import (AuthDBView, ResetMyPasswordView, ResetPasswordView, RoleModelView,
                                             UserDBModelView)
from flask_appbuilder.utils.base import get_safe_redirect
from flask_appbuilder.validators import PasswordComplexityValidator
from flask_appbuilder.views import expose
from flask_babel import lazy_gettext
from flask_login import login_user, logout_user
from werkzeug.security import check_password_hash
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo

from app.services import accounts, security_audit, two_factor

from .passwords import RULES, ChangeMyPasswordForm, SetPasswordForm
from .roles import ROLE_MEMBER
from .sessions import IDLE_KEY
from .two_factor_views import PENDING, SESSION_MUST_ENROL, TwoFactorView, limit_attempts

# One message for every failure (wrong password, unknown login, locked account): it never tells
# whether the login exists.
LOGIN_FAILED = ("ログインできませんでした。ユーザー名とパスワードをご確認ください。"
                "続けて間違えると、しばらくの間ログインできなくなります。")
MUST_CHANGE = "管理者が設定したパスワードでログインしました。続けるには、ご自身のパスワードに変更してください。"
SESSION_MUST_CHANGE = "tollbook_must_change_password"


class NoJsonLoginSecurityApi(SecurityApi):
    """FAB's security API without its two routes: the class attributes hide the exposed methods, so
    /api/v1/security/login and /refresh answer 404."""

    login = None
    refresh = None


def complete_login(user, next_url: str, how: str):
    """The user is who they say: log in, then the password change or the two-factor enrolment that
    must come first."""
    from app.extensions import appbuilder

    sm = appbuilder.sm
    # A new session id at login: an id planted before the login (session fixation) is worthless.
    current_app.session_interface.regenerate(session)
    login_user(user, remember=False)
    member = {role.name for role in user.roles} == {ROLE_MEMBER}
    session[IDLE_KEY] = current_app.config["SESSION_IDLE_MINUTES_MEMBER" if member else "SESSION_IDLE_MINUTES"]
    security_audit.record("login", user.username, user.id, f"{how}でログインしました")
    if two_factor.is_required(user) and not two_factor.is_enabled(user.id):
        session[SESSION_MUST_ENROL] = True
    if accounts.must_change_password(user.id):
        session[SESSION_MUST_CHANGE] = True
        if {role.name for role in user.roles} != {ROLE_MEMBER}:  # the portal's page says it in its own words
            flash(MUST_CHANGE, "warning")
        return redirect(password_change_url(user))
    if session.get(SESSION_MUST_ENROL):  # the setup page itself says why
        return redirect(url_for("TwoFactorView.setup"))
    return redirect(next_url or appbuilder.get_url_for_index)


def password_change_url(user) -> str:
    """Where the user changes its own password: a member on the portal's page, staff on FAB's form."""
    from app.extensions import appbuilder

    if {role.name for role in user.roles} == {ROLE_MEMBER}:
        return url_for("PortalView.password")
    return url_for(f"{appbuilder.sm.resetmypasswordview.__name__}.this_form_get")


def change_own_password(user, password: str) -> None:
    """The signed-in user chose a new password (the form checked the current one and the rules): store it,
    end the user's other sessions (a copied cookie dies), go on under a new id, audit. The back office's
    パスワードを変更 and the member portal's page both end here."""
    from app.extensions import appbuilder

    appbuilder.sm.reset_password(user.id, password)
    accounts.password_changed_by_owner(user.id)
    session.pop(SESSION_MUST_CHANGE, None)
    current_app.session_interface.end_user_sessions(user.id, keep_sid=session.sid)
    current_app.session_interface.regenerate(session)
    security_audit.record("password", user.username, user.id, "本人がパスワードを変更しました")


class TollbookAuthDBView(AuthDBView):
    invalid_login_message = LOGIN_FAILED

    @expose("/login/", methods=["GET", "POST"])
    @no_cache
    def login(self):
        if g.user is not None and g.user.is_authenticated:
            return redirect(self._get_safe_next_url())
        form = LoginForm_db()
        if form.validate_on_submit():
            next_url = get_safe_redirect(request.args.get("next", ""))
            user = self.appbuilder.sm.auth_user_db(form.username.data, form.password.data)
            if not user:
                flash(LOGIN_FAILED, "warning")
                return redirect(self.appbuilder.get_url_for_login_with(next_url))
            if two_factor.is_enabled(user.id):
                # The password was right; the login waits for the authenticator's code.
                session[PENDING] = {"user_id": user.id, "next": next_url, "at": time.time()}
                return redirect(url_for("TwoFactorView.code"))
            return complete_login(user, next_url, how="パスワード")
        return self.render_template(self.login_template, title=self.title, form=form, appbuilder=self.appbuilder)

    @expose("/logout/", methods=["POST"])
    def logout(self):
        # POST only (CSRFProtect checks the token of the menu's form); a GET answers 405.
        user = self._get_authenticated_user()
        logout_user()
        session.clear()  # an empty session: its row is deleted and the cookie removed
        if user is not None:
            self.appbuilder.sm.on_user_logout(user)
            security_audit.record("logout", user.username, user.id, "ログアウトしました")
        return redirect(current_app.config.get("LOGOUT_REDIRECT_URL", self.appbuilder.get_url_for_login))


class TollbookResetMyPasswordView(ResetMyPasswordView):
    """パスワードを変更: the current password first, then the new one twice."""

    class_permission_name = "ResetMyPasswordView"  # FAB's name: roles.py and granted permissions use it
    form = ChangeMyPasswordForm
    form_title = "パスワードの変更"
    message = "パスワードを変更しました。"

    def form_post(self, form) -> None:
        change_own_password(g.user, form.password.data)
        flash(self.message, "info")


class TollbookResetPasswordView(ResetPasswordView):
    """An administrator sets another user's password; its owner must change it at next login."""

    class_permission_name = "ResetPasswordView"
    form = SetPasswordForm
    form_title = "パスワードの再設定"
    message = "パスワードを設定しました。このユーザーは次のログインでパスワードの変更が必要です。"

    def form_post(self, form) -> None:
        user_id = request.args.get("pk", type=int)
        self.appbuilder.sm.reset_password(user_id, form.password.data)
        accounts.password_set_by_admin(user_id)
        current_app.session_interface.end_user_sessions(user_id)
        target = self.appbuilder.sm.get_user_by_id(user_id)
        security_audit.record("password", target.username, user_id, "管理者がパスワードを再設定しました（次のログインで変更が必要）",
                              actor="current")
        flash(self.message, "info")


class TollbookUserDBModelView(UserDBModelView):
    class_permission_name = "UserDBModelView"
    # FAB's anonymous role "Public" is not a role a person is given (issue 9 item 12).
    add_form_query_rel_fields = edit_form_query_rel_fields = {"roles": [["name", FilterNotEqual, "Public"]]}
    add_form_extra_fields = {
        "password": PasswordField(lazy_gettext("Password"), description=RULES,
                                  validators=[DataRequired(), PasswordComplexityValidator()],
                                  widget=BS3PasswordFieldWidget()),
        "conf_password": PasswordField(lazy_gettext("Confirm Password"),
                                       description="確認のため、もう一度入力してください。",
                                       validators=[DataRequired(), EqualTo(
                                           "password", message=lazy_gettext("Passwords must match"))],
                                       widget=BS3PasswordFieldWidget()),
    }

    def post_add(self, item) -> None:
        # The administrator chose this password: the new user replaces it at first login.
        accounts.password_set_by_admin(item.id)

    @action("unlock", "ロック解除", "選んだユーザーのログインロックを解除します。よろしいですか？", "fa-unlock")
    def unlock(self, items):
        for item in items if isinstance(items, list) else [items]:
            if accounts.unlock(item):
                security_audit.record("unlock", item.username, item.id, "管理者がロックを解除しました", actor="current")
                flash(f"{item.username} のログインロックを解除しました。", "info")
            else:
                flash(f"{item.username} はロックされていません（失敗回数を0に戻しました）。", "info")
        return redirect(self.get_redirect())

    @action("reset_2fa", "2段階認証をリセット",
            "選んだユーザーの2段階認証を解除します（端末をなくしたとき）。次のログインで設定し直します。よろしいですか？",
            "fa-mobile")
    def reset_2fa(self, items):
        for item in items if isinstance(items, list) else [items]:
            if two_factor.disable(item.id):
                current_app.session_interface.end_user_sessions(item.id)
                security_audit.record("2fa_off", item.username, item.id, "管理者が2段階認証をリセットしました",
                                      actor="current")
                flash(f"{item.username} の2段階認証をリセットしました。次のログインで設定し直します。", "info")
            else:
                flash(f"{item.username} は2段階認証を使っていません。", "info")
        return redirect(self.get_redirect())


class TollbookRoleModelView(RoleModelView):
    """Roles with their permissions in Japanese, one per line (issue 9 item 12)."""

    class_permission_name = "RoleModelView"
    label_columns = {"name": "ロール名", "permissions": "権限", "permission_text": "権限"}
    list_columns = show_columns = ["name", "permission_text"]


class TollbookSecurityManager(SecurityManager):
    security_api = NoJsonLoginSecurityApi
    # FAB's user statistics chart loads its script from the internet and stays blank offline (issue 9
    # item 12): not registered.
    userstatschartview = None
    authdbview = TollbookAuthDBView
    resetmypasswordview = TollbookResetMyPasswordView
    resetpasswordview = TollbookResetPasswordView
    userdbmodelview = TollbookUserDBModelView
    rolemodelview = TollbookRoleModelView

    def register_views(self):
        super().register_views()
        from .permission_labels import install

        install()
        two_factor_view = self.appbuilder.add_view_no_menu(TwoFactorView())
        # Guessing the current password on the change form, or the code, counts like guessing at the login.
        limit_attempts(self.appbuilder, two_factor_view)
        for view in self.appbuilder.baseviews:
            if isinstance(view, TollbookResetMyPasswordView):
                limit_attempts(self.appbuilder, view)

    def auth_user_db(self, username, password):
        user = self.find_user(username=username) if username else None
        if user is None and username:
            user = self.find_user(email=username)
        if user is not None and accounts.is_locked(user):
            # Same work and same answer as a wrong password, so a lock does not reveal the login.
            check_password_hash(current_app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"], "password")
            security_audit.record("login_fail", user.username, user.id, "ロック中のためログインを断りました")
            return None
        found = super().auth_user_db(username, password)
        if found is None and user is None and username:
            security_audit.record("login_fail", username, None, "存在しないユーザー名、または無効なユーザーです")
        return found

    def update_user_auth_stat(self, user, success=True, second_factor=False):
        # With two-factor on, the password alone is not a login: the failures are not reset and the
        # login is not counted until the code is right.
        if success and not second_factor and two_factor.is_enabled(user.id):
            return
        super().update_user_auth_stat(user, success)

    def on_user_login_failed(self, user) -> None:
        what = g.get("tollbook_failed_step", "パスワードが違います")
        security_audit.record("login_fail", user.username, user.id, f"{what}（{user.fail_login_count}回続けて失敗）")
        if accounts.lock_if_too_many_failures(user):
            security_audit.record("lock", user.username, user.id,
                                  f"{user.fail_login_count}回続けて失敗したため、"
                                  f"{current_app.config['AUTH_LOCKOUT_MINUTES']}分間ロックしました")

    def add_user(self, *args, **kwargs):
        user = super().add_user(*args, **kwargs)
        if user:
            accounts.forget(user.id)
        return user

"""Screens of two-factor authentication (issue 8 §8): the code after the password, enrolment with a
locally drawn QR code and recovery codes, and switching it off where it is optional."""
import time

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import no_cache
from flask_login import current_user
from markupsafe import Markup
from werkzeug.security import check_password_hash

from app.services import security_audit, two_factor

PENDING = "tollbook_2fa_pending"  # {user_id, next, at}: the password was right, the code is awaited
ENROLMENT = "tollbook_2fa_secret"  # the secret shown as a QR code until a first code confirms it
SESSION_MUST_ENROL = "tollbook_must_enrol_2fa"
PENDING_SECONDS = 300


class TwoFactorView(BaseView):
    route_base = "/two-factor"
    default_view = "code"

    # --- the code after the password ---------------------------------------------------------

    def _pending_user(self):
        pending = session.get(PENDING)
        if not pending or time.time() - pending["at"] > PENDING_SECONDS:
            session.pop(PENDING, None)
            return None, None
        return self.appbuilder.sm.get_user_by_id(pending["user_id"]), pending.get("next") or ""

    @expose("/", methods=["GET", "POST"])
    @no_cache
    def code(self):
        from app.services import accounts

        from .manager import LOGIN_FAILED, complete_login

        sm = self.appbuilder.sm
        user, next_url = self._pending_user()
        if user is None:
            flash("確認の時間が過ぎました。もう一度ログインしてください。", "warning")
            return redirect(self.appbuilder.get_url_for_login)
        error = None
        if request.method == "POST":
            if accounts.is_locked(user):
                session.pop(PENDING, None)
                flash(LOGIN_FAILED, "warning")
                return redirect(self.appbuilder.get_url_for_login)
            kind = two_factor.verify(user.id, request.form.get("code", ""))
            if kind:
                session.pop(PENDING, None)
                sm.update_user_auth_stat(user, True, second_factor=True)
                if kind == "recovery":
                    flash(f"回復コードを使いました（残り{two_factor.recovery_codes_left(user.id)}個）。"
                          "端末をなくした場合は、2段階認証を設定し直してください。", "warning")
                return complete_login(user, next_url, how="パスワードと" + ("回復コード" if kind == "recovery" else "確認コード"))
            g.tollbook_failed_step = "確認コードが違います"
            sm.update_user_auth_stat(user, False)  # counts towards the lock like a wrong password (audited there)
            error = "確認コードが違います。認証アプリに表示されている6桁の数字を入力してください。"
        return self.render_template("tollbook/two_factor_code.html", error=error, appbuilder=self.appbuilder)

    # --- enrolment ---------------------------------------------------------------------------

    @expose("/setup", methods=["GET", "POST"])
    @no_cache
    def setup(self):
        if not current_user.is_authenticated:
            return redirect(self.appbuilder.get_url_for_login_with(request.path))
        user = self.appbuilder.sm.get_user_by_id(g.user.id)
        if not two_factor.is_offered(user):
            flash("このユーザーには2段階認証はありません。", "warning")
            return redirect(self.appbuilder.get_url_for_index)
        enabled = two_factor.is_enabled(user.id)
        error = None
        if request.method == "POST" and not enabled:
            secret = session.get(ENROLMENT)
            if secret and two_factor.confirm_first_code(secret, request.form.get("code", "")):
                codes = two_factor.enable(user.id, secret)
                session.pop(ENROLMENT, None)
                session.pop(SESSION_MUST_ENROL, None)
                security_audit.record("2fa_on", user.username, user.id, "認証アプリを登録しました")
                return self.render_template("tollbook/two_factor_recovery.html", codes=codes, appbuilder=self.appbuilder)
            error = "確認コードが違います。QRコードを読み取ったアプリに表示されている6桁の数字を入力してください。"
        secret = None
        qr = None
        if not enabled:
            secret = session.get(ENROLMENT) or two_factor.new_secret()
            session[ENROLMENT] = secret
            qr = Markup(two_factor.qr_svg(two_factor.provisioning_uri(secret, user.username)))
        return self.render_template("tollbook/two_factor_setup.html", enabled=enabled, secret=secret, qr=qr,
                                    error=error, required=two_factor.is_required(user),
                                    codes_left=two_factor.recovery_codes_left(user.id), appbuilder=self.appbuilder)

    @expose("/disable", methods=["POST"])
    def disable(self):
        if not current_user.is_authenticated:
            return redirect(self.appbuilder.get_url_for_login)
        user = self.appbuilder.sm.get_user_by_id(g.user.id)
        if two_factor.is_required(user):
            flash("管理者と責任者は2段階認証を解除できません。", "danger")
        elif not check_password_hash(user.password, request.form.get("password", "")):
            flash("パスワードが違います。2段階認証は解除していません。", "danger")
        elif two_factor.disable(user.id):
            security_audit.record("2fa_off", user.username, user.id, "本人が解除しました")
            flash("2段階認証を解除しました。", "info")
        return redirect(url_for("TwoFactorView.setup"))


def two_factor_menu_visible() -> bool:
    return bool(current_user.is_authenticated and two_factor.is_offered(current_user))


def limit_attempts(appbuilder, view) -> None:
    """The code form counts per address like the login screen (FAB's AUTH_RATE_LIMIT)."""
    sm = appbuilder.sm
    if sm.is_auth_limited:
        sm.limiter.limit(current_app.config["AUTH_RATE_LIMIT"], methods=["POST"])(view.blueprint)

"""会員ページのログイン (staff): issue logins one at a time or in bulk (a PDF letter per member, made in the
request and never stored), reset a password (a new letter), stop and restart a login, lift a lock, and read
a login's history. 事務 issue and reset; 責任者 read (app/security/roles.py). docs/portal.md."""
from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from sqlalchemy import select

from app.domain.errors import DomainError
from app.extensions import appbuilder, db
from app.models import OperatorSettings
from app.models.notice import NOTICE_STATUSES
from app.queries import portal_logins as queries
from app.services import accounts, portal_logins, security_audit

from .documents import send_stored
from .formatting import date_jp


def _login_url() -> str:
    return current_app.config.get("PORTAL_URL") or url_for("TollbookAuthDBView.login", _external=True)


def _letters(issued) -> object:
    from app.documents.portal_letter import login_letters_pdf
    from app.domain.clock import today_jst

    pdf = login_letters_pdf(issued, db.session.scalar(select(OperatorSettings)), _login_url())
    name = (f"会員ページのご案内_{issued[0].member_code}_{today_jst():%Y%m%d}.pdf" if len(issued) == 1
            else f"会員ページのご案内_{len(issued)}件_{today_jst():%Y%m%d}.pdf")
    return send_stored(pdf, name, "pdf")


class PortalLoginView(BaseView):
    route_base = "/portal-logins"
    default_view = "list"
    base_permissions = ["can_list", "can_issue"]
    method_permission_name = {"list": "list", "history": "list", "notices": "list", "issue": "issue",
                              "bulk": "issue", "reset": "issue", "stop": "issue", "restart": "issue",
                              "unlock": "issue", "resend": "issue"}

    @expose("/")
    @has_access
    def list(self):
        text = request.args.get("q", "")
        page = max(request.args.get("page", 0, type=int), 0)
        rows, total = queries.member_logins(text, page)
        return self.render_template("tollbook/portal_logins.html", rows=rows, total=total, page=page, q=text,
                                    page_size=queries.PAGE, missing=len(portal_logins.members_without_login()),
                                    date_jp=date_jp, login_url=_login_url())

    def _back(self):
        return redirect(url_for("PortalLoginView.list", q=request.form.get("q") or None))

    @expose("/issue", methods=["POST"])
    @has_access
    def issue(self):
        """A new login for one member (another one if it has some): the letter PDF is the answer."""
        try:
            issued = portal_logins.create_login((request.form.get("member_code") or "").strip())
        except DomainError as error:
            flash(error.message, "danger")
            return self._back()
        return _letters([issued])

    @expose("/bulk", methods=["POST"])
    @has_access
    def bulk(self):
        issued = portal_logins.issue_missing_logins()
        if not issued:
            flash("ログインが未発行の組合員はいません。", "info")
            return self._back()
        return _letters(issued)

    @expose("/reset/<int:user_id>", methods=["POST"])
    @has_access
    def reset(self, user_id):
        try:
            issued = portal_logins.reset_login(user_id)
        except DomainError:
            abort(404)
        return _letters([issued])

    @expose("/stop/<int:user_id>", methods=["POST"])
    @has_access
    def stop(self, user_id):
        return self._set_stopped(user_id, True)

    @expose("/restart/<int:user_id>", methods=["POST"])
    @has_access
    def restart(self, user_id):
        return self._set_stopped(user_id, False)

    def _set_stopped(self, user_id: int, stopped: bool):
        try:
            portal_logins.set_login_stopped(user_id, stopped)
        except DomainError:
            abort(404)
        login = queries.portal_login(user_id)
        flash(f"{login[0]} の会員ページのログインを{'停止' if stopped else '再開'}しました。", "info")
        return self._back()

    @expose("/unlock/<int:user_id>", methods=["POST"])
    @has_access
    def unlock(self, user_id):
        if queries.portal_login(user_id) is None:
            abort(404)
        user = appbuilder.sm.get_user_by_id(user_id)
        if accounts.unlock(user):
            security_audit.record("unlock", user.username, user.id, "事務局がロックを解除しました", actor="current")
            flash(f"{user.username} のログインロックを解除しました。", "info")
        else:
            flash(f"{user.username} はロックされていません（失敗回数を0に戻しました）。", "info")
        return self._back()

    @expose("/history/<int:user_id>")
    @has_access
    def history(self, user_id):
        login = queries.portal_login(user_id)
        if login is None:
            abort(404)
        return self.render_template("tollbook/portal_login_history.html", login=login,
                                    rows=queries.login_history(user_id), date_jp=date_jp)

    # ---- お知らせメールの送信記録 ------------------------------------------------------------------

    @expose("/notices/")
    @has_access
    def notices(self):
        month = request.args.get("month") or None
        months, rows = queries.notice_log(month)
        return self.render_template("tollbook/portal_notices.html", rows=rows, months=months, month=month,
                                    date_jp=date_jp, mail_server=current_app.config.get("MAIL_SERVER"),
                                    statuses=NOTICE_STATUSES)

    @expose("/notices/resend/<int:notice_id>", methods=["POST"])
    @has_access
    def resend(self, notice_id):
        from app.jobs.notices import start_sending
        from app.services.notices import resend

        if resend(notice_id):
            start_sending(current_app._get_current_object())
            flash("再送します。結果はこの画面に表示します。", "info")
        return redirect(url_for("PortalLoginView.notices", month=request.form.get("month") or None))

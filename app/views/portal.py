"""会員ポータル (docs/portal.md): a member reads its own documents, cards and vehicles, with a layout of its
own (templates/portal/, no back-office menus), on a phone as on a desk.

Isolation by construction:
- the member is the one linked to the login (member_account), never a parameter of the request;
- every query (app/queries/portal.py) filters by that member in the query itself;
- files are found by their random token AND that member AND the 6-month window: anything else is 404;
- a login whose only role is 組合員 reaches nothing but these pages (`member_only_guard`, tested over
  every route of the app in tests/integration/test_portal_isolation.py).
"""
from flask import abort, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import MemberAccount, OperatorSettings
from app.queries import portal as queries
from app.security.roles import ROLE_MEMBER

from .documents import kind_title, send_stored
from .formatting import date_jp, yen

PDF_MIMETYPE = "application/pdf"


def current_member_id() -> int | None:
    """The member this login may see; every portal query filters by it."""
    return db.session.scalar(select(MemberAccount.member_id).where(MemberAccount.user_id == current_user.id))


def is_member_only(user) -> bool:
    """A login whose only role is 組合員: the portal is all it may reach."""
    return bool(user is not None and user.is_authenticated and {r.name for r in user.roles} == {ROLE_MEMBER})


def is_member_login() -> bool:
    return current_user.is_authenticated and any(r.name == ROLE_MEMBER for r in current_user.roles)


def has_member_link() -> bool:
    """The menu's 「ポータル」 entry: any login linked to a member (a member, or staff who switch to it)."""
    return current_user.is_authenticated and current_member_id() is not None


# Endpoints a member-only login may reach besides the portal's own: logging in and out, the start page
# (which sends members to the portal) and static files. Everything else answers 403.
MEMBER_ALLOWED = {"static", "appbuilder.static", "TollbookIndexView.index", "TollbookAuthDBView.login",
                  "TollbookAuthDBView.logout"}


def install_member_guard(app) -> None:
    """A member-only login gets 403 on every endpoint that is not the portal's (back-office screens,
    FAB's REST API /api/v1/…, exports, the audit log, the user screens), whatever the role table says."""
    from app.security.manager import TollbookResetMyPasswordView

    change_own = {f"{TollbookResetMyPasswordView.__name__}.this_form_get",
                  f"{TollbookResetMyPasswordView.__name__}.this_form_post"}

    @app.before_request
    def member_only_guard():
        endpoint = request.endpoint
        if endpoint is None or endpoint in MEMBER_ALLOWED or endpoint.startswith("PortalView."):
            return None
        if not is_member_only(current_user):
            return None
        if endpoint in change_own:  # members change their password on the portal's own page (307: a POST stays one)
            return redirect(url_for("PortalView.password"), code=307 if request.method == "POST" else 302)
        abort(403)

    # runs before FAB's and the password-change guard: a member never sees a back-office page
    app.before_request_funcs[None].insert(0, app.before_request_funcs[None].pop())


class PortalView(BaseView):
    route_base = "/portal"
    default_view = "index"
    base_permissions = ["can_index", "can_download", "can_password"]
    method_permission_name = {"index": "index", "documents": "index", "cards": "index", "file": "download",
                              "password": "password"}

    def _member_id(self) -> int:
        member_id = current_member_id()
        if member_id is None:  # a login linked to no member sees no member's data
            from flask import make_response

            from app.labels import member_term

            abort(make_response(self._render("tollbook/portal_unlinked.html", member_id=None,
                                             member_term=member_term()), 403))
        return member_id

    def _render(self, template: str, **context):
        member_id = context.pop("member_id")
        operator = db.session.scalar(select(OperatorSettings))
        member = queries.member_summary(db.session, member_id) if member_id is not None else None
        return self.render_template(template, member=member,
                                    operator_name=operator.name if operator else "",
                                    operator_phone=operator.phone if operator else "",
                                    member_only=is_member_only(current_user), yen=yen, date_jp=date_jp,
                                    kind_title=kind_title, kinds=queries.KIND_ORDER, **context)

    @expose("/")
    @has_access
    def index(self):
        member_id = self._member_id()
        months = queries.portal_months(db.session, member_id)
        latest = next((m.invoice for m in months if m.invoice is not None), None)
        return self._render("portal/index.html", member_id=member_id, latest=latest,
                            latest_month=months[0] if months else None)

    @expose("/documents/")
    @has_access
    def documents(self):
        member_id = self._member_id()
        months = queries.portal_months(db.session, member_id)
        older = queries.older_months(db.session, member_id, [m.month for m in months])
        return self._render("portal/documents.html", member_id=member_id, months=months, older=older,
                            window=queries.PORTAL_MONTHS)

    @expose("/cards/")
    @has_access
    def cards(self):
        member_id = self._member_id()
        return self._render("portal/cards.html", member_id=member_id,
                            cards=queries.member_cards(db.session, member_id),
                            vehicles=queries.member_vehicles(db.session, member_id))

    @expose("/file/<token>")
    @has_access
    def file(self, token):
        found = queries.portal_file(db.session, self._member_id(), token)
        if found is None:
            abort(404)
        from app.domain.document_names import download_file_name

        name = download_file_name(kind_title(found.kind, found.payment_method), found.member_code, found.month,
                                  found.format)
        response = send_stored(found.content, name, found.format)
        if found.format == "pdf" and request.args.get("open") == "1":
            # 「開く」: shown by the browser's PDF viewer instead of saved
            response.headers["Content-Disposition"] = response.headers["Content-Disposition"].replace(
                "attachment", "inline", 1)
        return response

    @expose("/password", methods=["GET", "POST"])
    @has_access
    def password(self):
        from app.security.passwords import ChangeMyPasswordForm
        from app.security.manager import SESSION_MUST_CHANGE, change_own_password
        from flask import flash, session

        member_id = current_member_id()  # a login linked to no member may still change its password
        form = ChangeMyPasswordForm()
        if form.validate_on_submit():
            change_own_password(g.user, form.password.data)
            flash("パスワードを変更しました。", "info")
            return redirect(url_for("PortalView.index"))
        return self._render("portal/password.html", member_id=member_id, form=form,
                            must_change=bool(session.get(SESSION_MUST_CHANGE)))

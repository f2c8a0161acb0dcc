from flask import redirect, request, url_for
from flask_appbuilder import IndexView, expose
from flask_login import current_user

from app.domain.clock import today_jst
from app.domain.errors import DomainError
from app.domain.month import Month
from app.security.roles import ROLE_MEMBER

from .formatting import yen


class TollbookIndexView(IndexView):
    """Members go to their portal; staff and managers see the month's checklist (issue 9 item 9)."""

    index_template = "tollbook/index.html"

    @expose("/")
    def index(self):
        if not current_user.is_authenticated:
            return self.render_template(self.index_template, appbuilder=self.appbuilder)
        roles = {r.name for r in current_user.roles}
        if roles == {ROLE_MEMBER}:
            return redirect(url_for("PortalView.index"))
        from app.services.month_checklist import month_checklist, working_month

        try:
            month = str(Month.of(request.args.get("month"))) if request.args.get("month") else None
        except DomainError:
            month = None
        month = month or working_month(today_jst())
        sm = self.appbuilder.sm
        return self.render_template(
            self.index_template, appbuilder=self.appbuilder, checklist=month_checklist(month),
            month_label=Month.of(month).label,
            previous=str(Month.of(month).previous()), following=str(Month.of(month).next()),
            can_bill=sm.has_access("can_list", "BillingView"), can_upload=sm.has_access("can_upload", "UsageUploadView"),
            yen=yen)

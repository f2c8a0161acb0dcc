from flask import redirect, url_for
from flask_appbuilder import IndexView, expose
from flask_login import current_user

from app.security.roles import ROLE_MEMBER


class TollbookIndexView(IndexView):
    """Members go to their portal; staff see the back-office start page."""

    index_template = "tollbook/index.html"

    @expose("/")
    def index(self):
        if current_user.is_authenticated and {r.name for r in current_user.roles} == {ROLE_MEMBER}:
            return redirect(url_for("PortalView.index"))
        return self.render_template(self.index_template, appbuilder=self.appbuilder)

"""Tollbook's FAB security manager (config FAB_SECURITY_MANAGER_CLASS).

What it changes from FAB 5.3's own:
- the JSON login API (/api/v1/security/login, /refresh) is not registered: nothing uses it, and FAB 5
  ties it to FAB_ADD_SECURITY_VIEWS, which would also remove the login screen (issue 8 §4);
- logout is a POST with the form's CSRF token, so another site cannot log a user out (§16).
"""
from flask import current_app, redirect
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import AuthDBView
from flask_appbuilder.views import expose
from flask_login import logout_user


class NoJsonLoginSecurityApi(SecurityApi):
    """FAB's security API without its two routes: the class attributes hide the exposed methods, so
    /api/v1/security/login and /refresh answer 404."""

    login = None
    refresh = None


class TollbookAuthDBView(AuthDBView):
    @expose("/logout/", methods=["POST"])
    def logout(self):
        # POST only (CSRFProtect checks the token of the menu's form); a GET answers 405.
        user = self._get_authenticated_user()
        logout_user()
        if user is not None:
            self.appbuilder.sm.on_user_logout(user)
        return redirect(current_app.config.get("LOGOUT_REDIRECT_URL", self.appbuilder.get_url_for_login))


class TollbookSecurityManager(SecurityManager):
    security_api = NoJsonLoginSecurityApi
    authdbview = TollbookAuthDBView

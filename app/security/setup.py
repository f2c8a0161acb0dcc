"""Security set-up of the Flask app (docs/security.md): `init_security` before anything is bound,
`install_request_guards` once AppBuilder has registered its views."""
import sys

from flask import Flask, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from .secret_key import SecretKeyError, check_key


def check_secret_key(app: Flask) -> None:
    """Production refuses to start without a SECRET_KEY of its own: with a known key anyone can sign
    an administrator's session cookie (issue 8 §1). Exit status 1 with the reason on stderr, whatever
    started the app (make serve, flask, a WSGI server)."""
    if app.config.get("TOLLBOOK_ENV") != "production":
        return
    try:
        check_key(app.config.get("SECRET_KEY"))
    except SecretKeyError as error:
        print(f"Tollbook を起動できません: {error}", file=sys.stderr)
        raise SystemExit(1) from None


def init_security(app: Flask) -> None:
    from . import rate_limits  # noqa: F401  registers the tollbook+db:// storage before FAB makes its limiter
    from .headers import install_security_headers
    from .passwords import validate_password

    check_secret_key(app)
    install_security_headers(app)
    app.config.setdefault("FAB_PASSWORD_COMPLEXITY_VALIDATOR", validate_password)
    proxies = int(app.config.get("TOLLBOOK_TRUSTED_PROXIES") or 0)
    if proxies:
        # The client's address (rate limits) and scheme (secure cookies) from the proxy's headers.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)


def install_request_guards(app: Flask) -> None:
    from app.extensions import appbuilder

    from .manager import MUST_CHANGE, SESSION_MUST_CHANGE
    from .two_factor_views import SESSION_MUST_ENROL, two_factor_menu_visible

    app.jinja_env.globals["two_factor_menu_visible"] = two_factor_menu_visible

    sm = appbuilder.sm
    change_view = sm.resetmypasswordview.__name__
    always = {f"{sm.auth_view.endpoint}.logout", "static", "appbuilder.static"}
    change_allowed = always | {f"{change_view}.this_form_get", f"{change_view}.this_form_post",
                               "PortalView.password"}  # members change theirs on the portal's page
    enrol_allowed = always | {"TwoFactorView.setup"}

    @app.before_request
    def password_change_and_enrolment_first():
        """A password set by an administrator, then (管理者, 責任者) the authenticator: nothing else
        until they are done."""
        if not session.get(SESSION_MUST_CHANGE) and not session.get(SESSION_MUST_ENROL):
            return None
        if not current_user.is_authenticated:
            return None
        if session.get(SESSION_MUST_CHANGE):
            if request.endpoint not in change_allowed:
                from .manager import password_change_url

                target = password_change_url(current_user)
                if not target.startswith("/portal/"):  # the portal's page says it in its own words
                    flash(MUST_CHANGE, "warning")
                return redirect(target)
        elif request.endpoint not in enrol_allowed:  # the setup page itself says why
            return redirect(url_for("TwoFactorView.setup"))
        return None

    @app.errorhandler(429)
    def too_many_attempts(error):
        return render_template("tollbook/error.html", code=429, title="しばらくお待ちください",
                               message="短い時間にログインの操作が多すぎます。数分待ってからもう一度お試しください。",
                               appbuilder=appbuilder, base_template=appbuilder.base_template), 429

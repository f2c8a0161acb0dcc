"""Security set-up of the Flask app, called by create_app before anything else is bound."""
import sys

from flask import Flask

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
    check_secret_key(app)

"""Security headers on every response: pages, redirects, static files, error pages, downloads
(issue 8 §7; docs/security.md).

Content-Security-Policy allows scripts from Tollbook itself and inline scripts that carry this
response's nonce: FAB's templates put `nonce="{{ csp_nonce() }}"` on each of theirs (the hook that
Flask-Talisman also fills), and so do Tollbook's. No third-party origin is allowed anywhere. Inline
event handlers (onclick=…) are not allowed; app/static/js/tollbook.js does their work.
Styles keep 'unsafe-inline': FAB's markup and select2/datepicker set style attributes, and a style
cannot run code.
"""
import secrets

from flask import Flask, g


def csp_nonce() -> str:
    """This response's nonce, made when a template first asks for it."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def content_security_policy(nonce: str | None) -> str:
    scripts = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return "; ".join([
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def install_security_headers(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.before_request
    def fresh_nonce():
        g.pop("csp_nonce", None)  # one nonce per response, never reused

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers["Content-Security-Policy"] = content_security_policy(g.get("csp_nonce"))
        headers["X-Frame-Options"] = "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if app.config.get("TOLLBOOK_ENV") == "production":
            headers["Strict-Transport-Security"] = "max-age=31536000"
        return response

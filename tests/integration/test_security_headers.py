"""Issue 8 §7: cookies and security headers on every kind of response."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import STAFF_PASSWORD, login

ROOT = Path(__file__).resolve().parents[2]


def assert_security_headers(response, what):
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, what
    assert "object-src 'none'" in csp and "base-uri 'self'" in csp, what
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0], what  # no inline scripts without nonce
    assert not re.search(r"https?://|\*", csp), what  # no third-party origin
    assert headers.get("X-Frame-Options") == "DENY", what
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    assert headers.get("Referrer-Policy") == "same-origin", what


def test_headers_on_every_kind_of_response(app, client, db):
    anonymous = {
        "page": client.get("/login/"),
        "redirect": client.get("/memberview/list/"),
        "FAB static file": client.get("/static/appbuilder/js/ab.js"),
        "Tollbook static file": client.get("/static/js/tollbook.js"),
        "404 page": client.get("/no-such-page/"),
        "405 page": client.get("/logout/"),
        "404 API": client.post("/api/v1/security/login", json={}),
    }
    expected = {"page": 200, "redirect": 302, "FAB static file": 200, "Tollbook static file": 200,
                "404 page": 404, "405 page": 405, "404 API": 404}
    for what, response in anonymous.items():
        assert response.status_code == expected[what], what
        assert_security_headers(response, what)
    login(client, "staff", STAFF_PASSWORD)
    download = client.get("/memberview/export/")
    assert download.status_code == 200 and download.data[:2] == b"PK"  # an .xlsx
    assert_security_headers(download, "download")
    assert_security_headers(client.get("/memberview/list/"), "list page")
    assert_security_headers(client.post("/logout/"), "logout redirect")


def test_inline_scripts_carry_the_responses_nonce_and_no_inline_handlers(app, client, db):
    login(client, "staff", STAFF_PASSWORD)
    nonces = set()
    for url in ("/memberview/list/", "/memberview/add", "/cardview/list/", "/invoiceview/list/", "/usage/upload/"):
        response = client.get(url)
        if response.status_code != 200:
            continue
        page = response.get_data(as_text=True)
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
        nonces.add(nonce)
        scripts = re.findall(r"<script\b[^>]*>", page)
        assert scripts, url
        for tag in scripts:
            assert f'nonce="{nonce}"' in tag, (url, tag)
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", page), url  # onclick=, onchange=, …
        assert "javascript:" not in page, url
    assert len(nonces) >= 2  # a fresh nonce per response


def test_session_cookie_is_secure_when_configured(app, client, db):
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        secure = client.get("/login/").headers["Set-Cookie"]
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False
    assert "Secure" in secure and "HttpOnly" in secure and "SameSite=Lax" in secure


def test_session_cookie_is_httponly_samesite_lax_and_secure_in_production(app, client, db):
    response = client.get("/login/")  # the CSRF token lives in the session: this sets the cookie
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development over plain http
    env = {k: v for k, v in os.environ.items() if k != "TOLLBOOK_ENV"}
    for tollbook_env, expected in (("production", "True True"), ("development", "False False")):
        result = subprocess.run([sys.executable, "-c", "import config; print(config.SESSION_COOKIE_SECURE, "
                                 "config.REMEMBER_COOKIE_SECURE)"], cwd=ROOT, capture_output=True, text=True,
                                env={**env, "TOLLBOOK_ENV": tollbook_env, "SECRET_KEY": "k" * 40})
        assert result.stdout.strip() == expected, result.stderr


def test_strict_transport_security_only_in_production(app, client, db):
    assert "Strict-Transport-Security" not in client.get("/login/").headers
    app.config["TOLLBOOK_ENV"] = "production"
    try:
        assert client.get("/login/").headers["Strict-Transport-Security"] == "max-age=31536000"
    finally:
        app.config["TOLLBOOK_ENV"] = "development"

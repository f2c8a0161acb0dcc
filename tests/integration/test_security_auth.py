"""Issue 8 (security), the login and session items: secret key (§1), JSON login API (§4), logout by
POST (§16). Each test fails on the build before the fix."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from app.domain.errors import DomainError
from app.security.secret_key import KNOWN_KEYS, development_key

from ..conftest import ADMIN_PASSWORD, login

ROOT = Path(__file__).resolve().parents[2]


def _forged_cookie(secret: str, user_id: int) -> str:
    """A Flask session cookie claiming `user_id`, signed with `secret` the way Flask signs its own."""
    forger = Flask("forger")
    forger.secret_key = secret
    serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
    return serializer.dumps({"_user_id": str(user_id), "_fresh": True, "locale": "ja"})


def test_cookie_forged_with_the_old_default_key_does_not_open_the_user_list(app, client):
    from app.extensions import appbuilder

    with app.app_context():
        admin_id = appbuilder.sm.find_user(username="admin").id
    assert app.config["SECRET_KEY"] not in KNOWN_KEYS
    client.set_cookie("session", _forged_cookie("dev-only-change-me", admin_id))
    response = client.get("/users/list/")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]


def _start(tmp_path, **env):
    """create_app() in a fresh interpreter, as `make serve` or a WSGI server would start it."""
    environment = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "TOLLBOOK_ENV")}
    environment.update(TOLLBOOK_INSTANCE=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}", **env)
    return subprocess.run([sys.executable, "-c", "from app import create_app; create_app(); print('started')"],
                          cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)


def test_production_refuses_to_start_without_its_own_secret_key(tmp_path):
    missing = _start(tmp_path, TOLLBOOK_ENV="production")
    assert missing.returncode == 1, missing.stdout + missing.stderr
    assert "SECRET_KEY" in missing.stderr and "起動できません" in missing.stderr
    assert "started" not in missing.stdout
    default = _start(tmp_path, TOLLBOOK_ENV="production", SECRET_KEY="dev-only-change-me")
    assert default.returncode == 1 and "既定値" in default.stderr
    short = _start(tmp_path, TOLLBOOK_ENV="production", SECRET_KEY="x" * 20)
    assert short.returncode == 1 and "短すぎます" in short.stderr
    assert not (tmp_path / "secret-key").exists()  # production never invents a key of its own
    good = _start(tmp_path, TOLLBOOK_ENV="production", SECRET_KEY="k" * 10 + os.urandom(16).hex())
    assert good.returncode == 0 and "started" in good.stdout, good.stderr


def test_development_key_is_random_written_once_and_kept(tmp_path):
    first = development_key(tmp_path)
    assert len(first) == 64 and int(first, 16) and first not in KNOWN_KEYS
    assert (tmp_path / "secret-key").stat().st_mode & 0o777 == 0o600
    assert development_key(tmp_path) == first  # a restart keeps logins valid
    assert development_key(tmp_path / "other") != first


def test_demo_data_is_refused_on_a_database_marked_production(app, db):
    from app.models import Member
    from app.services.demo import load_demo_data
    from app.services.setup import is_production_database, mark_production

    mark_production()
    assert is_production_database()
    with pytest.raises(DomainError, match="本番環境のデータベースにはデモデータを入れられません"):
        load_demo_data()
    result = app.test_cli_runner().invoke(args=["etc", "demo"])
    assert result.exit_code == 1 and "本番環境" in result.output
    assert db.session.query(Member).count() == 0


def test_demo_data_is_refused_when_running_as_production(app, db, monkeypatch):
    from app.services.demo import load_demo_data

    monkeypatch.setenv("TOLLBOOK_ENV", "production")
    with pytest.raises(DomainError):
        load_demo_data()


def test_init_under_production_marks_the_database(app, db, monkeypatch):
    from app.services.setup import initialize, is_production_database

    assert not is_production_database()
    monkeypatch.setenv("TOLLBOOK_ENV", "production")
    initialize(ADMIN_PASSWORD)
    assert is_production_database()


@pytest.mark.parametrize("url", ["/api/v1/security/login", "/api/v1/security/refresh"])
def test_json_login_api_is_gone(client, url):
    response = client.post(url, json={"username": "admin", "password": ADMIN_PASSWORD, "provider": "db"})
    assert response.status_code == 404
    assert b"access_token" not in response.data


def _logged_in(client) -> bool:
    response = client.get("/users/userinfo/")
    return response.status_code == 200


def test_get_logout_does_not_log_out(admin_client):
    assert _logged_in(admin_client)
    response = admin_client.get("/logout/")
    assert response.status_code == 405
    assert _logged_in(admin_client)


def test_logout_is_a_post_from_the_menu_with_the_csrf_token(app, admin_client):
    page = admin_client.get("/").get_data(as_text=True)
    assert 'id="logout-form" method="post" action="/logout/"' in page
    assert 'name="csrf_token"' in page.split('id="logout-form"')[1].split("</form>")[0]
    app.config["WTF_CSRF_ENABLED"] = True
    try:  # a cross-site form has no token: refused, still logged in
        refused = admin_client.post("/logout/")
        assert refused.status_code == 400 and "送信できませんでした" in refused.get_data(as_text=True)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert _logged_in(admin_client)
    response = admin_client.post("/logout/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/")
    assert not _logged_in(admin_client)

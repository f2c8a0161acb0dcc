"""Settings from the environment. SQLite under instance/ unless DATABASE_URL is set."""
import os
from pathlib import Path

from flask_appbuilder.const import AUTH_DB

from app.security.roles import ROLES, ROLE_ADMIN

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("TOLLBOOK_INSTANCE", BASE_DIR / "instance"))


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'tollbook.db'}"
    # psycopg 3 is the PostgreSQL driver (stack-notes.md §1)
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


SECRET_KEY = os.environ.get("SECRET_KEY") or "dev-only-change-me"
SQLALCHEMY_DATABASE_URI = _database_url()
SQLALCHEMY_TRACK_MODIFICATIONS = False
WTF_CSRF_ENABLED = True

APP_NAME = "Tollbook"
APP_THEME = ""
AUTH_TYPE = AUTH_DB
AUTH_ROLE_ADMIN = ROLE_ADMIN
AUTH_ROLE_PUBLIC = "Public"
AUTH_USER_REGISTRATION = False
# Roles are data in the repo (app/security/roles.py), checked in memory by FAB.
FAB_ROLES = ROLES
# The schema belongs to Alembic (migrations/), never to FAB's create_all.
FAB_CREATE_DB = False
FAB_ADD_SECURITY_API = False
FAB_API_SWAGGER_UI = False
FAB_INDEX_VIEW = "app.views.home.TollbookIndexView"

BABEL_DEFAULT_LOCALE = "ja"
BABEL_DEFAULT_TIMEZONE = "Asia/Tokyo"
LANGUAGES = {"ja": {"flag": "jp", "name": "日本語"}}

TIMEZONE = "Asia/Tokyo"
FAB_UPDATE_PERMS = False  # written by `flask etc init`, not at every start (stack-notes.md §2)

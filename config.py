"""Settings from the environment. SQLite under instance/ unless DATABASE_URL is set."""
import os
from pathlib import Path

from flask_appbuilder.const import AUTH_DB

from app.security.roles import ROLES, ROLE_ADMIN, ROLE_MANAGER
from app.security.secret_key import is_production, resolve_key

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


# TOLLBOOK_ENV=production (set by `make serve`): a SECRET_KEY of its own is required (app/security/secret_key.py).
TOLLBOOK_ENV = "production" if is_production() else "development"
SECRET_KEY = resolve_key(INSTANCE_DIR)
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
# FAB's raw permission screens (権限, 画面・メニュー, 画面ごとの権限) list code names only; roles are defined in
# app/security/roles.py and shown in Japanese on the role screen (issue 9 item 12).
FAB_ADD_SECURITY_PERMISSION_VIEW = False
FAB_ADD_SECURITY_VIEW_MENU_VIEW = False
FAB_ADD_SECURITY_PERMISSION_VIEWS_VIEW = False
FAB_API_SWAGGER_UI = False
FAB_INDEX_VIEW = "app.views.home.TollbookIndexView"

BABEL_DEFAULT_LOCALE = "ja"
BABEL_DEFAULT_TIMEZONE = "Asia/Tokyo"
LANGUAGES = {"ja": {"flag": "jp", "name": "日本語"}}

TIMEZONE = "Asia/Tokyo"

# Limits on files from outside (docs/security.md "Limits"): a bigger file is refused with the limit
# named in Japanese. Each can be changed with the environment variable of the same name.
_MB = 1 << 20


def _limit(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


MASTER_IMPORT_MAX_BYTES = _limit("MASTER_IMPORT_MAX_BYTES", 10 * _MB)  # the .xlsx as uploaded
MASTER_IMPORT_MAX_UNCOMPRESSED_BYTES = _limit("MASTER_IMPORT_MAX_UNCOMPRESSED_BYTES", 100 * _MB)  # unpacked
MASTER_IMPORT_MAX_ROWS = _limit("MASTER_IMPORT_MAX_ROWS", 50_000)  # rows of one sheet
MASTER_IMPORT_MAX_ERRORS = _limit("MASTER_IMPORT_MAX_ERRORS", 1_000)  # errors listed (the count stays complete)
TARIFF_MAX_BYTES = _limit("TARIFF_MAX_BYTES", 256 * 1024)  # the tariff YAML (the default tariff is 9 KB)
IC_MASTER_MAX_BYTES = _limit("IC_MASTER_MAX_BYTES", 5 * _MB)  # the IC master CSV
PAYMENT_FILE_MAX_BYTES = _limit("PAYMENT_FILE_MAX_BYTES", 20 * _MB)  # a 振替結果 file or a 振込入金 CSV
INBOX_STABLE_SECONDS = _limit("INBOX_STABLE_SECONDS", 60)  # an inbox file is imported once unchanged this long
# The TTF embedded in every PDF (app/documents/pdf.py); unset: Debian's fonts-ipaexfont-gothic.
PDF_FONT_PATH = os.environ.get("PDF_FONT_PATH") or None

FAB_UPDATE_PERMS = False  # written by `flask etc init`, not at every start (stack-notes.md §2)

# Security (docs/security.md)
FAB_SECURITY_MANAGER_CLASS = "app.security.manager.TollbookSecurityManager"
# Sessions live in the database (app/security/sessions.py): ended at logout and password change,
# idle timeout per role, absolute lifetime from the login.
SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
SESSION_IDLE_MINUTES_MEMBER = int(os.environ.get("SESSION_IDLE_MINUTES_MEMBER", "60"))
SESSION_ABSOLUTE_HOURS = int(os.environ.get("SESSION_ABSOLUTE_HOURS", "12"))
# Cookies: never readable by scripts, not sent on cross-site subrequests, HTTPS only in production.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = TOLLBOOK_ENV == "production"
REMEMBER_COOKIE_HTTPONLY = True
REMEMBER_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Logins (docs/security.md). FAB's limiter counts POSTs to the login screen per client address
# (behind a reverse proxy set TOLLBOOK_TRUSTED_PROXIES so the address is the client's, not the proxy's).
AUTH_RATE_LIMITED = os.environ.get("AUTH_RATE_LIMITED", "1") != "0"
AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "30 per minute;300 per hour")
# Counted in Tollbook's own database (table rate_limit_counter, app/security/rate_limits.py), once for all
# gunicorn workers and kept across a worker's restart. `memory://` (per process) or `redis://host:6379` instead.
RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "tollbook+db://")
RATELIMIT_ENABLED = AUTH_RATE_LIMITED  # FAB turns Flask-Limiter off unless told (flask_appbuilder/base.py)
# A login is locked after this many failed attempts in a row, for this many minutes (or until an
# administrator unlocks it on the user list: ロック解除).
AUTH_LOCKOUT_THRESHOLD = int(os.environ.get("AUTH_LOCKOUT_THRESHOLD", "10"))
AUTH_LOCKOUT_MINUTES = int(os.environ.get("AUTH_LOCKOUT_MINUTES", "30"))
TOLLBOOK_TRUSTED_PROXIES = int(os.environ.get("TOLLBOOK_TRUSTED_PROXIES", "0"))
# Passwords: FAB's complexity hook with Tollbook's rules (app/domain/password_policy.py).
# Two-factor authentication (TOTP): required for these roles, offered to every staff role (事務 optional).
TWO_FACTOR_REQUIRED_ROLES = (ROLE_ADMIN, ROLE_MANAGER)
# FAB_PASSWORD_COMPLEXITY_VALIDATOR is set by app/security/setup.py (config does not import views).
FAB_PASSWORD_COMPLEXITY_ENABLED = True

# Issued documents (docs/documents.md): after a close the web process renders the month's documents in a
# background thread with this many worker processes (2 cores: 2). Off (0), they stay 作成待ち until
# `flask etc render-documents` or the billing screen's 「未作成の帳票を作成」.
DOCUMENTS_RENDER_AFTER_CLOSE = os.environ.get("DOCUMENTS_RENDER_AFTER_CLOSE", "1") != "0"
DOCUMENT_RENDER_PROCESSES = int(os.environ.get("DOCUMENT_RENDER_PROCESSES", "2"))

# 会員ページ (docs/portal.md): the address printed on the members' login letters (e.g.
# https://etc.example-kumiai.jp/login/). Unset: the login page's address as this request sees it.
PORTAL_URL = os.environ.get("PORTAL_URL") or None

# Notice mails to members when a month's documents are on the portal (docs/portal.md). Unset MAIL_SERVER:
# nothing is sent (the rows wait; `flask etc send-notices` once it is set).
MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
MAIL_PORT = int(os.environ.get("MAIL_PORT") or 25)
MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "0") == "1"  # STARTTLS on MAIL_PORT (587)
MAIL_USE_SSL = os.environ.get("MAIL_USE_SSL", "0") == "1"  # TLS from the start (465)
MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
MAIL_FROM = os.environ.get("MAIL_FROM") or "tollbook@localhost"
MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT") or 10)
MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS") or 5)
MAIL_RETRY_MINUTES = os.environ.get("MAIL_RETRY_MINUTES") or "1,5,30,120"  # wait after the 1st, 2nd, … failure
MAIL_JOB_MAX_WAIT_MINUTES = int(os.environ.get("MAIL_JOB_MAX_WAIT_MINUTES") or 180)

# Logs (app/observability.py): LOG_FORMAT=json (make serve) or text puts one handler on stderr with the request
# id on every line; unset (make run, tests) leaves Python's and Flask's defaults alone.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")

# 定期処理 (docs/operations.md): the in-process scheduler runs only where TOLLBOOK_SCHEDULER=1 (run.py sets it;
# a production server sets it for its workers) and never in tests or `flask …` commands; among several
# processes one holds the scheduler lock, the others retry it this often.
SCHEDULER_ENABLED = os.environ.get("TOLLBOOK_SCHEDULER", "0") == "1"
SCHEDULER_LOCK_RETRY_SECONDS = int(os.environ.get("SCHEDULER_LOCK_RETRY_SECONDS") or 60)
# The daily backup's folder (the `backup` job's parameter "folder" wins); unset: instance/backups.
BACKUP_DIR = os.environ.get("BACKUP_DIR") or None

"""Fixtures shared by integration and browser tests.

One Flask app per pytest process (FAB's AppBuilder is a module-level singleton). The database is
SQLite in a temporary folder unless TEST_DATABASE_URL points at PostgreSQL (`make test` runs the
database tests on both). The schema is built by the real Alembic migrations once per run; each
test then starts from empty business tables with roles and the admin user in place.
"""
import os
import re

import pytest

from app.security.roles import ROLE_MANAGER, ROLE_MEMBER, ROLE_STAFF

ADMIN_PASSWORD = "admin-pass-1"
STAFF_PASSWORD = MANAGER_PASSWORD = MEMBER_PASSWORD = "user-pass-1"


def _database_url(tmp_path_factory, request) -> str:
    """SQLite file, or a fresh PostgreSQL database of this run's own (dropped at the end), so that
    runs side by side on one server never see each other's rows."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    if not url.startswith("postgresql"):
        return url
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    name = f"tollbook_test_{os.getpid()}"
    try:
        with psycopg.connect(plain, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL に接続できません（{url}）: {error}")

    def drop():  # FORCE closes the app's pooled connections (PostgreSQL 13+)
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    request.addfinalizer(drop)
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def app(tmp_path_factory, request):
    os.environ["DATABASE_URL"] = _database_url(tmp_path_factory, request)
    os.environ.setdefault("TOLLBOOK_INSTANCE", str(tmp_path_factory.mktemp("instance")))
    from app import create_app
    from app.services.actor import acting_as
    from app.services.setup import initialize

    application = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False,
                              "SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"],
                              # A cheap hash: scrypt (the default) costs ~2 s per test's user setup.
                              "FAB_PASSWORD_HASH_METHOD": TEST_HASH_METHOD,
                              "AUTH_DB_FAKE_PASSWORD_HASH_CHECK": _cheap_hash("no-such-user"),
                              # Tests log in as admin and manager with the password alone; the
                              # two-factor tests switch the requirement back on (test_security_two_factor.py).
                              "TWO_FACTOR_REQUIRED_ROLES": (),
                              # Inbox files are dropped by the tests themselves, complete: no wait.
                              "INBOX_STABLE_SECONDS": 0,
                              # A close does not start the background render job: tests render when
                              # they mean to (tests/e2e/test_documents.py turns it on).
                              "DOCUMENTS_RENDER_AFTER_CLOSE": False})
    with application.app_context(), acting_as("test-setup"):
        initialize(ADMIN_PASSWORD)
        _create_test_users()
    return application


TEST_HASH_METHOD = "pbkdf2:sha256:1"
TEST_USERS = (("staff", ROLE_STAFF, STAFF_PASSWORD), ("manager", ROLE_MANAGER, MANAGER_PASSWORD),
              ("member1", ROLE_MEMBER, MEMBER_PASSWORD), ("member2", ROLE_MEMBER, MEMBER_PASSWORD))
# Kept between tests: FAB's ab_* tables (users are reset, not emptied) and reference data that
# `initialize` seeds (import profiles). Every other table is emptied, so a new table needs no edit here.
KEPT_TABLES = {"alembic_version", "import_profile"}


def _cheap_hash(password: str) -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password, method=TEST_HASH_METHOD)


def _create_test_users():
    """One user per role, created once per run; `db` puts them back as they were before each test."""
    from app.extensions import appbuilder, db as database

    sm = appbuilder.sm
    for name, role, password in TEST_USERS:
        if sm.find_user(username=name) is None:
            sm.add_user(username=name, first_name=name, last_name="", email=f"{name}@test.invalid",
                        role=sm.find_role(role), password=password)
    database.session.commit()


def _reset_users():
    """Users other than admin and the test users go; those keep their role, password and state."""
    from sqlalchemy import delete, select, update

    from app.extensions import appbuilder, db as database

    sm = appbuilder.sm
    user, role = sm.user_model, sm.role_model
    link = user.__table__.metadata.tables["ab_user_role"]
    kept = {"admin": ADMIN_PASSWORD, **{name: password for name, _, password in TEST_USERS}}
    others = database.session.scalars(select(user.id).where(user.username.not_in(kept))).all()
    if others:
        database.session.execute(delete(link).where(link.c.user_id.in_(others)))
        database.session.execute(delete(user.__table__).where(user.id.in_(others)))
    roles = dict(database.session.execute(select(role.name, role.id)).all())
    wanted = {"admin": sm.auth_role_admin, **{name: role_name for name, role_name, _ in TEST_USERS}}
    for name, password in kept.items():
        user_id = database.session.scalar(select(user.id).where(user.username == name))
        database.session.execute(update(user.__table__).where(user.id == user_id).values(
            password=_cheap_hash(password), active=True, fail_login_count=0))
        database.session.execute(delete(link).where(link.c.user_id == user_id))
        database.session.execute(link.insert().values(user_id=user_id, role_id=roles[wanted[name]]))


@pytest.fixture()
def db(app):
    """Empty business tables (every table Alembic made but FAB's and its own), the operator row,
    admin and one user per role as created."""
    from flask_appbuilder import Model

    from app.extensions import db as database
    from app.services.actor import acting_as
    from app.services.setup import ensure_operator

    with app.app_context():
        database.session.rollback()
        for table in reversed(Model.metadata.sorted_tables):
            if table.name not in KEPT_TABLES and not table.name.startswith("ab_"):
                database.session.execute(table.delete())
        _reset_users()
        database.session.commit()
        from app.extensions import appbuilder

        appbuilder.sm.limiter.reset()  # login rate limits count per address: every test starts afresh
        with acting_as("test-setup"):
            ensure_operator("テスト事業協同組合")
            database.session.execute(database.text("DELETE FROM audit_log"))
            database.session.commit()
        yield database
        database.session.rollback()


@pytest.fixture()
def client(app, db):
    return app.test_client()


def login(client, username, password):
    page = client.get("/login/")
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page.data)
    data = {"username": username, "password": password}
    if token:
        data["csrf_token"] = token.group(1).decode()
    response = client.post("/login/", data=data, follow_redirects=True)
    assert response.status_code == 200
    return response


@pytest.fixture()
def admin_client(client):
    login(client, "admin", ADMIN_PASSWORD)
    return client


@pytest.fixture()
def staff_client(client):
    login(client, "staff", STAFF_PASSWORD)
    return client


@pytest.fixture()
def manager_client(client):
    login(client, "manager", MANAGER_PASSWORD)
    return client

"""Fixtures shared by integration and browser tests.

One Flask app per pytest process (FAB's AppBuilder is a module-level singleton). The database is
SQLite in a temporary folder unless TEST_DATABASE_URL points at PostgreSQL (`make test` runs the
database tests on both). The schema is built by the real Alembic migrations once per run; each
test then starts from empty business tables with roles and the admin user in place.
"""
import os
import re

import pytest

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
                              "SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"]})
    with application.app_context(), acting_as("test-setup"):
        initialize(ADMIN_PASSWORD)
    return application


BUSINESS_TABLES = ["audit_log", "invoice_adjustment", "invoice_tax_subtotal", "invoice_line", "invoice",
                   "invoice_number_counter", "operator_discount_report", "tariff_rule",
                   "usage_record", "import_batch", "ic_master", "billing_run", "member_account",
                   "card_event", "card", "vehicle", "member", "agency", "operator_settings"]


@pytest.fixture()
def db(app):
    """Empty business tables, the operator row, admin and one user per role."""
    from app.extensions import appbuilder, db as database
    from app.security.roles import ROLE_MANAGER, ROLE_MEMBER, ROLE_STAFF
    from app.services.actor import acting_as
    from app.services.setup import ensure_operator

    with app.app_context():
        database.session.rollback()
        for table in BUSINESS_TABLES:
            database.session.execute(database.text(f"DELETE FROM {table}"))
        sm = appbuilder.sm
        for name in ("staff", "manager", "member1", "member2"):
            user = sm.find_user(username=name)
            if user is not None:
                sm.session.delete(user)
        database.session.commit()
        with acting_as("test-setup"):
            ensure_operator("テスト事業協同組合")
            for name, role, password in (("staff", ROLE_STAFF, STAFF_PASSWORD),
                                         ("manager", ROLE_MANAGER, MANAGER_PASSWORD),
                                         ("member1", ROLE_MEMBER, MEMBER_PASSWORD),
                                         ("member2", ROLE_MEMBER, MEMBER_PASSWORD)):
                sm.add_user(username=name, first_name=name, last_name="", email=f"{name}@test.invalid",
                            role=sm.find_role(role), password=password)
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

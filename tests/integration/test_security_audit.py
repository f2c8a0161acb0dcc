"""issue 8 item 15: the audit log also records users and their roles (never the password hash),
usage import batches and tariff changes — who, when, before → after."""
from sqlalchemy import select

from app.models.audit import AuditLog
from app.security.roles import ROLE_MANAGER, ROLE_STAFF
from app.services.actor import acting_as
from tests.integration.test_billing_screens import KNOWN, import_file


def entries(db, table):
    db.session.rollback()
    return db.session.scalars(select(AuditLog).where(AuditLog.table_name == table).order_by(AuditLog.id)).all()


def test_users_and_their_roles_are_audited_without_the_password(app, db):
    from app.extensions import appbuilder

    sm = appbuilder.sm
    with acting_as("admin-test"):
        user = sm.add_user(username="tanaka", first_name="太郎", last_name="田中", email="tanaka@test.invalid",
                           role=sm.find_role(ROLE_STAFF), password="a-long-password-1")
        db.session.commit()
        user = db.session.get(sm.user_model, user.id)
        user.roles = [sm.find_role(ROLE_MANAGER)]
        user.active = False
        user.password = "pbkdf2:sha256:1$changed$hash"
        db.session.commit()
    rows = [row for row in entries(db, "ab_user") if row.record_id == str(user.id)]
    assert [row.action for row in rows] == ["create", "update"]
    created, changed = rows
    assert created.username == "admin-test" and created.after["username"] == "tanaka"
    assert created.after["roles"] == [ROLE_STAFF]
    assert changed.before == {"active": True, "roles": [ROLE_STAFF]}
    assert changed.after == {"active": False, "roles": [ROLE_MANAGER]}
    for row in rows:
        assert "password" not in (row.before or {}) and "password" not in (row.after or {})
        assert "pbkdf2" not in str(row.before) + str(row.after)
    assert "ロール: 事務 → 責任者" in changed.changes() or "ロール: ['事務'] → ['責任者']" in changed.changes()


def test_a_new_role_is_audited(db):
    from app.extensions import appbuilder

    with acting_as("admin-test"):
        role = appbuilder.sm.role_model(name="監査テスト")
        db.session.add(role)
        db.session.commit()
    assert [(row.action, row.after["name"]) for row in entries(db, "ab_role")] == [("create", "監査テスト")]


def test_an_import_batch_is_audited(db, tmp_path):
    from app.services.profiles import ensure_shipped_profiles

    ensure_shipped_profiles()
    import_file(tmp_path, [f"26/10/01,06:12,26/10/01,07:05,東京,厚木,1320,0,1320,1,品川 300 あ 12-34,{KNOWN},"])
    rows = entries(db, "import_batch")
    assert rows[0].action == "create" and rows[0].username == "test-setup"
    assert rows[0].after["file_name"] == "etc-meisai-2026-10.csv"
    assert rows[-1].after.get("row_count", rows[0].after.get("row_count")) == 1  # the totals, set at the end

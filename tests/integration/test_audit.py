"""操作履歴: every change by the screens or the services is in audit_log, with who, before and after."""
import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import appbuilder
from app.models import AuditLog, Card, Member, Vehicle
from app.services.actor import acting_as
from app.services.cards import prepare_new_card
from tests.conftest import STAFF_PASSWORD, login

MEMBER_FORM = {"code": "A0001", "name": "株式会社監査運輸", "kana": "かんさうんゆ", "payment_method": "bank_transfer",
               "status": "active", "account_type": "", "address": "東京都千代田区1-1"}


def audit_rows(db, **where):
    # business records only: logins and other security events (table ab_user) have their own tests
    query = select(AuditLog).where(AuditLog.table_name != "ab_user").order_by(AuditLog.id)
    for key, value in where.items():
        query = query.where(getattr(AuditLog, key) == value)
    return db.session.scalars(query).all()


def add_member_by_screen(client, db, **changes):
    response = client.post("/memberview/add", data={**MEMBER_FORM, **changes}, follow_redirects=True)
    assert response.status_code == 200
    member = db.session.scalar(select(Member).where(Member.code == changes.get("code", MEMBER_FORM["code"])))
    assert member is not None, response.get_data(as_text=True)[:3000]
    return member


def test_staff_create_update_delete_of_a_member_are_audited(staff_client, db):
    staff_id = appbuilder.sm.find_user(username="staff").id
    member = add_member_by_screen(staff_client, db)
    member_id = member.id

    created = audit_rows(db, table_name="member")
    assert len(created) == 1
    row = created[0]
    assert (row.username, row.user_id, row.action, row.record_id) == ("staff", staff_id, "create", str(member_id))
    assert row.before is None
    assert row.after["name"] == "株式会社監査運輸" and row.after["kana"] == "カンサウンユ"
    assert row.after["code"] == "A0001" and row.after["id"] == member_id
    assert row.record_label == "A0001 株式会社監査運輸"
    assert isinstance(row.occurred_at, dt.datetime)

    response = staff_client.post(f"/memberview/edit/{member_id}", data={**MEMBER_FORM, "name": "株式会社監査物流"},
                                 follow_redirects=True)
    assert response.status_code == 200
    updates = audit_rows(db, table_name="member", action="update")
    assert len(updates) == 1
    update = updates[0]
    assert (update.username, update.user_id, update.record_id) == ("staff", staff_id, str(member_id))
    assert update.before["name"] == "株式会社監査運輸"
    assert update.after["name"] == "株式会社監査物流"
    assert "code" not in update.after and "kana" not in update.after  # unchanged fields are not listed
    text = update.changes()  # what the list screen shows: old → new
    assert "株式会社監査運輸" in text and "株式会社監査物流" in text
    assert text.index("株式会社監査運輸") < text.index("→") < text.index("株式会社監査物流")

    response = staff_client.post(f"/memberview/delete/{member_id}", follow_redirects=True)
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Member, member_id) is None
    deletes = audit_rows(db, table_name="member", action="delete")
    assert len(deletes) == 1
    delete = deletes[0]
    assert (delete.username, delete.record_id) == ("staff", str(member_id))
    assert delete.before["name"] == "株式会社監査物流" and delete.before["code"] == "A0001"
    assert delete.after is None
    assert [r.action for r in audit_rows(db, table_name="member")] == ["create", "update", "delete"]


def test_refused_form_writes_no_audit_row(staff_client, db):
    response = staff_client.post("/memberview/add", data={**MEMBER_FORM, "kana": "監査"}, follow_redirects=True)
    assert "フリガナは全角カタカナで入力してください（使えない文字: " in response.get_data(as_text=True)
    assert audit_rows(db) == []


def test_changes_made_by_services_record_the_acting_command(db):
    with acting_as("flask etc demo"):
        member = Member(code="D0001", name="デモ運輸株式会社", kana="デモウンユ")
        vehicle = Vehicle(member=member, plate_region="品川", plate_class_number="100", plate_kana="あ",
                          plate_serial=1, vehicle_class=1)
        db.session.add_all([member, vehicle])
        card = Card(number="9011000000000011", kind="corporate", member=member, vehicle=vehicle,
                    valid_from=dt.date(2025, 1, 1))
        prepare_new_card(db.session, card)
        db.session.commit()
        member.phone = "03-0000-0000"
        db.session.commit()
    rows = audit_rows(db)
    assert {r.username for r in rows} == {"flask etc demo"}
    assert {r.user_id for r in rows} == {None}
    assert sorted((r.table_name, r.action) for r in rows) == [
        ("card", "create"), ("card_event", "create"), ("member", "create"), ("member", "update"),
        ("vehicle", "create")]
    card_row = audit_rows(db, table_name="card")[0]
    assert card_row.after["number"] == "9011000000000011"
    assert card_row.after["valid_until"] == "2030-01-31"  # dates stored as ISO text in the JSON
    event_row = audit_rows(db, table_name="card_event")[0]
    assert event_row.after["kind"] == "issue" and event_row.after["entered_by"] == "flask etc demo"
    update = audit_rows(db, action="update")[0]
    assert (update.before, update.after) == ({"phone": None}, {"phone": "03-0000-0000"})


def test_rolled_back_change_leaves_no_audit_row(db):
    with acting_as("tester"):
        db.session.add(Member(code="X0001", name="取消株式会社", kana="トリケシ"))
        db.session.flush()
        assert len(audit_rows(db)) == 1  # written in the same transaction as the change
        db.session.rollback()
    assert audit_rows(db) == []


@pytest.fixture()
def mixed_log(db, client):
    """Rows by the staff screens (member) and by a command (member, vehicle, card, card event)."""
    login(client, "staff", STAFF_PASSWORD)
    add_member_by_screen(client, db)
    client.post("/logout/")
    with acting_as("flask etc demo"):
        member = Member(code="D0001", name="デモ運輸株式会社", kana="デモウンユ")
        vehicle = Vehicle(member=member, plate_region="練馬", plate_class_number="800", plate_kana="か",
                          plate_serial=4321, vehicle_class=2)
        db.session.add_all([member, vehicle])
        prepare_new_card(db.session, Card(number="9011000000000011", kind="corporate", member=member,
                                          vehicle=vehicle, valid_from=dt.date(2025, 1, 1)))
        db.session.commit()
    return client


def _manager(client):
    login(client, "manager", STAFF_PASSWORD)
    return client


def test_manager_sees_the_audit_list(mixed_log):
    client = _manager(mixed_log)
    html = client.get("/auditlogview/list/").get_data(as_text=True)
    assert "操作履歴" in html
    for text in ("A0001 株式会社監査運輸", "D0001 デモ運輸株式会社", "練馬 800 か 43-21", "901100-0000-00001-1",
                 "flask etc demo", "登録"):
        assert text in html, text


def test_manager_filters_the_audit_list_by_table(mixed_log):
    client = _manager(mixed_log)
    html = client.get("/auditlogview/list/?_flt_3_table_name=member").get_data(as_text=True)
    assert "A0001 株式会社監査運輸" in html and "D0001 デモ運輸株式会社" in html
    assert "練馬 800 か 43-21" not in html and "901100-0000-00001-1" not in html
    html = client.get("/auditlogview/list/?_flt_0_table_name=card").get_data(as_text=True)
    assert "901100-0000-00001-1" in html
    assert "A0001 株式会社監査運輸" not in html and "練馬 800 か 43-21" not in html


def test_manager_filters_the_audit_list_by_username(mixed_log):
    client = _manager(mixed_log)
    html = client.get("/auditlogview/list/?_flt_3_username=staff").get_data(as_text=True)
    assert "A0001 株式会社監査運輸" in html
    assert "D0001 デモ運輸株式会社" not in html and "flask etc demo" not in html
    html = client.get("/auditlogview/list/?_flt_0_username=flask").get_data(as_text=True)
    assert "D0001 デモ運輸株式会社" in html and "A0001 株式会社監査運輸" not in html


def _sheet(response):
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert ".xlsx" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    return workbook.worksheets[0]


def test_manager_exports_the_audit_log_as_xlsx(mixed_log, db):
    client = _manager(mixed_log)
    response = client.get("/auditlogview/export/")
    assert "%E6%93%8D%E4%BD%9C%E5%B1%A5%E6%AD%B4" in response.headers["Content-Disposition"]  # 操作履歴
    sheet = _sheet(response)
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("日時", "ユーザー", "操作", "対象", "対象データ", "変更内容")
    assert len(rows) - 1 == db.session.query(AuditLog).count()  # every row, the logins (staff, manager) too
    assert sum(1 for row in rows[1:] if row[2] == "ログイン" and row[3] == "ログイン") >= 2
    by_label = {row[4]: row for row in rows[1:]}
    staff_row = by_label["A0001 株式会社監査運輸"]
    assert staff_row[1:4] == ("staff", "登録", "組合員")
    assert isinstance(staff_row[0], dt.datetime)
    assert "株式会社監査運輸" in staff_row[5]
    assert by_label["901100-0000-00001-1"][1:4] == ("flask etc demo", "登録", "カード")
    # newest first, as on the screen
    stamps = [row[0] for row in rows[1:]]
    assert stamps == sorted(stamps, reverse=True)


def test_export_follows_the_list_filter(mixed_log, db):
    client = _manager(mixed_log)
    sheet = _sheet(client.get("/auditlogview/export/?_flt_3_table_name=member&_flt_3_username=flask etc demo"))
    rows = list(sheet.iter_rows(values_only=True))[1:]
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [("flask etc demo", "登録", "組合員", "D0001 デモ運輸株式会社")]


def test_staff_cannot_export_the_audit_log(mixed_log):
    login(mixed_log, "staff", STAFF_PASSWORD)
    response = mixed_log.get("/auditlogview/export/")
    assert response.status_code in (302, 403)
    assert response.data[:2] != b"PK"


def test_portal_account_link_is_audited_with_a_readable_label(db):
    user = appbuilder.sm.find_user(username="member1")
    with acting_as("tester"):
        member = Member(code="P0001", name="ポータル運輸株式会社", kana="ポータルウンユ")
        db.session.add(member)
        db.session.flush()
        from app.models import MemberAccount

        db.session.add(MemberAccount(user_id=user.id, member=member))
        db.session.commit()
    row = audit_rows(db, table_name="member_account")[0]
    assert row.action == "create" and row.after["user_id"] == user.id and row.after["member_id"] == member.id
    assert "object at" not in row.record_label
    assert "P0001 ポータル運輸株式会社" in row.record_label

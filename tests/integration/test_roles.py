"""Each role's reach: 管理者 everything, 事務 the back office, 責任者 read + audit log, 組合員 the portal only."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from app.extensions import appbuilder
from app.models import Card, Member, MemberAccount, Vehicle
from app.services.actor import acting_as
from app.services.cards import prepare_new_card
from tests.conftest import ADMIN_PASSWORD, MEMBER_PASSWORD, login

OWN_NUMBER, OWN_NUMBER_TEXT = "9011111111111111", "901111-1111-11111-1"
OTHER_NUMBER, OTHER_NUMBER_TEXT = "9022222222222222", "902222-2222-22222-2"
OTHER_CREDIT = "49803333333333"


@pytest.fixture()
def data(db):
    """Two members with cards; member1 is the portal login of the first, member2 of the second."""
    with acting_as("tester-roles"):
        own = Member(code="R0001", name="自社運輸株式会社", kana="ジシヤウンユ", address="東京都港区1-1")
        other = Member(code="R0002", name="他社物流株式会社", kana="タシヤブツリユウ", address="大阪府大阪市2-2")
        db.session.add_all([own, other])
        own_vehicle = Vehicle(member=own, plate_region="品川", plate_class_number="100", plate_kana="あ",
                              plate_serial=1111, vehicle_class=2)
        other_vehicle = Vehicle(member=other, plate_region="大阪", plate_class_number="800", plate_kana="さ",
                                plate_serial=2222, vehicle_class=3)
        db.session.add_all([own_vehicle, other_vehicle])
        db.session.flush()
        for card in (Card(number=OWN_NUMBER, kind="corporate", member=own, vehicle=own_vehicle,
                          valid_from=dt.date(2025, 1, 10)),
                     Card(number=OTHER_NUMBER, kind="corporate", member=other, vehicle=other_vehicle,
                          valid_from=dt.date(2025, 2, 10)),
                     Card(number=OTHER_CREDIT, kind="credit", issuer="他社信販", member=other,
                          valid_until=dt.date(2029, 12, 31))):
            prepare_new_card(db.session, card)
            db.session.flush()
        sm = appbuilder.sm
        db.session.add(MemberAccount(user_id=sm.find_user(username="member1").id, member_id=own.id))
        db.session.add(MemberAccount(user_id=sm.find_user(username="member2").id, member_id=other.id))
        db.session.commit()
    return {"own": own, "other": other, "own_card": db.session.scalar(select(Card).where(Card.number == OWN_NUMBER))}


def back_office_routes(data):
    member_id, card_id = data["own"].id, data["own_card"].id
    return [
        "/memberview/list/", "/memberview/add", f"/memberview/show/{member_id}", f"/memberview/edit/{member_id}",
        "/memberview/export/", "/agencyview/list/", "/agencyview/add", "/vehicleview/list/", "/vehicleview/add",
        "/vehicleview/export/", "/cardview/list/", "/cardview/add", f"/cardview/show/{card_id}",
        "/cardview/export/", "/cardeventview/list/", "/cardeventview/add", "/cardeventview/export/",
        "/operatorsettingsview/list/", "/auditlogview/list/", "/auditlogview/export/", "/users/list/",
        "/roles/list/",
    ]


# Text that only a page of data shows: member names, card numbers.
DATA_MARKERS = ["自社運輸株式会社", "他社物流株式会社", OWN_NUMBER_TEXT, OTHER_NUMBER_TEXT, OWN_NUMBER, OTHER_NUMBER]


def assert_refused(response, *markers):
    """FAB refuses a logged-in user with 403 and an anonymous one with a redirect to the login page."""
    assert response.status_code in (302, 403), response.status_code
    if response.status_code == 302:
        assert "/login/" in response.headers["Location"]
    body = response.get_data(as_text=True)
    for marker in markers or DATA_MARKERS:
        assert marker not in body


def assert_allowed(response, *expected):
    assert response.status_code == 200, response.status_code
    body = response.get_data()
    for text in expected:
        assert text.encode() in body, text


def count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


# ---- not logged in --------------------------------------------------------------------------------

def test_anonymous_users_are_sent_to_login(client, data):
    for url in back_office_routes(data) + ["/portal/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login/" in response.headers["Location"], url
        assert_refused(response)


def test_anonymous_post_saves_nothing(client, db, data):
    response = client.post("/memberview/add", data={"code": "X1", "name": "侵入", "kana": "シンニユウ"})
    assert_refused(response)
    assert count(db, Member) == 2


# ---- 管理者 ----------------------------------------------------------------------------------------

def test_admin_reaches_everything(admin_client, data):
    for url in back_office_routes(data):
        response = admin_client.get(url)
        assert response.status_code == 200, url
    assert_allowed(admin_client.get("/users/list/"), "admin", "staff", "member1")
    assert_allowed(admin_client.get("/memberview/list/"), "自社運輸株式会社", "他社物流株式会社")
    assert_allowed(admin_client.get("/cardview/list/"), OWN_NUMBER_TEXT, OTHER_NUMBER_TEXT)


# ---- 事務 ------------------------------------------------------------------------------------------

def test_staff_lists_and_opens_the_back_office(staff_client, data):
    assert_allowed(staff_client.get("/memberview/list/"), "自社運輸株式会社", "他社物流株式会社")
    assert_allowed(staff_client.get("/cardview/list/"), OWN_NUMBER_TEXT, OTHER_NUMBER_TEXT)
    assert_allowed(staff_client.get("/cardeventview/list/"), "新規発行", "追加発行")
    assert_allowed(staff_client.get("/vehicleview/list/"), "品川 100 あ 11-11")
    assert_allowed(staff_client.get(f"/memberview/show/{data['own'].id}"), "自社運輸株式会社")
    for url in ("/memberview/add", "/cardview/add", "/cardeventview/add", "/vehicleview/add",
                f"/memberview/edit/{data['own'].id}", f"/cardview/edit/{data['own_card'].id}"):
        assert staff_client.get(url).status_code == 200, url
    for url in ("/memberview/export/", "/cardview/export/", "/cardeventview/export/", "/vehicleview/export/"):
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert response.data[:2] == b"PK", url  # an xlsx is a zip


def test_staff_adds_and_edits_a_member(staff_client, db, data):
    response = staff_client.post("/memberview/add", data={
        "code": "R0003", "name": "新規運送株式会社", "kana": "しんきうんそう", "payment_method": "bank_transfer",
        "status": "active", "account_type": ""}, follow_redirects=True)
    assert response.status_code == 200
    added = db.session.scalar(select(Member).where(Member.code == "R0003"))
    assert added is not None and added.kana == "シンキウンソウ"
    response = staff_client.post(f"/memberview/edit/{added.id}", data={
        "code": "R0003", "name": "新規運送株式会社（改）", "kana": "シンキウンソウ", "payment_method": "bank_transfer",
        "status": "active", "account_type": ""}, follow_redirects=True)
    assert response.status_code == 200
    db.session.expire_all()
    edited = db.session.get(Member, added.id)
    assert (edited.name, edited.payment_method) == ("新規運送株式会社（改）", "bank_transfer")


def test_staff_cannot_reach_users_nor_the_audit_log(staff_client, data):
    for url in ("/users/list/", "/users/add", "/roles/list/", "/auditlogview/list/", "/auditlogview/export/"):
        assert_refused(staff_client.get(url), "admin@test.invalid", "tester-roles", "操作履歴一覧")


def test_staff_cannot_create_users(staff_client, db):
    before = count(db, appbuilder.sm.user_model)
    response = staff_client.post("/users/add", data={"username": "intruder", "first_name": "x", "last_name": "y",
                                                     "email": "x@test.invalid", "password": "abcdefgh1",
                                                     "conf_password": "abcdefgh1"})
    assert_refused(response)
    assert count(db, appbuilder.sm.user_model) == before
    assert appbuilder.sm.find_user(username="intruder") is None


# ---- 責任者 ----------------------------------------------------------------------------------------

def test_manager_lists_shows_and_exports(manager_client, data):
    assert_allowed(manager_client.get("/memberview/list/"), "自社運輸株式会社", "他社物流株式会社")
    assert_allowed(manager_client.get(f"/memberview/show/{data['own'].id}"), "自社運輸株式会社")
    assert_allowed(manager_client.get("/cardview/list/"), OWN_NUMBER_TEXT, OTHER_NUMBER_TEXT)
    assert_allowed(manager_client.get(f"/cardview/show/{data['own_card'].id}"), OWN_NUMBER_TEXT)
    assert_allowed(manager_client.get("/auditlogview/list/"), "tester-roles")
    for url in ("/memberview/export/", "/cardview/export/", "/auditlogview/export/"):
        response = manager_client.get(url)
        assert response.status_code == 200, url
        assert response.data[:2] == b"PK", url


def test_manager_cannot_add_edit_or_delete(manager_client, db, data):
    own_id, card_id = data["own"].id, data["own_card"].id
    for url in ("/memberview/add", f"/memberview/edit/{own_id}", "/cardview/add", f"/cardview/edit/{card_id}",
                "/cardeventview/add", "/vehicleview/add", "/users/list/"):
        assert_refused(manager_client.get(url), 'name="code"', 'name="number"', "admin@test.invalid")
    assert_refused(manager_client.post(f"/memberview/edit/{own_id}", data={
        "code": "R0001", "name": "改ざん株式会社", "kana": "カイザン", "payment_method": "direct_debit",
        "status": "active"}))
    assert_refused(manager_client.post("/memberview/add", data={
        "code": "R0009", "name": "追加株式会社", "kana": "ツイカ", "payment_method": "direct_debit", "status": "active"}))
    assert_refused(manager_client.post(f"/memberview/delete/{own_id}"))
    assert_refused(manager_client.post("/cardeventview/add", data={
        "card": str(card_id), "kind": "loss", "occurred_on": "2026-11-01"}))
    db.session.expire_all()
    assert db.session.get(Member, own_id).name == "自社運輸株式会社"
    assert count(db, Member) == 2
    assert db.session.get(Card, card_id).status == "active"


# ---- 組合員 ----------------------------------------------------------------------------------------

@pytest.fixture()
def member_client(client, data):
    login(client, "member1", MEMBER_PASSWORD)
    return client


def test_member_is_refused_on_every_back_office_route(member_client, data):
    for url in back_office_routes(data):
        assert_refused(member_client.get(url))
    for url in ("/memberview/add", "/cardview/add", "/cardeventview/add"):
        assert_refused(member_client.post(url, data={"code": "X"}))


def test_member_sees_only_its_own_cards_on_the_portal(member_client, data):
    assert_allowed(member_client.get("/portal/"), "自社運輸株式会社")
    response = member_client.get("/portal/cards/")
    # card numbers masked on the portal: the last four digits only
    assert_allowed(response, "自社運輸株式会社", "************1111", "品川 100 あ 11-11")
    body = response.get_data(as_text=True)
    for foreign in ("他社物流株式会社", OWN_NUMBER, OWN_NUMBER_TEXT, OTHER_NUMBER, OTHER_NUMBER_TEXT, OTHER_CREDIT,
                    "2222", "3333", "大阪 800 さ 22-22"):
        assert foreign not in body


def test_the_other_member_sees_its_own_cards_only(client, data):
    login(client, "member2", MEMBER_PASSWORD)
    body = client.get("/portal/cards/").get_data(as_text=True)
    assert "************2222" in body and "**********3333" in body
    assert "1111" not in body and "自社運輸株式会社" not in body


def test_member_home_page_goes_to_the_portal(member_client, data):
    response = member_client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/portal/")


def test_portal_without_a_linked_member_is_forbidden(admin_client, data):
    # admin may open the portal view but is linked to no member: nothing to show
    response = admin_client.get("/portal/")
    assert_refused(response)


def test_unlinked_member_login_sees_nothing(client, db, data):
    db.session.execute(MemberAccount.__table__.delete())
    db.session.commit()
    client.post("/login/", data={"username": "member1", "password": MEMBER_PASSWORD})
    assert_refused(client.get("/portal/"))
    assert_refused(client.get("/memberview/list/"))


def test_wrong_password_does_not_log_in(client, data):
    client.post("/login/", data={"username": "admin", "password": ADMIN_PASSWORD + "x"})
    response = client.get("/memberview/list/")
    assert_refused(response)

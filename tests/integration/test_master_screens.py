"""Master screens: members with bank accounts, vehicles, operator settings, labels, Excel exports."""
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.models import Agency, AuditLog, Card, CardEvent, Member, OperatorSettings, Vehicle
from app.services.actor import acting_as
from app.services.cards import apply_card_event, prepare_new_card

MEMBER = {"code": "S0001", "name": "株式会社画面運輸", "kana": "がめんうんゆ", "postal_code": "105-0011",
          "address": "東京都港区芝公園1-1", "phone": "03-1111-2222", "payment_method": "direct_debit",
          "bank_code": "0001", "branch_code": "001", "account_type": "1", "account_number": "1234",
          "account_holder_kana": "ｶﾞﾒﾝｳﾝﾕ", "status": "active"}


def count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def text(response):
    return response.get_data(as_text=True)


# ---- members and bank accounts --------------------------------------------------------------------

def test_member_with_bank_account_gets_names_from_zengin_and_kana_normalised(staff_client, db):
    response = staff_client.post("/memberview/add", data=MEMBER, follow_redirects=True)
    assert response.status_code == 200
    member = db.session.scalar(select(Member).where(Member.code == "S0001"))
    assert member is not None, text(response)[:2000]
    assert (member.bank_code, member.bank_name, member.branch_code, member.branch_name) == (
        "0001", "みずほ", "001", "東京営業部")
    assert member.account_type == 1 and member.account_type_name() == "普通"
    assert member.account_number == "0001234"
    assert member.kana == "ガメンウンユ"
    assert member.account_holder_kana == "ガメンウンユ"
    show = text(staff_client.get(f"/memberview/show/{member.id}"))
    assert "みずほ" in show and "東京営業部" in show and "0001234" in show


def test_full_width_bank_codes_are_accepted(staff_client, db):
    staff_client.post("/memberview/add", data={**MEMBER, "bank_code": "０００５", "branch_code": "００１",
                                               "account_number": "７６５４３２１"}, follow_redirects=True)
    member = db.session.scalar(select(Member).where(Member.code == "S0001"))
    assert (member.bank_code, member.bank_name, member.account_number) == ("0005", "三菱ＵＦＪ", "7654321")


def test_editing_the_branch_code_refreshes_the_branch_name(staff_client, db):
    staff_client.post("/memberview/add", data=MEMBER, follow_redirects=True)
    member = db.session.scalar(select(Member).where(Member.code == "S0001"))
    staff_client.post(f"/memberview/edit/{member.id}", data={**MEMBER, "branch_code": "024"}, follow_redirects=True)
    db.session.expire_all()
    member = db.session.get(Member, member.id)
    assert (member.branch_code, member.branch_name) == ("024", "京橋")


@pytest.mark.parametrize("changes, message", [
    ({"bank_code": "9999"}, "銀行コード「9999」は全銀協の金融機関コードにありません。"),
    ({"bank_code": "12"}, "銀行コード「12」は4桁の数字です。"),
    ({"branch_code": "999"}, "支店コード「999」はみずほの支店にありません。"),
    ({"account_number": "123456789"}, "口座番号「123456789」は7桁以内の数字です。"),
    ({"account_holder_kana": "画面運輸"}, "口座名義カナは全角カタカナで入力してください（使えない文字: "),
    ({"kana": "画面"}, "フリガナは全角カタカナで入力してください（使えない文字: "),
])
def test_bad_member_input_shows_a_japanese_error_and_saves_nothing(staff_client, db, changes, message):
    response = staff_client.post("/memberview/add", data={**MEMBER, **changes}, follow_redirects=True)
    assert response.status_code == 200
    assert message in text(response)
    assert 'name="code"' in text(response)  # still on the form
    assert count(db, Member) == 0
    assert db.session.query(AuditLog).filter(AuditLog.table_name != "ab_user").count() == 0  # logins aside


def test_agency_gets_bank_names_too(staff_client, db):
    staff_client.post("/agencyview/add", data={"code": "AG01", "name": "株式会社紹介", "kana": "しょうかい",
                                               "bank_code": "0001", "branch_code": "001", "account_type": "2",
                                               "account_number": "55", "account_holder_kana": "ｼｮｳｶｲ"},
                      follow_redirects=True)
    agency = db.session.scalar(select(Agency).where(Agency.code == "AG01"))
    assert agency is not None
    assert (agency.bank_name, agency.branch_name, agency.account_number, agency.account_type) == (
        "みずほ", "東京営業部", "0000055", 2)
    assert agency.kana == "ショウカイ" and agency.account_holder_kana == "ショウカイ"


# ---- vehicles -------------------------------------------------------------------------------------

@pytest.fixture()
def member(db):
    with acting_as("tester-master"):
        member = Member(code="V0001", name="株式会社車両運輸", kana="シヤリヨウウンユ", payment_method="bank_transfer")
        db.session.add(member)
        db.session.commit()
    return member


VEHICLE = {"plate_region": "品川", "plate_class_number": "３０ａ", "plate_kana": "あ", "plate_serial": "１２－３４",
           "vehicle_class": "2", "is_etc2": "y", "note": "画面から"}


def test_vehicle_form_normalises_the_plate(staff_client, db, member):
    response = staff_client.post("/vehicleview/add", data={**VEHICLE, "member": str(member.id)},
                                 follow_redirects=True)
    assert response.status_code == 200
    vehicle = db.session.scalar(select(Vehicle))
    assert vehicle is not None, text(response)[:2000]
    assert (vehicle.plate_region, vehicle.plate_class_number, vehicle.plate_kana, vehicle.plate_serial) == (
        "品川", "30A", "あ", 1234)
    assert (vehicle.vehicle_class, vehicle.is_etc2, vehicle.member_id) == (2, True, member.id)
    assert vehicle.plate_text() == "品川 30A あ 12-34"


@pytest.mark.parametrize("changes, message", [
    ({"plate_kana": "お"}, "ひらがな「お」はナンバープレートに使われません（お・し・へ・ん は不可）。"),
    ({"plate_kana": "ア"}, "ひらがな「ア」はひらがな1文字で入力してください（例: あ）。"),
    ({"plate_class_number": "0A"}, "分類番号「0A」は1〜3桁の数字です（例: 100, 30A）。"),
    ({"plate_region": "Tokyo"}, "地名「Tokyo」は1〜5文字の漢字・かなで入力してください（例: 品川）。"),
    ({"plate_serial": "12345"}, "一連番号「12345」は1〜9999の数字です。"),
    ({"plate_serial": "0"}, "一連番号「0」は1〜9999の数字です。"),
])
def test_malformed_plate_shows_the_japanese_error_and_saves_nothing(staff_client, db, member, changes, message):
    response = staff_client.post("/vehicleview/add", data={**VEHICLE, "member": str(member.id), **changes},
                                 follow_redirects=True)
    assert message in text(response)
    assert count(db, Vehicle) == 0


# ---- operator settings ----------------------------------------------------------------------------

def _operator_form(db, **changes):
    settings = db.session.scalar(select(OperatorSettings))
    form = {"name": settings.name, "operator_type": settings.operator_type, "postal_code": "", "address": "",
            "phone": "", "registration_number": "", "debit_requester_code": "", "debit_requester_name_kana": "",
            "debit_day": "", "bank_code": "", "branch_code": "", "account_type": "", "account_number": "",
            "account_holder_kana": ""}
    form.update(changes)
    return settings.id, form


def test_invalid_registration_number_is_refused(staff_client, db):
    settings_id, form = _operator_form(db, registration_number="T7000012050003")
    response = staff_client.post(f"/operatorsettingsview/edit/{settings_id}", data=form, follow_redirects=True)
    assert "登録番号「T7000012050003」のチェックデジットが一致しません。番号をご確認ください。" in text(response)
    db.session.expire_all()
    assert db.session.get(OperatorSettings, settings_id).registration_number is None


def test_malformed_registration_number_is_refused(staff_client, db):
    settings_id, form = _operator_form(db, registration_number="7000012050002")
    response = staff_client.post(f"/operatorsettingsview/edit/{settings_id}", data=form, follow_redirects=True)
    assert "登録番号は「T」に続く13桁の数字です（例: T7000012050002）。" in text(response)
    db.session.expire_all()
    assert db.session.get(OperatorSettings, settings_id).registration_number is None


def test_valid_registration_number_is_accepted_and_normalised(staff_client, db):
    settings_id, form = _operator_form(db, registration_number="ｔ７０００－０１２０－５０００２",
                                       debit_requester_name_kana="ﾄｳﾄ")
    response = staff_client.post(f"/operatorsettingsview/edit/{settings_id}", data=form, follow_redirects=True)
    assert response.status_code == 200
    db.session.expire_all()
    settings = db.session.get(OperatorSettings, settings_id)
    assert settings.registration_number == "T7000012050002"
    assert settings.debit_requester_name_kana == "トウト"


def _get(client, url):
    """A request as in production. The db fixture keeps one app context open for the whole test and
    Flask reuses it for every test request, so `g` (where the label is cached per request) would
    otherwise carry over from one request to the next."""
    from flask import g

    g.pop("member_term", None)
    return client.get(url)


def test_company_operator_says_branch_instead_of_member(staff_client, db):
    assert "組合員一覧" in text(_get(staff_client, "/memberview/list/"))
    settings_id, form = _operator_form(db, operator_type="company", name="東都ロジスティクス株式会社")
    staff_client.post(f"/operatorsettingsview/edit/{settings_id}", data=form, follow_redirects=True)
    db.session.expire_all()
    assert db.session.get(OperatorSettings, settings_id).operator_type == "company"
    page = text(_get(staff_client, "/memberview/list/"))
    assert "支店・営業所一覧" in page
    assert "組合員一覧" not in page
    add = text(_get(staff_client, "/memberview/add"))
    assert "支店・営業所コード" in add and "組合員コード" not in add
    sheet = load_workbook(io.BytesIO(_get(staff_client, "/memberview/export/").data)).worksheets[0]
    assert sheet.title == "支店・営業所一覧"
    assert next(sheet.iter_rows(values_only=True))[:2] == ("支店・営業所コード", "支店・営業所名")
    # and back
    settings_id, form = _operator_form(db, operator_type="cooperative")
    staff_client.post(f"/operatorsettingsview/edit/{settings_id}", data=form, follow_redirects=True)
    assert "組合員一覧" in text(_get(staff_client, "/memberview/list/"))


# ---- Excel exports --------------------------------------------------------------------------------

@pytest.fixture()
def data(db):
    with acting_as("tester-master"):
        agency = Agency(code="AG01", name="株式会社紹介", kana="シヨウカイ")
        m1 = Member(code="E0001", name="株式会社出力運輸", kana="シユツリヨクウンユ", agency=agency,
                    payment_method="direct_debit", bank_code="0001", bank_name="みずほ", branch_code="001",
                    branch_name="東京営業部", account_type=1, account_number="0001234",
                    account_holder_kana="シユツリヨクウンユ")
        m2 = Member(code="E0002", name="株式会社第二物流", kana="ダイニブツリユウ", payment_method="bank_transfer",
                    status="withdrawn", withdrawn_on=dt.date(2026, 3, 31))
        v1 = Vehicle(member=m1, plate_region="品川", plate_class_number="100", plate_kana="あ", plate_serial=1234,
                     vehicle_class=2, is_etc2=True, is_commercial=True)
        v2 = Vehicle(member=m1, plate_region="練馬", plate_class_number="30A", plate_kana="か", plate_serial=12,
                     vehicle_class=5)
        db.session.add_all([agency, m1, m2, v1, v2])
        db.session.flush()
        card = Card(number="9011000000000011", kind="corporate", member=m1, vehicle=v1,
                    valid_from=dt.date(2025, 6, 15))
        prepare_new_card(db.session, card)
        db.session.flush()
        credit = Card(number="49801234567890", kind="credit", issuer="テスト信販", member=m2,
                      valid_from=dt.date(2025, 1, 1), valid_until=dt.date(2029, 12, 31))
        prepare_new_card(db.session, credit)
        db.session.flush()
        apply_card_event(db.session, CardEvent(card=card, kind="loss", occurred_on=dt.date(2026, 11, 3)))
        settings = db.session.scalar(select(OperatorSettings))
        settings.registration_number = "T7000012050002"
        settings.address = "東京都港区"
        db.session.commit()
    return {"m1": m1, "m2": m2, "card": card}


LISTS = ["memberview", "agencyview", "vehicleview", "cardview", "cardeventview", "operatorsettingsview",
         "auditlogview"]


def export(client, view, query=""):
    response = client.get(f"/{view}/export/{query}")
    assert response.status_code == 200, view
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    assert ".xlsx" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    return sheet, rows[0], rows[1:]


def _japanese(value) -> bool:
    return bool(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", value or ""))


@pytest.mark.parametrize("view", LISTS)
def test_every_list_exports_xlsx_with_japanese_headers(admin_client, db, data, view):
    sheet, header, rows = export(admin_client, view)
    assert all(header), header
    assert all(_japanese(h) or h == "ETC2.0" for h in header), header
    assert not any("." in h or "_" in h for h in header if h != "ETC2.0"), header  # no column names
    assert _japanese(sheet.title)
    assert rows, view
    list_page = text(admin_client.get(f"/{view}/list/"))
    assert "Excelに出力" in list_page and f"/{view}/export/" in list_page


def test_member_export_matches_the_list(admin_client, data):
    _, header, rows = export(admin_client, "memberview")
    assert [r[0] for r in rows] == ["E0001", "E0002"]  # the list's order: by code
    row = dict(zip(header, rows[0]))
    assert row["組合員名"] == "株式会社出力運輸"
    assert row["代理店"] == "AG01 株式会社紹介"
    assert (row["支払方法"], row["銀行名"], row["支店名"], row["預金種目"], row["口座番号"]) == (
        "口座振替", "みずほ", "東京営業部", "普通", "0001234")
    second = dict(zip(header, rows[1]))
    assert second["状態"] == "脱退"
    assert isinstance(second["脱退日"], dt.datetime) and second["脱退日"].date() == dt.date(2026, 3, 31)
    page = text(admin_client.get("/memberview/list/"))
    assert "株式会社出力運輸" in page and "株式会社第二物流" in page


def test_member_export_follows_the_search(admin_client, data):
    _, _, rows = export(admin_client, "memberview", "?_flt_0_code=E0002")
    assert [r[0] for r in rows] == ["E0002"]


def test_vehicle_export_keeps_numbers_as_numbers(admin_client, data):
    _, header, rows = export(admin_client, "vehicleview")
    assert header[:2] == ("組合員コード", "組合員名")
    by_plate = {dict(zip(header, r))["車両番号"]: dict(zip(header, r)) for r in rows}
    assert set(by_plate) == {"品川 100 あ 12-34", "練馬 30A か ・・12"}
    truck = by_plate["品川 100 あ 12-34"]
    assert truck["一連番号"] == 1234 and isinstance(truck["一連番号"], int)
    assert truck["分類番号"] == "100"
    assert truck["組合員コード"] == "E0001"
    assert (truck["ETC2.0"], truck["事業用"]) == ("はい", "はい")  # as the list shows them
    small = by_plate["練馬 30A か ・・12"]
    assert small["一連番号"] == 12 and (small["ETC2.0"], small["事業用"]) == ("いいえ", "いいえ")
    raw = next(r for r in rows if "品川 100 あ 12-34" in r)
    row = dict(zip(header, raw))
    assert (row["車種区分"], row["車種"]) == (2, "大型車")  # the code as a number, then its name


def test_card_export_has_digits_and_dates(admin_client, data):
    sheet, header, rows = export(admin_client, "cardview")
    assert header == ("カード番号", "カード種別", "発行元", "組合員コード", "組合員名", "車両", "有効開始日", "有効期限",
                      "状態", "状態変更日", "備考")
    by_number = {r[0]: dict(zip(header, r)) for r in rows}
    assert set(by_number) == {"9011000000000011", "49801234567890"}
    corporate = by_number["9011000000000011"]
    assert (corporate["カード種別"], corporate["発行元"], corporate["組合員コード"], corporate["車両"]) == (
        "コーポレートカード", "NEXCO", "E0001", "品川 100 あ 12-34")
    assert corporate["有効開始日"].date() == dt.date(2025, 6, 15)
    assert corporate["有効期限"].date() == dt.date(2030, 6, 30)
    assert corporate["状態"] == "紛失・盗難" and corporate["状態変更日"].date() == dt.date(2026, 11, 3)
    credit = by_number["49801234567890"]
    assert credit["車両"] is None and credit["有効期限"].date() == dt.date(2029, 12, 31)
    date_cells = [c for c in sheet.iter_rows(min_row=2) for c in c if isinstance(c.value, dt.datetime)]
    assert date_cells and all(c.number_format == "yyyy/mm/dd" for c in date_cells)
    page = text(admin_client.get("/cardview/list/"))
    assert "901100-0000-00001-1" in page and "2030/06/30" in page


def test_card_event_export(admin_client, data):
    _, header, rows = export(admin_client, "cardeventview")
    events = [dict(zip(header, r)) for r in rows]
    assert sorted(e["異動区分"] for e in events) == ["新規発行", "新規発行", "紛失・盗難"]
    loss = next(e for e in events if e["異動区分"] == "紛失・盗難")
    assert loss["異動日"].date() == dt.date(2026, 11, 3)
    assert (loss["カード"], loss["組合員コード"], loss["手数料"], loss["登録者"]) == (
        "901100-0000-00001-1", "E0001", "未請求", "tester-master")
    assert loss["入替前の車両"] == "品川 100 あ 12-34"
    assert events[0]["異動日"] >= events[-1]["異動日"]  # newest first, as the list


def test_operator_and_agency_exports(admin_client, data):
    _, header, rows = export(admin_client, "operatorsettingsview")
    assert dict(zip(header, rows[0]))["適格請求書発行事業者登録番号"] == "T7000012050002"
    assert dict(zip(header, rows[0]))["運営者の種類"] == "事業協同組合"
    _, header, rows = export(admin_client, "agencyview")
    assert [dict(zip(header, r))["代理店コード"] for r in rows] == ["AG01"]

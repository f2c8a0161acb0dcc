"""請求の画面: 請求処理 (draft through the screen, totals, member rows, warnings, close by the manager only),
請求書 (number, dates, lines, tax per rate, issuer, corrections), 請求一覧 (screen and Excel), 料金表 (JSON
validation in Japanese, YAML download and upload), and who may do what."""
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.models import Card, Member, OperatorSettings
from app.models.billing import CANCELLED, CLOSED, DRAFT, ISSUED, BillingRun, Invoice, InvoiceAdjustment
from app.models.tariff import TariffRule
from app.services.actor import acting_as
from app.services.cards import prepare_new_card
from tests.conftest import MANAGER_PASSWORD, MEMBER_PASSWORD, STAFF_PASSWORD, login

MONTH = "2026-10"
HEADER = ("利用年月日（自）,時分（自）,利用年月日（至）,時分（至）,利用ＩＣ（自）,利用ＩＣ（至）,割引前料金,ＥＴＣ割引額,"
          "通行料金,車種,車両番号,ＥＴＣカード番号,備考")
KNOWN = "4980001234567890"
UNKNOWN = "4980009876543210"
LINES = [
    f"26/10/01,06:12,26/10/01,07:05,東京,厚木,1320,0,1320,1,品川 300 あ 12-34,{KNOWN},",
    f"26/10/09,09:00,26/10/09,09:40,髙崎,宮﨑,\"12,560\",\"-1,000\",\"11,560\",5,群馬 480 な 78-90,{KNOWN},",
]
# The default tariff (app/tariffs/default.yaml) for a credit card with 12,880円 of tolls in its first month:
USAGE = 1320 + 11560  # 12,880円
USAGE_FEE = USAGE * 2 // 100  # 事務手数料 2% (切り捨て) = 257円
FEES = USAGE_FEE + 660 + 629  # + 組合員管理料 + カード発行手数料 = 1,546円
TOTAL = USAGE + FEES  # 14,426円
TAX = TOTAL * 10 // 110  # 内税, once per rate: 1,311円
REGISTRATION = "T7000012050002"


def meisai(lines) -> bytes:
    return ("\r\n".join([HEADER, *lines]) + "\r\n").encode("cp932")


def import_file(tmp_path, lines, name="etc-meisai-2026-10.csv"):
    from app.services.usage_import import import_usage_file

    path = tmp_path / name
    path.write_bytes(meisai(lines))
    with acting_as("test-setup"):
        return import_usage_file(path, "etc-meisai")


@pytest.fixture()
def billing(db, tmp_path):
    """One member paying by transfer with a registered credit card, the default tariff, the month's
    usage imported from a small cp932 etc-meisai file, and the operator's registration number."""
    from app.services.profiles import ensure_shipped_profiles
    from app.services.tariff import ensure_default_tariff

    ensure_shipped_profiles()
    ensure_default_tariff()
    with acting_as("test-setup"):
        member = Member(code="M0001", name="品川運送株式会社", kana="シナガワウンソウ", payment_method="bank_transfer",
                        address="東京都品川区東品川1-1-1")
        db.session.add(member)
        card = Card(number=KNOWN, kind="credit", issuer="テスト信販", member=member, valid_from=dt.date(2026, 4, 1))
        prepare_new_card(db.session, card)
        settings = db.session.query(OperatorSettings).first()
        settings.registration_number = REGISTRATION
        db.session.commit()
        ids = {"member": member.id, "card": card.id}
    summary = import_file(tmp_path, LINES)
    assert summary.rows == 2 and summary.total_billed == USAGE
    db.session.rollback()
    return ids


def run_draft(client, month=MONTH):
    response = client.post("/billing/run", data={"month": month}, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def close_month(client, month=MONTH):
    return client.post(f"/billing/close/{month}", follow_redirects=True)


def relogin(client, username, password):
    from flask import g

    client.post("/logout/")
    g.pop("_login_user", None)  # the tests' requests share one app context (Flask-Login's cached user)
    login(client, username, password)


def assert_refused(response):
    """FAB refuses a logged-in user without the permission (403, or a redirect to the login page)."""
    assert response.status_code in (302, 403), response.status_code
    if response.status_code == 302:
        assert "/login/" in response.headers["Location"]


def text_of(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def table(page: str, table_id: str) -> str:
    return text_of(re.search(rf'<table[^>]*id="{table_id}".*?</table>', page, re.S).group(0))


def the_invoice(db) -> Invoice:
    db.session.rollback()
    return db.session.scalars(select(Invoice).where(Invoice.month == MONTH, Invoice.status != CANCELLED)).one()


# ---- 請求処理 -------------------------------------------------------------------------------------

def test_staff_runs_a_draft_through_the_screen_and_sees_totals_and_the_member_row(staff_client, db, billing):
    page = staff_client.get("/billing/").get_data(as_text=True)
    assert "請求処理" in page and "下書きを作成・再計算" in page
    assert "2026年10月" in page and "未作成" in page  # usage imported, no draft yet

    page = run_draft(staff_client)
    assert "2026-10 の請求下書きを作成しました" in page
    assert "2026年10月の請求" in page and "下書き" in page
    totals = table(page, "billing-totals")
    for label, amount in (("利用額", USAGE), ("道路事業者割引", 0), ("組合員割引", 0), ("手数料", FEES),
                          ("調整（訂正）", 0), ("消費税（内税）", TAX), ("請求合計", TOTAL)):
        assert f"{label} {amount:,}円" in totals, (label, totals)
    assert "件数 1件" in totals
    assert (USAGE, FEES, TAX, TOTAL) == (12880, 1546, 1311, 14426)

    members = table(page, "billing-members")
    for header in ("組合員コード", "組合員名", "利用額", "割引", "手数料", "消費税", "請求金額", "前月", "差額"):
        assert header in members
    assert re.search(r"M0001 品川運送株式会社 （未採番） 下書き 12,880円 0円 1,546円 0円 1,311円 14,426円 なし", members), members
    invoice = the_invoice(db)
    assert f'href="/invoices/show/{invoice.id}"' in page
    assert "確認事項はありません" in page
    assert 'id="operator-check"' in page and "運営者の収支" in page
    assert "1,546円" in table(page, "operator-margin")  # margin = fees (no road-operator discount on credit cards)
    # staff may recompute, but sees no close button
    assert 'id="recompute"' in page and 'id="close-open"' not in page and "close-dialog" not in page

    page = run_draft(staff_client)
    assert "下書きを再計算しました" in page
    assert db.session.scalar(select(func.count()).select_from(Invoice)) == 1
    listing = staff_client.get("/billing/").get_data(as_text=True)
    assert "14,426円" in table(listing, "billing-runs") and "再計算 1回" in listing


def test_a_wrong_month_is_refused_in_japanese(staff_client, db, billing):
    page = run_draft(staff_client, month="2026-13")
    assert "請求月「2026-13」は YYYY-MM の形で指定してください" in page
    assert db.session.scalar(select(func.count()).select_from(BillingRun)) == 0


def test_staff_cannot_close_the_month(staff_client, db, billing):
    run_draft(staff_client)
    assert_refused(staff_client.post(f"/billing/close/{MONTH}"))
    db.session.rollback()
    run = db.session.scalars(select(BillingRun)).one()
    assert run.status == DRAFT and the_invoice(db).number is None


def test_manager_reviews_and_closes_and_the_invoices_get_numbers(client, db, billing):
    login(client, "staff", STAFF_PASSWORD)
    run_draft(client)
    relogin(client, "manager", MANAGER_PASSWORD)
    page = client.get(f"/billing/month/{MONTH}").get_data(as_text=True)
    assert 'id="close-open"' in page and 'id="close-dialog"' in page
    assert "よろしいですか" in page and 'id="recompute"' not in page  # the manager closes, staff compute
    assert_refused(client.post("/billing/run", data={"month": MONTH}))

    page = close_month(client).get_data(as_text=True)
    assert "2026年10月を締めました" in page and "締め済" in page
    assert "00000001" in table(page, "billing-members")
    assert 'id="close-open"' not in page
    db.session.rollback()
    run = db.session.scalars(select(BillingRun)).one()
    assert run.status == CLOSED and run.closed_by == "manager"
    invoice = the_invoice(db)
    assert (invoice.number, invoice.status, invoice.invoice_date, invoice.debit_date) == (
        "00000001", ISSUED, dt.date(2026, 11, 20), dt.date(2026, 12, 7))

    # a closed month is neither recomputed nor closed again
    relogin(client, "staff", STAFF_PASSWORD)
    page = run_draft(client)
    assert "締め済み" in page
    relogin(client, "manager", MANAGER_PASSWORD)
    assert "締め済みです" in close_month(client).get_data(as_text=True)


def test_the_admin_may_close_too(client, db, billing):
    from tests.conftest import ADMIN_PASSWORD

    login(client, "admin", ADMIN_PASSWORD)
    page = run_draft(client)
    assert 'id="close-open"' in page and 'id="recompute"' in page
    assert "2026年10月を締めました" in close_month(client).get_data(as_text=True)
    assert the_invoice(db).number == "00000001"


def test_close_is_refused_while_blocking_warnings_remain(client, db, billing, tmp_path):
    import_file(tmp_path, [f"26/10/03,01:10,26/10/03,03:02,浜松西,名古屋,4560,-1360,3200,2,浜松 100 か 56-78,{UNKNOWN},"
                           "深夜割引"], name="unknown.csv")
    login(client, "staff", STAFF_PASSWORD)
    page = run_draft(client)
    warning = re.search(r'<div class="alert alert-danger billing-warning"\s+data-code="unregistered_card".*?</div>',
                        page, re.S).group(0)
    assert "締め不可" in warning and "1件" in warning and "未登録カード" in warning
    assert f'href="/usage/unregistered/?month={MONTH}"' in warning

    relogin(client, "manager", MANAGER_PASSWORD)
    page = client.get(f"/billing/month/{MONTH}").get_data(as_text=True)
    assert 'id="close-disabled"' in page and "締め不可の確認事項があるため締められません" in page
    page = close_month(client).get_data(as_text=True)  # posted anyway: the service refuses
    assert "2026-10 は締められません" in page
    assert "【締め不可】未登録カードの走行明細があります" in page
    db.session.rollback()
    assert db.session.scalars(select(BillingRun)).one().status == DRAFT


def test_operator_check_compares_computed_and_reported_vehicle_discounts(staff_client, db, billing, tmp_path):
    """A corporate card with 40,000円 of NEXCO tolls: 車両単位割引 7,500円 (0 + 500 + 4,000 + 3,000),
    passed on whole to the member; the road operator reported 7,400円, so the check shows −100円."""
    from app.models import Vehicle
    from app.models.billing import OperatorDiscountReport
    from app.models.usage import ImportProfile
    from app.services.usage_import import import_usage_file
    from app.views.usage_masters import PROFILE_FIELDS

    corporate = "9011000000001234"
    with acting_as("test-setup"):
        member = Member(code="M0002", name="海野物流株式会社", kana="ウミノブツリユウ", payment_method="bank_transfer",
                        address="東京都港区海岸2-2-2")
        vehicle = Vehicle(member=member, plate_region="品川", plate_class_number="100", plate_kana="あ",
                          plate_serial=1234, vehicle_class=2)
        db.session.add_all([member, vehicle])
        prepare_new_card(db.session, Card(number=corporate, kind="corporate", issuer="NEXCO", member=member,
                                          vehicle=vehicle, valid_from=dt.date(2026, 4, 1)))
        shipped = db.session.scalars(select(ImportProfile).where(ImportProfile.name == "etc-meisai")).one()
        profile = ImportProfile(name="etc-meisai-nexco", **{f: getattr(shipped, f) for f in PROFILE_FIELDS})
        profile.road_operator = "NEXCO"
        db.session.add(profile)
        db.session.add(OperatorDiscountReport(month=MONTH, road_operator="NEXCO", card_number=corporate, amount=7400,
                                              source="test"))
        db.session.commit()
        path = tmp_path / "nexco.csv"
        path.write_bytes(meisai([f"26/10/{d:02d},06:12,26/10/{d:02d},07:05,東京,厚木,10000,0,10000,2,"
                                 f"品川 100 あ 12-34,{corporate}," for d in (1, 2, 3, 4)]))
        import_usage_file(path, "etc-meisai-nexco")
    db.session.rollback()

    page = run_draft(staff_client)
    totals = table(page, "billing-totals")
    assert "道路事業者割引 7,500円" in totals and "組合員割引 7,500円" in totals
    assert re.search(r"M0002 海野物流株式会社 （未採番） 下書き 40,000円 7,500円", table(page, "billing-members"))
    check = table(page, "operator-check")
    assert "nexco_vehicle NEXCO 901100-0000-00123-4 M0002 40,000円 7,500円 7,400円 -100円" in check, check
    margin = table(page, "operator-margin")
    assert "計算値と報告値の差がある行 1件" in margin
    assert f"運営者の収支 {7400 - 7500 + FEES + 660 + 629:,}円" in margin  # received − passed on + fees


# ---- 請求書 ---------------------------------------------------------------------------------------

@pytest.fixture()
def closed(client, db, billing):
    login(client, "staff", STAFF_PASSWORD)
    run_draft(client)
    relogin(client, "manager", MANAGER_PASSWORD)
    close_month(client)
    relogin(client, "staff", STAFF_PASSWORD)
    return the_invoice(db).id


def test_the_invoice_shows_number_dates_lines_tax_and_issuer(client, db, closed):
    page = client.get(f"/invoices/show/{closed}").get_data(as_text=True)
    assert "00000001" in page and "発行済" in page
    header = table(page, "invoice-header")
    assert "請求日 2026/11/20" in header and "お支払期日 2026/12/07" in header
    assert "支払方法 振込" in header and "M0001 品川運送株式会社" in header and "2026年10月" in header
    issuer = table(page, "invoice-issuer")
    assert "テスト事業協同組合" in issuer and REGISTRATION in issuer
    tax = table(page, "invoice-tax")
    assert f"10%対象（税込） {TOTAL:,}円" in tax and f"うち消費税（10%） {TAX:,}円" in tax and "不課税 0円" in tax
    lines = table(page, "invoice-lines")
    assert "通行料金 498000-1234-56789-0" in lines and "12,880円" in lines
    assert "事務手数料（クレジットカード）" in lines and "257円" in lines
    assert "組合員管理料" in lines and "660円" in lines and "カード発行手数料" in lines and "629円" in lines
    assert "合計（税込） 14,426円" in lines
    assert re.search(r"<details class=\"breakdown\">\s*<summary[^>]*>計算の内訳</summary>\s*<pre[^>]*>"
                     r"事務手数料（クレジットカード） 12,880円 × 2% = 257円</pre>", page)
    assert "訂正はありません" in page
    assert 'id="adjust-form"' in page and 'id="reissue-form"' in page  # staff, issued invoice


def test_invoice_list_defaults_to_the_newest_month_and_exports(client, db, closed):
    page = client.get("/invoices/list/").get_data(as_text=True)
    assert "請求書一覧" in page and "00000001" in page and "14,426円" in page and "発行済" in page
    assert 'option value="2026-10" selected' in page
    assert "/invoices/export/?_flt_3_month=2026-10" in page
    response = client.get("/invoices/export/?_flt_3_month=2026-10")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("請求書番号", "組合員コード", "組合員名", "利用月")
    assert rows[1][0] == "00000001" and rows[1][-1] == TOTAL
    empty = client.get("/invoices/list/?_flt_3_month=2026-09").get_data(as_text=True)
    assert "00000001" not in empty


def test_an_adjustment_shows_on_the_original_invoice(client, db, closed):
    response = client.post(f"/invoices/adjust/{closed}", data={"amount": "-1,000", "description": "通行料金の二重計上"},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "訂正額 -1,000円（通行料金の二重計上）を登録しました" in page
    adjustments = table(page, "invoice-adjustments")
    assert "-1,000円 通行料金の二重計上 00000001 （この請求書）" in adjustments
    assert "締めていない次の月の請求書で請求します" in adjustments and "staff" in adjustments
    db.session.rollback()
    invoice = db.session.get(Invoice, closed)
    assert invoice.total == TOTAL and invoice.status == ISSUED  # the issued invoice never changes
    assert db.session.scalars(select(InvoiceAdjustment)).one().amount == -1000

    # wrong input: Japanese, nothing saved
    response = client.post(f"/invoices/adjust/{closed}", data={"amount": "千円", "description": "x"})
    assert response.status_code == 400
    assert "訂正額は円の整数で入力してください" in response.get_data(as_text=True)
    response = client.post(f"/invoices/adjust/{closed}", data={"amount": "0", "description": "x"})
    assert "訂正額は0以外の整数" in response.get_data(as_text=True)
    response = client.post(f"/invoices/adjust/{closed}", data={"amount": "500", "description": " "})
    assert "訂正の内容（理由）を入力してください" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(InvoiceAdjustment)) == 1


def test_a_corrected_invoice_cancels_the_original_and_both_link(client, db, closed):
    response = client.post(f"/invoices/reissue/{closed}", data={"reason": "手数料の誤り"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "訂正請求書 00000002 を発行しました。請求書 00000001 は取消になりました。" in page
    assert "00000001" in text_of(re.search(r'id="corrects".*?</div>', page, re.S).group(0))
    assert "理由: 手数料の誤り" in page
    original = client.get(f"/invoices/show/{closed}").get_data(as_text=True)
    assert "訂正により取り消されました" in original and "00000002" in original
    assert 'id="adjust-form"' not in original  # a cancelled invoice is not corrected again
    response = client.post(f"/invoices/reissue/{closed}", data={"reason": "もう一度"}, follow_redirects=True)
    assert "訂正により取り消されています" in response.get_data(as_text=True)


def test_the_manager_reads_invoices_but_does_not_correct_them(client, db, closed):
    relogin(client, "manager", MANAGER_PASSWORD)
    page = client.get(f"/invoices/show/{closed}").get_data(as_text=True)
    assert "00000001" in page and 'id="adjust-form"' not in page and 'id="reissue-form"' not in page
    assert_refused(client.post(f"/invoices/adjust/{closed}", data={"amount": "100", "description": "x"}))
    assert_refused(client.post(f"/invoices/reissue/{closed}", data={"reason": "x"}))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(InvoiceAdjustment)) == 0
    assert client.get("/billing/invoice-list/").status_code == 200
    assert client.get("/tariff/list/").status_code == 200
    assert client.get("/tariff/add").status_code == 200  # the tariff is the manager's (issue 9 item 16)


# ---- 請求一覧 -------------------------------------------------------------------------------------

def test_invoice_list_on_screen_and_as_excel(client, db, closed):
    page = client.get(f"/billing/invoice-list/?month={MONTH}").get_data(as_text=True)
    body = table(page, "invoice-list")
    assert "組合員コード 組合員名 請求書番号 利用額 割引額 手数料 訂正額 消費税 請求金額" in body
    assert "M0001 品川運送株式会社 00000001 12,880円 0円 1,546円 0円 1,311円 14,426円" in body
    assert "合計 1件 12,880円 0円 1,546円 0円 1,311円 14,426円" in body

    response = client.get(f"/billing/invoice-list/download/?month={MONTH}")
    assert response.status_code == 200 and "spreadsheetml" in response.mimetype
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("組合員コード", "組合員名", "請求書番号", "利用額", "割引額", "手数料", "訂正額", "消費税", "請求金額")
    assert rows[1] == ("M0001", "品川運送株式会社", "00000001", USAGE, 0, FEES, 0, TAX, TOTAL)
    assert rows[-1] == ("合計", "1件", None, USAGE, 0, FEES, 0, TAX, TOTAL)
    assert sheet.cell(row=2, column=9).number_format == "#,##0"


# ---- roles ----------------------------------------------------------------------------------------

def test_member_role_is_refused_everywhere(client, db, closed):
    from app.extensions import appbuilder
    from app.models import MemberAccount

    user = appbuilder.sm.find_user(username="member1")
    db.session.add(MemberAccount(user_id=user.id, member_id=the_invoice(db).member_id))
    db.session.commit()
    relogin(client, "member1", MEMBER_PASSWORD)
    rule_id = db.session.scalar(select(TariffRule.id).limit(1))
    for url in ("/billing/", f"/billing/month/{MONTH}", "/invoices/list/", f"/invoices/show/{closed}",
                "/invoices/export/", "/billing/invoice-list/", f"/billing/invoice-list/download/?month={MONTH}",
                "/tariff/list/", f"/tariff/show/{rule_id}", "/tariff/add", "/tariff/yaml/", "/tariff/upload/",
                "/tariff/export/"):
        response = client.get(url)
        assert_refused(response)
        assert "品川運送株式会社" not in response.get_data(as_text=True), url
    for url, data in (("/billing/run", {"month": MONTH}), (f"/billing/close/{MONTH}", {}),
                      (f"/invoices/adjust/{closed}", {"amount": "1", "description": "x"}),
                      (f"/invoices/reissue/{closed}", {"reason": "x"})):
        assert_refused(client.post(url, data=data))
    menu = client.get("/portal/", follow_redirects=True).get_data(as_text=True)
    assert "請求処理" not in menu and "料金表" not in menu


def test_the_billing_menu_is_japanese_for_staff(staff_client, db, billing):
    page = staff_client.get("/billing/").get_data(as_text=True)
    for label in ("請求処理", "請求書", "請求一覧", "料金表"):
        assert f">{label}<" in page or f"> {label}" in page or label in page


# ---- 料金表 ---------------------------------------------------------------------------------------

# The rule forms, 改定 and its preview: tests/integration/test_tariff_forms.py.
RULE = {"type": "member_monthly_fee", "label": "テスト管理料", "valid_from": "2026/11/01", "valid_to": "",
        "amount": "330", "rounding": "floor"}


def field_errors(page: str) -> str:
    return " ".join(text_of(block) for block in re.findall(r'<div class="alert alert-danger">(.*?)</div>', page, re.S))


def test_tariff_yaml_download_and_upload_all_or_nothing(manager_client, db, billing):
    staff_client = manager_client  # the tariff is changed by 責任者 and 管理者
    response = staff_client.get("/tariff/yaml/")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    text = response.data.decode("utf-8")
    assert text.startswith("# Tollbook 料金表") and "rules:" in text and "credit_usage_fee" in text
    before = db.session.scalar(select(func.count()).select_from(TariffRule))

    broken = re.sub(r"rate: ['\"]?0\.02['\"]?", "rate: '2.0'", text).replace("amount: 660", "amount: -660")
    assert broken.count("'2.0'") == 1
    page = staff_client.post("/tariff/upload/", data={"file": (io.BytesIO(broken.encode()), "tariff.yaml")},
                             content_type="multipart/form-data").get_data(as_text=True)
    errors = text_of(re.search(r'id="tariff-errors".*?</div>', page, re.S).group(0))
    assert "取り込みませんでした" in errors and "credit_usage_fee" in errors and "0〜1" in errors
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(TariffRule)) == before

    page = staff_client.post("/tariff/upload/", data={"file": (io.BytesIO(b"rules: [\n"), "bad.yaml")},
                             content_type="multipart/form-data").get_data(as_text=True)
    assert "YAML として読めません" in page

    changed = text.replace("amount: 660", "amount: 770")
    assert changed != text
    page = staff_client.post("/tariff/upload/", data={"file": (io.BytesIO(changed.encode()), "tariff.yaml")},
                             content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "料金表を取り込みました" in page
    db.session.rollback()
    monthly = db.session.scalars(select(TariffRule).where(TariffRule.rule_id == "member_monthly")).one()
    assert monthly.params == {"amount": 770}


# ---- Japanese only --------------------------------------------------------------------------------

def test_every_billing_screen_is_japanese(client, db, closed):
    """The billing screens with data in them, as the admin sees them (every button and form): none of
    FAB's English (tests/integration/test_japanese_ui.py walks the menu with empty billing tables)."""
    from tests.conftest import ADMIN_PASSWORD
    from tests.integration.test_japanese_ui import english_on

    client.post(f"/invoices/adjust/{closed}", data={"amount": "-1000", "description": "二重計上"})
    relogin(client, "admin", ADMIN_PASSWORD)
    rule_id = db.session.scalar(select(TariffRule.id).limit(1))
    failures, latin = [], []
    for url in ("/billing/", f"/billing/month/{MONTH}", "/invoices/list/", f"/invoices/show/{closed}",
                "/billing/invoice-list/", "/tariff/list/", "/tariff/add", f"/tariff/show/{rule_id}",
                f"/tariff/edit/{rule_id}", "/tariff/upload/", "/tariff/add?type=vehicle_discount",
                "/tariff/add?type=member_discount", f"/tariff/revise/{rule_id}", f"/tariff/versions/{rule_id}"):
        response = client.get(url)
        assert response.status_code == 200, url
        failures += [f"{url}: {problem}" for problem in english_on(response.get_data(as_text=True), latin)]
    page = client.post("/tariff/add", data={**RULE, "amount": "三百"}).get_data(as_text=True)
    failures += english_on(page, latin)
    assert not failures, failures
    allowed = {"JSON", "YAML", "IC", "tariff.md"}  # 料金表 help names docs/tariff.md; ICマスタ (menu)
    words = {re.search(r"latin '([^']+)'", item).group(1) for item in latin}
    assert not {w for w in words if w not in allowed and not re.fullmatch(r"[a-z_]+", w)}, sorted(words)

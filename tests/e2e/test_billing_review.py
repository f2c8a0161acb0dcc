"""請求処理 in a real browser: staff run the month's draft from the screen, the manager logs in, reviews
the totals and the member rows, confirms the close in the dialog and sees the invoice numbers; the
invoice opens with its lines, a collapsible breakdown, the tax per rate and the issuer."""
import datetime as dt
import re

import pytest
from sqlalchemy import select

from tests.conftest import MANAGER_PASSWORD, STAFF_PASSWORD
from tests.e2e.test_journeys import log_in, log_out

expect = pytest.importorskip("playwright.sync_api", reason="playwright が入っていません").expect

pytestmark = pytest.mark.e2e

HEADER = ("利用年月日（自）,時分（自）,利用年月日（至）,時分（至）,利用ＩＣ（自）,利用ＩＣ（至）,割引前料金,ＥＴＣ割引額,"
          "通行料金,車種,車両番号,ＥＴＣカード番号,備考")
CARDS = {"M0001": ("品川運送株式会社", "4980001234567890"), "M0002": ("海野物流株式会社", "4980002222333344")}


@pytest.fixture()
def month_with_usage(db, tmp_path):
    """Two members (transfer) with a credit card each, the default tariff, October's usage imported."""
    from app.models import Card, Member, OperatorSettings
    from app.services.actor import acting_as
    from app.services.cards import prepare_new_card
    from app.services.profiles import ensure_shipped_profiles
    from app.services.tariff import ensure_default_tariff
    from app.services.usage_import import import_usage_file

    ensure_shipped_profiles()
    ensure_default_tariff()
    with acting_as("test-setup"):
        for code, (name, number) in CARDS.items():
            member = Member(code=code, name=name, kana="テスト", payment_method="bank_transfer",
                            postal_code="140-0002", address=f"東京都品川区東品川{code[-1]}-1-1")  # the close needs it
            db.session.add(member)
            prepare_new_card(db.session, Card(number=number, kind="credit", issuer="テスト信販", member=member,
                                              valid_from=dt.date(2026, 4, 1)))
        db.session.query(OperatorSettings).first().registration_number = "T7000012050002"
        db.session.commit()
        lines = [HEADER]
        for day in range(1, 21):
            lines.append(f"26/10/{day:02d},06:12,26/10/{day:02d},07:05,東京,厚木,1320,0,1320,1,品川 300 あ 12-34,"
                         f"{CARDS['M0001'][1]},")
        for day in range(1, 6):
            lines.append(f"26/10/{day:02d},09:00,26/10/{day:02d},09:40,横浜町田,東京,1000,0,1000,1,横浜 500 さ 90-12,"
                         f"{CARDS['M0002'][1]},")
        path = tmp_path / "etc-meisai-2026-10.csv"
        path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp932"))
        import_usage_file(path, "etc-meisai")
    db.session.rollback()  # no open read transaction while the server thread writes (SQLite)


def test_staff_runs_the_draft_and_the_manager_reviews_and_closes(page, db, month_with_usage, artifacts):
    from app.models.billing import BillingRun, Invoice

    # staff: 請求処理 → run October's draft
    log_in(page, "staff", STAFF_PASSWORD)
    page.goto("/billing/")
    page.fill("#month", "2026-10")
    page.locator("#run-billing").click()
    page.wait_for_load_state()
    expect(page.locator(".alert-success").first).to_contain_text("2026-10 の請求下書きを作成しました")
    expect(page.locator("#billing-members tbody tr")).to_have_count(2)
    expect(page.locator("#close-open")).to_have_count(0)  # staff cannot close
    log_out(page)

    # manager: review
    log_in(page, "manager", MANAGER_PASSWORD)
    page.goto("/billing/")
    page.get_by_role("link", name="2026年10月").click()
    page.wait_for_load_state()
    expect(page.locator("h2")).to_contain_text("2026年10月の請求")
    totals = page.locator("#billing-totals")
    # M0001: 26,400 + 2% 528 + 660 + 629 = 28,217円; M0002: 5,000 + 100 + 660 + 629 = 6,389円
    expect(totals.locator("tr", has_text="利用額")).to_contain_text("31,400円")
    expect(totals.locator("tr", has_text="手数料")).to_contain_text("3,206円")
    expect(totals.locator("tr", has_text="請求合計")).to_contain_text("34,606円")
    expect(totals.locator("tr", has_text="件数")).to_contain_text("2件")
    row = page.locator("#billing-members tr", has_text="M0001")
    expect(row).to_contain_text("品川運送株式会社")
    expect(row).to_contain_text("28,217円")
    expect(row).to_contain_text("（未採番）")
    expect(page.locator("#billing-warnings")).to_contain_text("確認事項はありません")
    expect(page.locator("#operator-margin")).to_contain_text("運営者の収支")
    page.screenshot(path=str(artifacts / "billing1_review_draft.png"), full_page=True)

    # close: the dialog asks first; cancelling changes nothing
    page.locator("#close-open").click()
    dialog = page.locator("#close-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("請求書 2件（請求合計 34,606円）に番号を付けて発行します")
    page.screenshot(path=str(artifacts / "billing2_close_dialog.png"))
    dialog.get_by_role("button", name="キャンセル").click()
    expect(dialog).to_be_hidden()
    assert db.session.scalars(select(BillingRun)).one().status == "draft"
    db.session.rollback()

    page.locator("#close-open").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="締めて請求書を発行する").click()
    page.wait_for_load_state()
    expect(page.locator(".alert-success").first).to_contain_text("2026年10月を締めました")
    expect(page.locator("h2")).to_contain_text("締め済")
    expect(page.locator("#billing-members tr", has_text="M0001")).to_contain_text("00000001")
    expect(page.locator("#billing-members tr", has_text="M0002")).to_contain_text("00000002")
    expect(page.locator("#close-open")).to_have_count(0)
    page.screenshot(path=str(artifacts / "billing3_review_closed.png"), full_page=True)
    numbers = db.session.scalars(select(Invoice.number).order_by(Invoice.number)).all()
    assert numbers == ["00000001", "00000002"]
    db.session.rollback()

    # the invoice: number, dates, lines, the breakdown (collapsed until opened), tax, issuer
    page.get_by_role("link", name="00000001").click()
    page.wait_for_load_state()
    expect(page.locator("#invoice-number")).to_have_text("00000001")
    expect(page.locator("#invoice-date")).to_have_text("2026/11/20")
    expect(page.locator("#debit-date")).to_have_text("2026/12/07")
    expect(page.locator("#registration-number")).to_have_text("T7000012050002")
    expect(page.locator("#invoice-tax tr", has_text="うち消費税")).to_contain_text("2,565円")  # 28,217 × 10/110
    line = page.locator("#invoice-lines tbody tr", has_text="事務手数料")
    expect(line).to_contain_text("528円")
    breakdown = line.locator("details pre")
    expect(breakdown).to_be_hidden()
    line.locator("summary").click()
    expect(breakdown).to_be_visible()
    expect(breakdown).to_contain_text("26,400円 × 2% = 528円")
    expect(page.locator("#adjust-form")).to_have_count(0)  # the manager reads; staff correct
    page.screenshot(path=str(artifacts / "billing4_invoice.png"), full_page=True)

    # 請求一覧 for the month, with its totals row
    page.goto("/billing/invoice-list/?month=2026-10")
    expect(page.locator("#invoice-list-total")).to_contain_text("34,606円")
    expect(page.locator("#invoice-list tbody tr")).to_have_count(2)
    assert re.search(r"2件", page.locator("#invoice-list-total").inner_text())
    page.screenshot(path=str(artifacts / "billing7_invoice_list.png"), full_page=True)

    # 請求書 list: the newest month without asking
    page.goto("/invoices/list/")
    expect(page.locator("#invoice-month-select")).to_have_value("2026-10")
    expect(page.locator("table tr", has_text="00000002")).to_contain_text("6,389円")
    page.screenshot(path=str(artifacts / "billing8_invoices.png"), full_page=True)


def test_manager_edits_a_tariff_rule_and_reads_the_error(page, db, artifacts):
    """The rule's own form (率 in %), an error in Japanese on the field, then saved."""
    from app.models.tariff import TariffRule
    from app.services.tariff import ensure_default_tariff

    ensure_default_tariff()
    rule_id = db.session.scalar(select(TariffRule.id).where(TariffRule.rule_id == "credit_usage_fee"))
    db.session.rollback()
    log_in(page, "manager", MANAGER_PASSWORD)
    page.goto("/tariff/list/")
    expect(page.locator("#tariff-yaml-download")).to_have_text(re.compile("YAMLで書き出し"))
    expect(page.get_by_role("cell", name="事務手数料（クレジットカード）", exact=True)).to_be_visible()
    page.screenshot(path=str(artifacts / "billing5_tariff_list.png"), full_page=True)

    page.goto(f"/tariff/edit/{rule_id}")
    rate = page.locator("input#rate")
    expect(rate).to_have_value("2")
    rate.fill("八")
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    expect(page.locator(".alert-danger", has_text="率は % の数で入力してください")).to_be_visible()
    page.screenshot(path=str(artifacts / "billing6_tariff_error.png"), full_page=True)
    page.locator("input#rate").fill("8")
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    expect(page.locator(".alert-success").first).to_be_visible()
    assert db.session.get(TariffRule, rule_id).params == {"rate": "0.08"}
    db.session.rollback()

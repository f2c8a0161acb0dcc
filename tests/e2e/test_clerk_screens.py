"""Issue 9 in the browser: a form opened from a member's page names the member, offers only its cards,
saves and returns to that page; the keyboard alone fills a form (select2 typing, first-field focus,
Enter submits); the home checklist's counts follow an import; a refused delete shows its reason."""
import re

import pytest
from sqlalchemy import func, select

from tests.conftest import STAFF_PASSWORD

from .test_journeys import log_in

expect = pytest.importorskip("playwright.sync_api", reason="playwright が入っていません").expect

pytestmark = pytest.mark.e2e


def members_with_cards(db):
    from tests.integration.test_cards import make_member, make_vehicle, new_card

    a = make_member(db, "M0001", "株式会社山田運輸")
    b = make_member(db, "M0002", "髙橋物流有限会社", "タカハシブツリュウ")
    va, vb = make_vehicle(db, a, 1234), make_vehicle(db, b, 5678, "練馬")
    ca, _ = new_card(db, a, va, "9011000000000011")
    cb, _ = new_card(db, b, vb, "9011000000000029")
    db.session.rollback()
    return a, b, ca, cb


def test_loss_from_the_card_page_names_the_card_and_returns_to_it(page, db, artifacts):
    a, b, ca, cb = members_with_cards(db)
    log_in(page, "staff", STAFF_PASSWORD)
    page.goto(f"/memberview/show/{a.id}")
    expect(page.locator(".panel-title").first).to_contain_text("組合員の詳細（M0001 株式会社山田運輸）")
    page.goto(f"/cardview/show/{ca.id}")
    buttons = page.locator("#record-buttons a")
    expect(buttons).to_have_text(["編集", "紛失・盗難", "再発行", "車両入替", "解約", "更新"])
    buttons.filter(has_text="紛失・盗難").click()
    page.wait_for_load_state()
    expect(page.locator(".panel-title").first).to_contain_text("カード 901100-0000-00001-1・品川 100 あ 12-34・M0001 株式会社山田運輸")
    expect(page.locator("#kind")).to_have_value("loss")
    page.screenshot(path=str(artifacts / "clerk_loss_form_from_card.png"), full_page=True)
    page.fill("#occurred_on", "R8.11.20")
    page.locator("#occurred_on").press("Enter")  # Enter in the date field submits
    page.wait_for_url(re.compile(rf"/cardview/show/{ca.id}$"))
    expect(page.locator("tr", has=page.locator("th", has_text=re.compile(r"^\s*状態\s*$")))).to_contain_text("紛失・盗難")
    expect(page.locator("#record-buttons a")).to_have_text(["編集", "再発行", "解約"])


def test_event_form_from_a_member_offers_only_its_cards_by_keyboard(page, db):
    a, b, ca, cb = members_with_cards(db)
    log_in(page, "staff", STAFF_PASSWORD)
    page.goto(f"/memberview/show/{a.id}")
    page.goto(f"/cardeventview/add?_flt_0_member={a.id}")
    expect(page.locator(".panel-title").first).to_contain_text("カード異動の登録（M0001 株式会社山田運輸）")
    # the first field (the card picker) has the focus; typing opens it with the text in its search box
    expect(page.locator("#select2-card-container")).to_contain_text("選択してください")
    expect(page.locator(".select2-selection:has(#select2-card-container)")).to_be_focused()
    page.keyboard.type("9011")
    options = page.locator(".select2-results__option")
    expect(options).to_have_count(1)  # only M0001's card: M0002's is not offered
    expect(page.locator(".select2-search__field")).to_have_value("9011")
    page.keyboard.press("Enter")
    expect(page.locator("#select2-card-container")).to_contain_text("901100-0000-00001-1")


def test_home_checklist_counts_follow_an_import(page, db, artifacts, tmp_path):
    from app.services.actor import acting_as
    from app.services.usage_import import import_usage_file

    members_with_cards(db)
    log_in(page, "staff", STAFF_PASSWORD)
    page.goto("/?month=2026-10")
    expect(page.locator("#checklist-unregistered")).to_have_text("0件")
    csv = tmp_path / "meisai.csv"
    csv.write_bytes(("利用年月日（自）,時分（自）,利用年月日（至）,時分（至）,利用ＩＣ（自）,利用ＩＣ（至）,割引前料金,"
                     "ＥＴＣ割引額,通行料金,車種,車両番号,ＥＴＣカード番号,備考\r\n"
                     "26/10/01,06:12,26/10/01,07:05,東京,厚木,1320,0,1320,1,品川 100 あ 12-34,9011000000000011,\r\n"
                     "26/10/02,06:12,26/10/02,07:05,東京,厚木,1320,0,1320,1,品川 100 い 99-99,9011000000000099,\r\n"
                     ).encode("cp932"))
    with acting_as("staff"):
        import_usage_file(str(csv), "etc-meisai", "2026-10")
    db.session.rollback()
    page.reload()
    expect(page.locator("#checklist-unregistered")).to_have_text("1件")
    expect(page.locator("#checklist-imports")).to_contain_text("1ファイル・2件")
    page.screenshot(path=str(artifacts / "clerk_home_checklist.png"), full_page=True)
    page.locator("#checklist-unregistered").click()
    page.wait_for_load_state()
    expect(page.locator("body")).to_contain_text("9011000000000099")


def test_a_refused_delete_shows_its_reason(page, db):
    from app.models import Member

    a, b, ca, cb = members_with_cards(db)
    log_in(page, "staff", STAFF_PASSWORD)
    page.goto("/memberview/list/")
    row = page.locator("table tr", has_text="M0001")
    row.locator("a.confirm").click()
    expect(page.locator("#modal-confirm .modal-body")).to_have_text("「M0001 株式会社山田運輸」を削除します。よろしいですか？")
    page.locator("#modal-confirm-ok").click()
    page.wait_for_load_state()
    expect(page.locator(".alert-danger")).to_contain_text("削除できません")
    assert db.session.scalar(select(func.count()).select_from(Member)) == 2
    db.session.rollback()

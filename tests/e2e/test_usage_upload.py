"""走行明細の取込 in a real browser: choose the profile, see the warning of an unverified layout, upload a
cp932 file through the screen (XHR upload, then the progress bar while the server imports), read the
summary, find the batch in 取込 and the unknown card in 未登録カード, and assign it."""
import datetime as dt
import re

import pytest
from sqlalchemy import select

from tests.conftest import STAFF_PASSWORD
from tests.e2e.test_journeys import log_in

expect = pytest.importorskip("playwright.sync_api", reason="playwright が入っていません").expect

pytestmark = pytest.mark.e2e

HEADER = ("利用年月日（自）,時分（自）,利用年月日（至）,時分（至）,利用ＩＣ（自）,利用ＩＣ（至）,割引前料金,ＥＴＣ割引額,"
          "通行料金,車種,車両番号,ＥＴＣカード番号,備考")
KNOWN = "4980001234567890"
UNKNOWN = "4980009876543210"


@pytest.fixture()
def card(db):
    from app.models import Card, Member
    from app.services.actor import acting_as
    from app.services.cards import prepare_new_card
    from app.services.profiles import ensure_shipped_profiles

    ensure_shipped_profiles()
    with acting_as("test-setup"):
        member = Member(code="M0001", name="品川運送株式会社", kana="シナガワウンソウ")
        db.session.add(member)
        card = Card(number=KNOWN, kind="credit", issuer="テスト信販", member=member, valid_from=dt.date(2026, 4, 1))
        prepare_new_card(db.session, card)
        db.session.commit()
        card_id = card.id
    db.session.rollback()  # no open read transaction while the server thread writes (SQLite)
    return card_id


def usage_file(tmp_path, rows=400):
    """A few hundred rows, most for the known card and some for a card nobody registered."""
    lines = [HEADER]
    for i in range(rows):
        number = UNKNOWN if i % 10 == 0 else KNOWN
        day = 1 + i % 28
        lines.append(f"26/10/{day:02d},06:12,26/10/{day:02d},07:05,東京,厚木,1320,-320,1000,1,"
                     f"品川 300 あ 12-34,{number},")
    path = tmp_path / "etc-meisai-2026-10.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp932"))
    return path


def test_staff_uploads_a_usage_file_and_sees_the_batch_and_the_unknown_card(page, db, card, tmp_path, artifacts):
    from app.models.usage import ImportBatch, UsageRecord

    path = usage_file(tmp_path)
    log_in(page, "staff", STAFF_PASSWORD)
    page.goto("/usage/upload/")
    expect(page.get_by_role("heading", name="走行明細ファイルの取込")).to_be_visible()

    # The unverified fixed-length layout warns before anything is uploaded.
    warning = page.locator('.profile-warning[data-profile="nexco-fixed"]')
    expect(warning).to_be_hidden()
    page.select_option("#profile", "nexco-fixed")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("レイアウト未検証")
    page.select_option("#profile", "etc-meisai")
    expect(warning).to_be_hidden()

    page.fill("#month", "2026-10")
    page.set_input_files("#file", str(path))
    # The first status answer is held back until the bar has been seen: a 400-row import can end
    # before the browser is asked, and the bar only shows while the job runs.
    held = []
    page.route("**/usage/upload/status/**", lambda route: held.append(route))
    page.get_by_role("button", name="取り込む").click()
    expect(page.locator("#upload-progress")).to_be_visible()  # the bar shows while uploading / importing
    page.unroute("**/usage/upload/status/**")
    for route in held:
        try:
            route.continue_()
        except Exception as error:  # noqa: BLE001  unroute() may have let it through already
            assert "already handled" in str(error), error
    expect(page.locator("#import-summary")).to_be_visible(timeout=30_000)
    expect(page).to_have_url(re.compile(r"/usage/upload/\?job=[0-9a-f]+"))
    expect(page.locator("#import-summary")).to_contain_text("取り込みました。")
    expect(page.locator("#import-summary")).to_contain_text("400件")
    expect(page.locator("#import-summary")).to_contain_text("400,000円")
    expect(page.locator("#summary-table")).to_contain_text("2026年10月")
    expect(page.locator("#summary-table tr", has_text="未登録カード")).to_contain_text("40件")
    page.screenshot(path=str(artifacts / "usage1_upload_result.png"), full_page=True)

    batch = db.session.scalars(select(ImportBatch)).one()
    assert (batch.row_count, batch.total_billed, batch.imported_by) == (400, 400_000, "staff")
    db.session.rollback()

    # 取込: the batch, newest first, with its status and total.
    page.get_by_role("link", name="取込一覧").click()
    page.wait_for_load_state()
    row = page.locator("table tr", has_text="etc-meisai-2026-10.csv")
    expect(row).to_contain_text("取込済")
    expect(row).to_contain_text("400,000円")
    expect(row).to_contain_text("staff")

    # 未登録カード: the unknown number with its rows, and the way to fix it.
    page.goto("/usage/unregistered/")
    row = page.locator("#unregistered-cards tr", has_text=UNKNOWN)
    expect(row).to_contain_text("40件")
    expect(row).to_contain_text("40,000円")
    expect(row).to_contain_text("品川 300 あ 12-34")
    expect(row.get_by_role("link", name="カードを登録")).to_be_visible()
    page.screenshot(path=str(artifacts / "usage2_unregistered_cards.png"), full_page=True)

    row.get_by_role("link", name="このカードに割り当て").click()
    page.wait_for_load_state()
    page.select_option("#card_id", str(card))
    page.get_by_role("button", name="割り当てる").click()
    page.wait_for_load_state()
    expect(page.locator(".alert-success", has_text="割り当てました")).to_contain_text("40件")
    expect(page.get_by_text("未登録カードの走行明細はありません。")).to_be_visible()
    flagged = db.session.scalars(select(UsageRecord).where(UsageRecord.card_number == UNKNOWN)).all()
    assert len(flagged) == 40 and {(r.card_id, r.flags) for r in flagged} == {(card, 0)}
    db.session.rollback()

    # 明細一覧: the month's rows, 50 a page.
    page.goto("/usage/records/")
    expect(page.locator("#usage-summary")).to_contain_text("400件")
    expect(page.locator("#usage-records tbody tr")).to_have_count(50)
    page.locator("#next-page").click()
    page.wait_for_load_state()
    expect(page.locator("#usage-records tbody tr")).to_have_count(50)
    page.screenshot(path=str(artifacts / "usage3_records.png"), full_page=True)


def test_a_malformed_file_shows_the_japanese_error_table(page, db, card, tmp_path, artifacts):
    path = tmp_path / "broken.csv"
    path.write_bytes((HEADER + "\r\n" + f"26/10/32,06:12,26/10/32,07:05,東京,厚木,1320,0,千円,1,,{KNOWN},\r\n")
                     .encode("cp932"))
    log_in(page, "staff", STAFF_PASSWORD)
    page.goto("/usage/upload/")
    page.set_input_files("#file", str(path))
    page.get_by_role("button", name="取り込む").click()
    expect(page.locator("#import-refused")).to_be_visible(timeout=30_000)
    expect(page.locator("#import-refused")).to_contain_text("何も登録していません")
    table = page.locator("#import-errors")
    expect(table.locator("th")).to_have_text(["ファイル", "行", "列", "値", "内容"])
    expect(table.locator("tbody tr").first).to_contain_text("broken.csv")
    expect(table).to_contain_text("26/10/32")
    with page.expect_download() as download:
        page.get_by_role("link", name="エラー一覧をダウンロード").click()
    body = open(download.value.path(), "rb").read()
    assert body.startswith("\ufeff".encode()) and "ファイル,行,列,値,内容" in body.decode("utf-8-sig")
    page.screenshot(path=str(artifacts / "usage4_upload_refused.png"), full_page=True)

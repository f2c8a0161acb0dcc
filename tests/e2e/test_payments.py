"""入金 in a real browser (issue 11): after the close, staff create the 口座振替データ on the month's billing
screen, download the 全銀 file, upload the bank's result (one member 資金不足) and find that member on the
未収一覧."""
import pytest
from sqlalchemy import select

from tests.conftest import STAFF_PASSWORD
from tests.e2e.test_journeys import log_in
from tests.integration.test_payments_debit import closed_october  # noqa: F401  (fixture)
from tests.integration.test_payments_results import result_file

expect = pytest.importorskip("playwright.sync_api", reason="playwright が入っていません").expect

pytestmark = pytest.mark.e2e


def test_generate_download_upload_result_unpaid_list(page, db, closed_october, artifacts):  # noqa: F811
    from app.models.payment import DebitBatch

    log_in(page, "staff", STAFF_PASSWORD)
    page.goto("/billing/month/2026-10")
    expect(page.locator("#debit-panel")).to_contain_text("default")
    page.locator(".debit-generate[data-profile='default']").click()
    expect(page.locator(".alert-success")).to_contain_text("第1回を作成しました")
    expect(page.locator("#debit-preview")).to_contain_text("ｶ)ﾔﾏﾀﾞｳﾝﾕ")

    with page.expect_download() as info:
        page.locator("#debit-download").click()
    downloaded = open(info.value.path(), "rb").read()
    db.session.expire_all()
    assert downloaded == bytes(db.session.scalar(select(DebitBatch)).content)
    assert len(downloaded) == 5 * 122 and downloaded[:3] == b"191"

    answer = result_file(downloaded, {2: "1"})  # the second record (M003) 資金不足
    page.goto("/payments/debit-results/")
    page.locator("input#file").set_input_files(files=[{"name": "kekka.txt", "mimeType": "text/plain",
                                                        "buffer": answer}])
    page.locator("#debit-result-upload").click()
    expect(page.locator("#debit-result-summary")).to_contain_text("振替済 1件")
    expect(page.locator(".debit-failures")).to_contain_text("資金不足")
    expect(page.locator(".debit-failures")).to_contain_text("M003")

    page.goto("/payments/unpaid/?month=2026-10")
    row = page.locator("#unpaid-list tbody tr", has_text="M003")
    expect(row).to_contain_text("未入金")
    expect(row).to_contain_text("口座振替")
    expect(page.locator("#unpaid-list tbody tr", has_text="M001")).to_have_count(0)  # paid
    page.screenshot(path=str(artifacts / "payments-unpaid.png"), full_page=True)

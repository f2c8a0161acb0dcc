"""料金表の改定 in a real browser (issue 9 item 16): the manager opens 改定 on a fee from the list, types the new
amount and the start date, sees the open month's totals per member before and after (nothing saved yet),
saves, and sees both versions side by side and in the list; the draft then computes the previewed totals.
Staff read the tariff without the 改定 button. Screenshot: test-artifacts/tariff_revision_preview.png."""
import re

import pytest
from sqlalchemy import func, select

from tests.conftest import MANAGER_PASSWORD, STAFF_PASSWORD
from tests.e2e.test_billing_review import month_with_usage  # noqa: F401  (fixture)
from tests.e2e.test_journeys import log_in, log_out

expect = pytest.importorskip("playwright.sync_api", reason="playwright が入っていません").expect

pytestmark = pytest.mark.e2e


def _yen(text: str) -> int:
    return int(re.sub(r"[^\d-]", "", text))


def test_manager_revises_a_fee_sees_the_preview_and_both_versions(page, db, month_with_usage, artifacts):
    from app.models.billing import Invoice
    from app.models.tariff import TariffRule
    from app.services.actor import acting_as
    from app.services.billing.draft import run_billing

    log_in(page, "staff", STAFF_PASSWORD)
    page.goto("/tariff/list/")
    expect(page.get_by_role("cell", name="組合員管理料", exact=True)).to_be_visible()
    expect(page.locator("a.tariff-revise")).to_have_count(0)  # 事務 reads the tariff
    log_out(page)

    log_in(page, "manager", MANAGER_PASSWORD)
    page.goto("/tariff/list/")
    row = page.locator("tr.tariff-version", has_text="組合員管理料")
    row.get_by_role("link", name="改定").click()
    page.wait_for_load_state()
    expect(page.locator("h2")).to_contain_text("料金表の改定（組合員管理料）")
    amount = page.locator("input#amount")
    expect(amount).to_have_value("660")
    amount.fill("770")
    page.locator("input#valid_from").fill("2026/10/01")
    page.locator("#tariff-preview-button").click()
    page.wait_for_load_state()

    preview = page.locator("#tariff-preview")
    expect(preview).to_contain_text("2026年10月の請求金額（改定前 → 改定後）")
    expect(preview).to_contain_text("保存はまだしていません")
    rows = page.locator("#tariff-preview-table tbody tr")
    expect(rows).to_have_count(2)
    expected = {}
    for i in range(2):
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert cells[4] == "+110円", cells
        assert _yen(cells[3]) - _yen(cells[2]) == 110 and re.fullmatch(r"\d{1,3}(,\d{3})*円", cells[3]), cells
        expected[cells[0]] = _yen(cells[3])
    assert set(expected) == {"M0001", "M0002"}
    expect(page.locator("#tariff-new-version")).to_contain_text("金額: 770円")
    page.screenshot(path=str(artifacts / "tariff_revision_preview.png"), full_page=True)
    assert db.session.scalar(select(func.count()).select_from(TariffRule)
                             .where(TariffRule.rule_id == "member_monthly")) == 1  # nothing saved by the preview
    db.session.rollback()

    page.locator("#tariff-revise-button").click()
    page.wait_for_load_state()
    expect(page.locator(".alert-success").first).to_contain_text("2026/09/30 までが今までの版")
    panels = page.locator("#tariff-versions .tariff-version-panel")
    expect(panels).to_have_count(2)
    expect(panels.nth(0)).to_contain_text("新しい版（2026/10/01〜）")
    expect(panels.nth(0)).to_contain_text("770円")
    expect(panels.nth(1)).to_contain_text("2000/01/01〜2026/09/30")
    expect(panels.nth(1)).to_contain_text("660円")
    page.screenshot(path=str(artifacts / "tariff_revision_versions.png"), full_page=True)

    page.goto("/tariff/list/")
    group = page.locator("tbody.tariff-rule", has_text="組合員管理料")
    versions = group.locator("tr.tariff-version")
    expect(versions).to_have_count(2)
    expect(versions.nth(0)).to_contain_text("2026/10/01〜期限なし")
    expect(versions.nth(1)).to_contain_text("2000/01/01〜2026/09/30")

    db.session.rollback()
    with acting_as("test"):
        run_billing("2026-10")
    computed = {invoice.member.code: invoice.total
                for invoice in db.session.scalars(select(Invoice).where(Invoice.month == "2026-10"))}
    assert computed == expected
    db.session.rollback()

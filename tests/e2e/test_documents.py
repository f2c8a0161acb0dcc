"""Issued documents in a real browser: the manager closes the month, the background job renders the
documents in its worker processes while the billing screen shows the progress, then the invoice
screen's PDF button downloads the invoice as stored: a real PDF whose text has the invoice number."""
import subprocess

import pytest
from sqlalchemy import func, select

from tests.conftest import MANAGER_PASSWORD
from tests.e2e.test_billing_review import month_with_usage  # noqa: F401  (fixture)
from tests.e2e.test_journeys import log_in

expect = pytest.importorskip("playwright.sync_api", reason="playwright が入っていません").expect

pytestmark = pytest.mark.e2e


@pytest.fixture()
def render_after_close(app):
    """The web process renders after the close (the test configuration leaves it off elsewhere)."""
    from app.jobs.documents import wait_until_idle

    app.config["DOCUMENTS_RENDER_AFTER_CLOSE"] = True
    yield
    app.config["DOCUMENTS_RENDER_AFTER_CLOSE"] = False
    assert wait_until_idle(300)


def test_close_renders_in_the_background_and_the_invoice_pdf_downloads(page, db, month_with_usage,  # noqa: F811
                                                                       render_after_close, artifacts, tmp_path):
    from app.models.billing import Invoice
    from app.models.document import IssuedDocument
    from app.services.billing.draft import run_billing
    from app.services.actor import acting_as

    with acting_as("test-setup"):
        run_billing("2026-10")
    db.session.rollback()

    log_in(page, "manager", MANAGER_PASSWORD)
    page.goto("/billing/month/2026-10")
    page.locator("#close-open").click()
    page.locator("#close-dialog").get_by_role("button", name="締めて請求書を発行する").click()
    page.wait_for_load_state()
    expect(page.locator(".alert-success").first).to_contain_text("2026年10月を締めました")
    expect(page.locator(".alert-info").first).to_contain_text("帳票（PDF・Excel）の作成を始めました")
    panel = page.locator("#documents-panel")
    expect(panel).to_be_visible()
    expect(page.locator("#documents-total")).to_have_text("16")  # 2 invoices × 4 kinds × PDF and Excel
    # the page follows the job and reloads when it ends: nothing left waiting, the month's downloads offered
    expect(page.locator("#documents-pending")).to_have_text("0", timeout=240_000)
    expect(page.locator("#documents-state")).not_to_contain_text("作成中", timeout=30_000)
    rendered = db.session.scalar(select(func.count()).select_from(IssuedDocument)
                                 .where(IssuedDocument.status == "rendered"))
    failed = 16 - rendered  # a kind the renderer does not have yet fails with its reason, listed on the page
    db.session.rollback()
    assert rendered >= 4  # the invoice (PDF and Excel) of both members at least
    expect(page.locator("#documents-rendered")).to_have_text(str(rendered))
    expect(page.locator("#documents-failed")).to_have_text(str(failed))
    if failed:
        expect(page.locator("#documents-failures tbody tr")).to_have_count(failed)
    else:
        expect(page.locator("#documents-state")).to_contain_text("すべて作成済み")
    expect(page.locator("#documents-zip")).to_be_visible()
    page.screenshot(path=str(artifacts / "documents1_billing_rendered.png"), full_page=True)

    number = db.session.scalar(select(Invoice.number).where(Invoice.number == "00000001"))
    stored = db.session.scalar(select(IssuedDocument.content).join(Invoice, Invoice.id == IssuedDocument.invoice_id)
                               .where(Invoice.number == number, IssuedDocument.kind == "invoice",
                                      IssuedDocument.format == "pdf"))
    db.session.rollback()

    page.locator("#billing-members").get_by_role("link", name=number).click()
    page.wait_for_load_state()
    expect(page.locator("#invoice-documents")).to_contain_text("請求書")
    with page.expect_download() as download_info:
        page.locator("#download-invoice-pdf").click()
    download = download_info.value
    assert download.suggested_filename == "請求書_M0001_2026-10.pdf"
    path = tmp_path / "downloaded.pdf"
    download.save_as(path)
    content = path.read_bytes()
    assert content.startswith(b"%PDF") and content == stored
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout.decode()
    assert number in text and "品川運送株式会社" in text
    page.screenshot(path=str(artifacts / "documents2_invoice_buttons.png"), full_page=True)

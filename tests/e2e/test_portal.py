"""The member portal in headless Chromium at phone width (issue 12): a member logs in with the initial
password of its letter, is made to choose its own, sees its latest invoice, opens the invoice PDF and
downloads the Excel usage statement — both exactly the stored bytes — and the pages fit a phone screen
(screenshots in test-artifacts/portal-*.png)."""
import re

import pytest
from sqlalchemy import select

from tests.e2e.test_journeys import log_in

expect = pytest.importorskip("playwright.sync_api", reason="playwright が入っていません").expect

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}  # a common phone's CSS pixels
NEW_PASSWORD = "hamanasu-kaede-3"


def stored(db, token):
    from app.models import IssuedDocument

    content = db.session.scalar(select(IssuedDocument.content).where(IssuedDocument.token == token))
    db.session.rollback()
    return content


def fits_the_screen(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_member_first_login_changes_password_opens_pdf_downloads_excel_on_a_phone(page, db, tmp_path, artifacts):
    from app.services.actor import acting_as
    from app.services.portal_logins import create_login
    from tests.integration.portal_data import real_month, tokens

    data = real_month(db, tmp_path)  # member1/member2 linked too; the member logs in with its own login
    with acting_as("tester-e2e"):
        issued = create_login("M001")
    own = tokens(db, data.a_invoice)
    db.session.rollback()
    page.set_viewport_size(PHONE)

    # first login with the letter's initial password: the portal's own password page, nothing else
    log_in(page, issued.login_id, issued.password)
    expect(page).to_have_url(re.compile(r"/portal/password$"))
    expect(page.locator(".p-note")).to_contain_text("ご自身のパスワードに変更してください")
    assert fits_the_screen(page)
    page.screenshot(path=str(artifacts / "portal-1-first-login.png"), full_page=True)
    page.goto("/portal/documents/")
    expect(page).to_have_url(re.compile(r"/portal/password$"))
    # the initial password itself is refused, then a good one is taken
    page.get_by_label("現在のパスワード").fill(issued.password)
    page.get_by_label("新しいパスワード", exact=True).fill(issued.password)
    page.get_by_label("新しいパスワード（確認）").fill(issued.password)
    page.get_by_role("button", name="変更する").click()
    expect(page.locator(".p-error").first).to_contain_text("初期パスワードと同じパスワードは使えません")
    page.get_by_label("現在のパスワード").fill(issued.password)
    page.get_by_label("新しいパスワード", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("新しいパスワード（確認）").fill(NEW_PASSWORD)
    page.get_by_role("button", name="変更する").click()
    expect(page.locator(".p-flash")).to_contain_text("パスワードを変更しました。")
    expect(page.locator("h1").first).to_have_text("最新のご請求")
    expect(page.locator(".p-amount")).to_contain_text("円")
    expect(page.locator(".p-payment")).to_have_text("入金確認前")
    assert fits_the_screen(page)
    page.screenshot(path=str(artifacts / "portal-2-home-phone.png"), full_page=True)

    # the documents page at phone width: the four documents, PDF and Excel
    page.get_by_role("link", name="請求書・明細", exact=True).click()
    expect(page.locator("#month-2026-10 .p-docs li")).to_have_count(4)
    assert fits_the_screen(page)
    page.screenshot(path=str(artifacts / "portal-3-documents-phone.png"), full_page=True)

    # open the invoice PDF: served inline, the browser shows it in its viewer
    pdf_link = page.locator('#month-2026-10 a[data-kind="invoice"][data-format="pdf"]')
    href = pdf_link.get_attribute("href")
    assert own[("invoice", "pdf")] in href
    with page.expect_response(lambda r: "/portal/file/" in r.url) as opened:
        pdf_link.click()
    response = opened.value
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline")
    assert "%E8%AB%8B%E6%B1%82%E6%9B%B8_M001_2026-10.pdf" in response.headers["content-disposition"]  # 請求書_…
    page.screenshot(path=str(artifacts / "portal-4-invoice-pdf.png"))
    # (the viewer stands between the page and the bytes: the same URL fetched with the same session)
    assert page.request.get(href).body() == stored(db, own[("invoice", "pdf")])
    expect(page).to_have_url(re.compile(re.escape(href) + "$"))
    page.go_back()
    expect(page.locator("#month-2026-10")).to_be_visible()

    # download the Excel usage statement
    with page.expect_download() as xlsx_download:
        page.locator('#month-2026-10 a[data-kind="usage-statement"][data-format="xlsx"]').click()
    path = tmp_path / "usage.xlsx"
    xlsx_download.value.save_as(path)
    assert xlsx_download.value.suggested_filename == "走行明細書_M001_2026-10.xlsx"
    assert path.read_bytes() == stored(db, own[("usage-statement", "xlsx")])

    # cards, masked, on the phone too
    page.get_by_role("link", name="カード・車両", exact=True).click()
    expect(page.locator(".p-mono").first).to_contain_text("************")
    assert fits_the_screen(page)
    page.screenshot(path=str(artifacts / "portal-5-cards-phone.png"), full_page=True)

    # another member's file is not there for this login; logout ends the session
    other = page.request.get(f"/portal/file/{data.b_tokens[('invoice', 'pdf')]}")
    assert other.status == 404
    page.get_by_role("button", name="ログアウト").click()
    expect(page.locator("input#username")).to_have_count(1)
    assert page.request.get(f"/portal/file/{own[('invoice', 'pdf')]}", max_redirects=0).status == 302

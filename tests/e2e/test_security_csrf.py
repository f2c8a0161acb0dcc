"""issue 8 item 13 in a browser: a logged-in user's form whose CSRF token expired (the form stayed
open too long) gets the Japanese page with the typed input and a reload button, not werkzeug's
English 500 (the CSRF check runs before FAB sets g.user)."""
import re
import time

import pytest

from tests.conftest import STAFF_PASSWORD
from tests.e2e.test_journeys import log_in, open_add, save

expect = pytest.importorskip("playwright.sync_api", reason="playwright が入っていません").expect
pytestmark = pytest.mark.e2e


def test_an_expired_form_shows_the_japanese_page_keeps_the_input_and_reloads(page, app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    log_in(page, "staff", STAFF_PASSWORD)
    monkeypatch.setitem(app.config, "WTF_CSRF_TIME_LIMIT", 1)  # the form "stays open for an hour"
    open_add(page, "agencyview")
    page.locator("#code").fill("A0777")
    page.locator("#name").fill("期限切れ代理店")
    page.locator("#kana").fill("キゲンギレ")
    time.sleep(2.5)
    with page.expect_response(re.compile(r"/agencyview/add")) as answer:
        save(page)
    assert answer.value.status == 400
    body = page.locator("#error-page")
    expect(body).to_contain_text("送信できませんでした")
    expect(body).to_contain_text("画面を再読み込みしてから、もう一度入力して送信してください")
    kept = page.locator("#kept-input")
    expect(kept).to_contain_text("代理店コード")
    expect(kept.locator("textarea").first).to_have_value("A0777")
    expect(kept).to_contain_text("代理店名")
    expect(page.locator("body")).not_to_contain_text("Internal Server Error")
    expect(page.locator("a.dropdown-toggle .fa-user")).to_be_visible()  # still the logged-in page frame

    monkeypatch.setitem(app.config, "WTF_CSRF_TIME_LIMIT", 3600)
    page.locator("#error-reload").click()
    page.wait_for_load_state()
    assert page.url.endswith("/agencyview/add")
    expect(page.locator("#name")).to_be_visible()

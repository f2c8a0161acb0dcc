"""Issue 8 §8 in a real browser: a manager (責任者) enrols an authenticator app from the QR code Tollbook
draws itself, keeps the recovery codes, logs out, and logs in with the password and a code."""
import re

import pyotp
import pytest

from tests.conftest import MANAGER_PASSWORD
from tests.e2e.test_journeys import log_out
from tests.integration.test_security_two_factor import required  # noqa: F401 (fixture)

expect = pytest.importorskip("playwright.sync_api", reason="playwright が入っていません").expect

pytestmark = pytest.mark.e2e


def password_step(page, username, password):
    page.goto("/login/")
    page.get_by_label("ユーザー名").fill(username)
    page.get_by_label("パスワード").fill(password)
    page.locator("input[type=submit], button[type=submit]").first.click()
    page.wait_for_load_state()


def test_manager_enrols_and_logs_in_with_a_code(page, db, required, artifacts):
    requests_elsewhere = []  # the QR code must not come from a service outside
    page.on("request", lambda request: None if request.url.startswith(("http://127.0.0.1", "data:"))
            else requests_elsewhere.append(request.url))
    password_step(page, "manager", MANAGER_PASSWORD)
    expect(page).to_have_url(re.compile(r"/two-factor/setup$"))
    expect(page.locator("#two-factor-qr svg")).to_be_visible()
    page.screenshot(path=str(artifacts / "two-factor-setup.png"), full_page=True)
    secret = page.locator("#two-factor-secret").inner_text()
    page.fill("#code", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    page.get_by_role("button", name="登録").click()
    expect(page.locator("#two-factor-error")).to_contain_text("確認コードが違います")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.get_by_role("button", name="登録").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="控えました。続ける").click()
    expect(page.locator("input#username")).to_have_count(0)
    log_out(page)

    password_step(page, "manager", MANAGER_PASSWORD)
    expect(page).to_have_url(re.compile(r"/two-factor/$"))
    page.screenshot(path=str(artifacts / "two-factor-code.png"), full_page=True)
    page.fill("#code", pyotp.TOTP(secret).now())
    page.get_by_role("button", name="確認").click()
    page.wait_for_load_state()
    page.goto("/auditlogview/list/")
    expect(page.locator("body")).to_contain_text("2段階認証を設定")
    expect(page.locator("body")).to_contain_text("パスワードと確認コードでログインしました")
    assert requests_elsewhere == []

"""Issue 8 §7 in a real browser: under Tollbook's Content-Security-Policy, FAB's pages still work
(select2, datepicker, the confirm modal, Tollbook's own small scripts) and the browser reports no
violation."""
import pytest

from tests.conftest import STAFF_PASSWORD
from tests.e2e.test_journeys import log_in

expect = pytest.importorskip("playwright.sync_api", reason="playwright が入っていません").expect

pytestmark = pytest.mark.e2e

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile + ':' + e.lineNumber);
});
"""


def violations(page):
    return page.evaluate("window.__cspViolations")


def test_fab_pages_work_under_the_content_security_policy(page, db):
    from app.models import Member

    db.session.add(Member(code="M0001", name="品川運送株式会社", kana="シナガワウンソウ"))
    db.session.commit()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(RECORD_VIOLATIONS)
    log_in(page, "staff", STAFF_PASSWORD)
    assert violations(page) == []

    # select2 and the datepicker on a FAB form
    page.goto("/cardview/add")
    expect(page.locator("#select2-member-container")).to_be_visible()
    page.locator("#select2-member-container").click()
    page.locator(".select2-container--open .select2-search__field").fill("品川")
    expect(page.locator(".select2-results__option", has_text="品川運送")).to_be_visible()
    page.keyboard.press("Escape")
    page.locator("#valid_from").click()
    expect(page.locator(".datepicker-dropdown")).to_be_visible()
    expect(page.locator(".datepicker-dropdown")).to_contain_text("月")  # Tollbook's Japanese month names
    assert violations(page) == []

    # FAB's confirm modal before a delete
    page.goto("/memberview/list/")
    page.locator("a.confirm").first.click()
    expect(page.locator("#modal-confirm")).to_be_visible()
    expect(page.locator("#modal-confirm-ok")).to_have_text("実行する")
    page.locator("#modal-confirm button", has_text="キャンセル").first.click()
    assert violations(page) == []

    # the menu's dropdown (bootstrap) and the logout form
    page.locator("a.dropdown-toggle .fa-user").click()
    expect(page.get_by_role("button", name="ログアウト")).to_be_visible()

    # Tollbook's data-autosubmit (app/static/js/tollbook.js) instead of an inline onchange
    page.goto("/billing/invoice-list/")
    page.evaluate("""() => {
        const select = document.querySelector('#month');
        select.insertAdjacentHTML('beforeend', '<option value="2026-10">2026年10月</option>');
        select.value = '2026-10';
        select.dispatchEvent(new Event('change', {bubbles: true}));
    }""")
    page.wait_for_url("**month=2026-10**")
    assert violations(page) == []
    assert errors == []


def test_an_inline_script_without_the_nonce_is_blocked(page, db):
    """The policy is really enforced: a script injected without the nonce does not run."""
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto("/login/")
    ran = page.evaluate("""() => {
        window.__injected = false;
        const script = document.createElement('script');
        script.textContent = 'window.__injected = true;';
        document.body.appendChild(script);
        return window.__injected;
    }""")
    assert ran is False
    assert any(v.startswith("script-src") for v in violations(page))

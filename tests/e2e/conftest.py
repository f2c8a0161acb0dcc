"""Browser fixtures: the session `app` served on 127.0.0.1 in a background thread, and Debian's
headless Chromium driven by Playwright (see docs stack-notes §6; never `playwright install`)."""
import logging
import os
import threading
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("TOLLBOOK_CHROMIUM", "/usr/bin/chromium")  # Debian's chromium package
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items):
    """Every test in this folder is a browser test."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def pytest_terminal_summary(terminalreporter):
    """Say why the browser tests did not run, even under -q (skip reasons are hidden without -rs)."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "e2e" in r.keywords]
    if skipped and not os.path.exists(CHROMIUM):
        terminalreporter.write_line(f"ブラウザテスト {len(skipped)} 件を省略: {CHROMIUM} がありません"
                                    "（apt-get install chromium）", yellow=True, bold=True)


@pytest.fixture(scope="session")
def live_server(app):
    """Base URL of `app` served by werkzeug on a free port (port 0 lets the OS choose)."""
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log lines in failure output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} がありません（apt-get install chromium）。ブラウザテストを省略します。")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright が入っていません")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, live_server, db):
    """A fresh browser context (no cookies) on empty business tables, base URL set to the server."""
    context = browser.new_context(base_url=live_server, locale="ja-JP", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS

"""The staff home page's month checklist (issue 9 item 9): counts that follow the data, each a link,
and the draft / close state."""
import re

from app.models.usage import FLAG_SUSPECTED_DUPLICATE, FLAG_UNREGISTERED_CARD, FLAG_USED_AFTER_LOSS
from app.services.actor import acting_as
from app.services.billing.close import close_billing_run
from app.services.billing.draft import run_billing

from .test_billing import ACTOR, add_usage, october  # noqa: F401  (fixture)


def text(response):
    return response.get_data(as_text=True)


def cell(page: str, key: str) -> str:
    end = "td" if key in ("imports", "draft", "close") else "a"
    match = re.search(rf'id="checklist-{key}"[^>]*>(.*?)</{end}>', page, re.S)
    return re.sub(r"<[^>]+>|\s+", " ", match.group(1)).strip()


def test_checklist_counts_follow_imports_flags_draft_and_close(staff_client, manager_client, db, october):
    page = text(staff_client.get("/?month=2026-10"))
    assert "2026年10月分の作業" in page
    assert "1ファイル・5件" in cell(page, "imports")
    for key in ("unregistered", "unknown-operators", "duplicates", "off-month", "after-loss"):
        assert cell(page, key) == "0件", key
    assert 'data-state="none"' in page and "未作成" in cell(page, "draft")

    add_usage(db, "2026-10", [("9999000000000001", "NEXCO東日本", 1000, None, FLAG_UNREGISTERED_CARD),
                              ("9999000000000001", None, 2000, None, FLAG_UNREGISTERED_CARD),
                              (october["c1"], "NEXCO東日本", 3000, None, FLAG_SUSPECTED_DUPLICATE),
                              (october["c2"], "NEXCO西日本", 4000, None, FLAG_USED_AFTER_LOSS)])
    page = text(staff_client.get("/?month=2026-10"))
    assert "2ファイル・9件" in cell(page, "imports")
    assert (cell(page, "unregistered"), cell(page, "unknown-operators"), cell(page, "duplicates"),
            cell(page, "after-loss")) == ("2件", "1件", "1件", "1件")
    assert 'href="/usage/unregistered/?month=2026-10" id="checklist-unregistered"' in page
    assert "確認の残り 4件" in cell(page, "close") or "確認の残り 4件" in page

    with acting_as(ACTOR):
        run_billing("2026-10")
    page = text(staff_client.get("/?month=2026-10"))
    assert 'data-state="current"' in page and "最新" in cell(page, "draft")
    add_usage(db, "2026-10", [(october["c1"], "NEXCO東日本", 500)])  # the inputs change after the draft
    page = text(staff_client.get("/?month=2026-10"))
    assert 'data-state="changed"' in page and "入力が変わりました" in cell(page, "draft")


def test_closed_month_and_the_default_month(staff_client, db, october):
    with acting_as(ACTOR):
        run_billing("2026-10")
        close_billing_run("2026-10", ACTOR)
    page = text(staff_client.get("/?month=2026-10"))
    assert 'data-state="closed"' in page and cell(page, "close").startswith("締め済")
    assert 'id="checklist-upload"' not in page  # a closed month takes no more files
    # without ?month the page shows the newest month not closed, else the month before today's
    from app.domain.clock import today_jst
    from app.domain.month import Month

    today = today_jst()
    assert f"{Month(today.year, today.month).previous().label}分の作業" in text(staff_client.get("/"))
    add_usage(db, "2027-01", [(october["c1"], "NEXCO東日本", 500)])
    assert "2027年1月分の作業" in text(staff_client.get("/"))


def test_members_keep_their_portal(client, db):
    from tests.conftest import MEMBER_PASSWORD

    client.post("/login/", data={"username": "member1", "password": MEMBER_PASSWORD})
    response = client.get("/")
    assert response.status_code == 302 and "/portal" in response.headers["Location"]

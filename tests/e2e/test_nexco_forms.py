"""NEXCO 申請書 in a real browser: staff tick two events on the card-event list, choose 一括操作 →
申請書を印刷（PDF）, and download one PDF with the two forms; the renewal list prints its cards."""
import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader

from tests.conftest import STAFF_PASSWORD
from tests.e2e.test_journeys import log_in

expect = pytest.importorskip("playwright.sync_api", reason="playwright が入っていません").expect

pytestmark = pytest.mark.e2e


@pytest.fixture()
def events(db):
    """A member with a corporate card lost on 2026-09-10, reissued on 2026-09-20, and a cancelled card."""
    from app.domain.card_lifecycle import CANCEL, LOSS, REISSUE
    from app.models import Card, CardEvent, Member, Vehicle
    from app.services.actor import acting_as
    from app.services.cards import apply_card_event, prepare_new_card

    with acting_as("test-setup"):
        member = Member(code="M0001", name="株式会社髙崎運輸", kana="タカサキウンユ", address="群馬県高崎市中居町1-23")
        db.session.add(member)
        truck = Vehicle(member=member, plate_region="品川", plate_class_number="100", plate_kana="あ",
                        plate_serial=1234, vehicle_class=2)
        van = Vehicle(member=member, plate_region="練馬", plate_class_number="800", plate_kana="さ",
                      plate_serial=56, vehicle_class=4)
        db.session.add_all([truck, van])
        cards = []
        for number, vehicle, day in (("9011000000000011", truck, dt.date(2024, 4, 10)),
                                     ("9011000000000037", van, dt.date(2024, 6, 1))):
            cards.append(Card(number=number, kind="corporate", member=member, vehicle=vehicle, valid_from=day))
            prepare_new_card(db.session, cards[-1])
            db.session.flush()
        lost, other = cards
        ids = {}
        for name, card, kind, day, extra in (("loss", lost, LOSS, dt.date(2026, 9, 10), {}),
                                             ("reissue", lost, REISSUE, dt.date(2026, 9, 20),
                                              {"new_card_number": "9011000000000029"}),
                                             ("cancel", other, CANCEL, dt.date(2026, 10, 5), {})):
            event = CardEvent(card=card, kind=kind, occurred_on=day, **extra)
            apply_card_event(db.session, event)
            db.session.flush()
            ids[name] = event.id
        db.session.commit()
    db.session.rollback()  # no open read transaction while the server thread reads (SQLite)
    return ids


def test_staff_tick_two_events_and_download_one_pdf_with_two_forms(page, db, events, artifacts):
    log_in(page, "staff", STAFF_PASSWORD)
    page.goto("/cardeventview/list/")
    expect(page.get_by_text("カード異動一覧", exact=True).filter(visible=True).first).to_be_visible()
    page.locator(f"input.action_check[value='{events['loss']}']").check()
    page.locator(f"input.action_check[value='{events['cancel']}']").check()
    page.get_by_role("button", name=re.compile("一括操作")).click()
    page.screenshot(path=str(artifacts / "forms1_event_list_ticked.png"), full_page=True)
    with page.expect_download() as info:
        page.get_by_role("link", name="申請書を印刷（PDF）").click()
    download = info.value
    assert re.fullmatch(r"申請書_\d{8}_2件\.pdf", download.suggested_filename)
    data = open(download.path(), "rb").read()
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 2
    first, second = ("".join(p.extract_text().split()) for p in reader.pages)
    assert "紛失・盗難届申請内容" in first and "2026年9月10日" in first and "901100-0000-00001-1" in first
    assert "解約（カード返却）届申請内容" in second and "2026年10月5日" in second and "練馬" in second
    assert "株式会社髙崎運輸" in first and "株式会社髙崎運輸" in second
    (artifacts / "forms_two_events.pdf").write_bytes(data)


def test_staff_print_the_renewal_forms_of_the_list(page, db, artifacts):
    from app.domain.card_lifecycle import end_of_month
    from app.domain.clock import today_jst
    from app.models import Card, Member, Vehicle
    from app.services.actor import acting_as
    from app.services.cards import prepare_new_card

    soon = end_of_month(today_jst() + dt.timedelta(days=40))
    with acting_as("test-setup"):
        member = Member(code="M0002", name="青山運送株式会社", kana="アオヤマウンソウ")
        truck = Vehicle(member=member, plate_region="足立", plate_class_number="100", plate_kana="う",
                        plate_serial=4321, vehicle_class=1)
        db.session.add_all([member, truck])
        prepare_new_card(db.session, Card(number="9033000000000019", kind="corporate", member=member, vehicle=truck,
                                          valid_from=dt.date(2021, 12, 1), valid_until=soon))
        db.session.commit()
    db.session.rollback()
    log_in(page, "staff", STAFF_PASSWORD)
    page.goto("/cardrenewalview/list/?months=3")
    row = page.locator("table tr", has_text="************0019")
    expect(row).to_contain_text("青山運送株式会社")
    expect(row).to_contain_text("足立 100 う 43-21")
    page.screenshot(path=str(artifacts / "forms2_renewal_list.png"), full_page=True)
    with page.expect_download() as info:
        page.locator("#renewal-forms").click()
    data = open(info.value.path(), "rb").read()
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    text = "".join(reader.pages[0].extract_text().split())
    assert "交換申込申請内容" in text and "903300-0000-00001-9" in text and "足立" in text

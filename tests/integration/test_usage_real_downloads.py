"""Real ETC利用照会 downloads through `flask etc import` (issue 7 item 15): masked card numbers matched
by their visible digits and the plate serial, both layouts (13 named columns ending in a comma = 14
cells; 15 with 還元額適用料金 / 後納料金) with one profile, header variants, 備考 tokens and （朝夕）,
rows dated more than a month away from the file's month flagged 期ずれ and listed for staff to accept.

Fixtures: tests/fixtures/usage/etc-meisai-download-*.csv (cp932, CRLF, shaped like the public
parsers of real downloads). Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL."""
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import Card, Member, Vehicle
from app.models.usage import (FLAG_CONFIRMED, FLAG_OFF_MONTH, FLAG_UNREGISTERED_CARD, NOT_BILLED_FLAGS,
                              ImportBatch, UsageRecord)
from app.services.actor import acting_as
from app.services.cards import prepare_new_card

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "usage"
# Two cards whose numbers end in the same 8 digits (only the plate tells them apart), and one more.
CARD_A, CARD_B, CARD_C = "4980001165981010", "4980002265981010", "4980001234567890"


def fixture(name: str) -> str:
    return str(FIXTURES / name)


@pytest.fixture()
def runner(app):
    return app.test_cli_runner()


def _card(db, member, number, serial):
    vehicle = Vehicle(member=member, plate_region="浜松", plate_class_number="100", plate_kana="か",
                      plate_serial=serial, vehicle_class=1)
    card = Card(number=number, kind="corporate", issuer="NEXCO", member=member, vehicle=vehicle,
                valid_from=dt.date(2024, 4, 1))
    db.session.add(vehicle)
    prepare_new_card(db.session, card)
    return card


@pytest.fixture()
def cards(db):
    with acting_as("tester-real"):
        m1 = Member(code="M0001", name="株式会社山田運輸", kana="ヤマダウンユ", payment_method="direct_debit", status="active")
        m2 = Member(code="M0002", name="髙橋物流有限会社", kana="タカハシブツリュウ", payment_method="direct_debit",
                    status="active")
        db.session.add_all([m1, m2])
        made = _card(db, m1, CARD_A, 5050), _card(db, m2, CARD_B, 3030), _card(db, m1, CARD_C, 1234)
        db.session.commit()
    return made


def invoke(runner, *args):
    return runner.invoke(args=["etc", *args])


def rows(db, batch_id):
    return db.session.scalars(select(UsageRecord).where(UsageRecord.batch_id == batch_id)
                              .order_by(UsageRecord.line_no)).all()


def last_batch(db):
    return db.session.scalar(select(ImportBatch).order_by(ImportBatch.id.desc()))


def test_older_layout_masked_numbers_plate_serial_peak_time_and_off_month(db, cards, runner):
    card_a, card_b, card_c = cards
    result = invoke(runner, "import", fixture("etc-meisai-download-14col.csv"))  # format found from the header
    assert result.exit_code == 0, result.output
    batch = last_batch(db)
    assert result.output.strip() == (
        f"取込#{batch.id} etc-meisai-download-14col.csv（etc-meisai, 2026-10）: 8件, 通行料金合計 13,080円, "
        "要確認 3件（未登録カード 2件, 紛失後利用 0件, 重複の疑い 0件, 期ずれ 1件）")
    got = rows(db, batch.id)
    assert [r.card_number for r in got][:2] == ["********65981010"] * 2  # kept as the file shows it
    assert [(r.line_no, r.card_id) for r in got] == [
        (2, card_a.id), (3, card_a.id),  # ends in 65981010 like card B too: plate 5050 is card A's
        (4, card_c.id), (5, card_c.id),  # the only card ending in 34567890
        (6, None),  # ********99998888: no such card → 未登録カード, not an error
        (7, None),  # ends like A and B, plate 8080 is neither's: ambiguous → 未登録カード, never a guess
        (8, card_b.id),  # plate 3030: card B
        (9, card_c.id)]
    assert [r.member_id for r in got] == [card_a.member_id] * 4 + [None, None, card_b.member_id, card_c.member_id]
    assert [r.flags for r in got] == [0, 0, 0, 0, FLAG_UNREGISTERED_CARD, FLAG_UNREGISTERED_CARD, 0, FLAG_OFF_MONTH]
    assert [r.peak_time for r in got] == [True, True, False, False, False, False, False, False]
    assert [r.remarks for r in got][:3] == ["確定;（朝夕）", "確定;（朝夕）", "確定;休日割引"]
    flat = got[3]  # blank 割引前料金 and ＥＴＣ割引額
    assert (flat.amount_before_discount, flat.discount, flat.amount_billed) == (1300, 0, 1300)
    assert (flat.amount_rebate_applied, flat.amount_deferred) == (None, None)  # the older layout has neither
    assert [r.plate for r in got][:1] == ["5050"]
    off = got[7]  # dated 2026-08-28 in an October file: stays in the batch, flagged, not billed
    assert (off.usage_month, off.exit_at) == ("2026-10", dt.datetime(2026, 8, 28, 9, 0))
    assert off.flags & NOT_BILLED_FLAGS
    assert (batch.row_count, batch.flagged_count, batch.total_billed) == (8, 3, 13080)


def test_newer_layout_stores_rebate_and_deferred_amounts(db, cards, runner):
    card_a, card_b, card_c = cards
    result = invoke(runner, "import", fixture("etc-meisai-download-15col.csv"), "--format", "etc-meisai")
    assert result.exit_code == 0, result.output
    assert "（etc-meisai, 2026-11）: 6件, 通行料金合計 11,210円, 要確認 1件（未登録カード 1件" in result.output
    got = rows(db, last_batch(db).id)
    assert [r.card_id for r in got] == [card_a.id, card_a.id, card_c.id, card_c.id, card_b.id, None]
    rebate = got[2]  # paid by the mileage rebate: 通行料金 2680, 還元額適用料金 2680, 後納料金 0
    assert (rebate.amount_billed, rebate.amount_rebate_applied, rebate.amount_deferred) == (2680, 2680, 0)
    assert [(r.amount_rebate_applied, r.amount_deferred) for r in got[:2]] == [(None, 3230), (None, 2260)]
    assert [r.peak_time for r in got] == [True, False, False, False, True, False]
    assert got[1].discount == 970


def test_header_variants_in_the_wild(db, cards, runner):
    card_a, _, card_c = cards
    result = invoke(runner, "import", fixture("etc-meisai-download-variants.csv"))
    assert result.exit_code == 0, result.output
    assert "（etc-meisai, 2026-12）: 2件" in result.output
    got = rows(db, last_batch(db).id)
    assert [(r.card_id, r.entry_ic, r.exit_ic, r.entry_at, r.exit_at, r.peak_time) for r in got] == [
        (card_a.id, "浜松西", "名古屋", dt.datetime(2026, 12, 1, 6, 55), dt.datetime(2026, 12, 1, 7, 40), True),
        (card_c.id, "八王子", "甲府昭和", dt.datetime(2026, 12, 3, 11, 0), dt.datetime(2026, 12, 3, 12, 5), False)]


def test_month_option_flags_rows_far_from_it(db, cards, runner):
    # The November file imported as January: every row is 2 months away.
    result = invoke(runner, "import", fixture("etc-meisai-download-15col.csv"), "--month", "2027-01")
    assert result.exit_code == 0, result.output
    assert "要確認 6件（未登録カード 1件, 紛失後利用 0件, 重複の疑い 0件, 期ずれ 6件）" in result.output
    assert db.session.scalar(select(func.count()).select_from(UsageRecord)
                             .where(UsageRecord.flags.op("&")(FLAG_OFF_MONTH) != 0)) == 6


def test_off_month_screen_lists_and_staff_accept(db, cards, runner, staff_client):
    assert invoke(runner, "import", fixture("etc-meisai-download-14col.csv")).exit_code == 0
    off = db.session.scalar(select(UsageRecord).where(UsageRecord.flags.op("&")(FLAG_OFF_MONTH) != 0))
    page = staff_client.get("/usage/off-month/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "期ずれ" in text and "2026/08/28" in text and "厚木" in text
    assert f'name="row" value="{off.id}"' in text
    listed = staff_client.get("/usage/records/?month=2026-10&flag=off_month").get_data(as_text=True)
    assert "2026/08/28" in listed and "2026/10/01" not in listed  # the filter on the usage list
    done = staff_client.post("/usage/off-month/confirm/", data={"row": str(off.id)}, follow_redirects=True)
    assert "1件を確認済みにしました" in done.get_data(as_text=True)
    db.session.expire_all()
    accepted = db.session.get(UsageRecord, off.id)
    assert accepted.flags == FLAG_CONFIRMED  # 期ずれ cleared: billed from now on
    assert accepted.flags & NOT_BILLED_FLAGS == 0
    assert "2026/08/28" not in staff_client.get("/usage/off-month/").get_data(as_text=True)


def test_masked_rows_link_when_the_card_is_registered_later(db, cards, runner):
    assert invoke(runner, "import", fixture("etc-meisai-download-14col.csv")).exit_code == 0
    from app.services.usage_rematch import rematch_unregistered

    with acting_as("tester-real"):
        member = db.session.scalar(select(Member).where(Member.code == "M0002"))
        new = _card(db, member, "4980003399998888", 7777)
        db.session.commit()
        assert rematch_unregistered(new.number) == 1  # ********99998888 (plate 7777) is this card
    db.session.expire_all()
    row = db.session.scalar(select(UsageRecord).where(UsageRecord.card_number == "********99998888"))
    assert (row.card_id, row.member_id, row.flags) == (new.id, member.id, 0)
    ambiguous = db.session.scalar(select(UsageRecord).where(UsageRecord.plate == "8080"))
    assert ambiguous.card_id is None  # still two cards end in 65981010 and neither has plate 8080


def test_staff_assign_an_ambiguous_masked_number(db, cards, runner, staff_client):
    card_a, card_b, _ = cards
    assert invoke(runner, "import", fixture("etc-meisai-download-14col.csv")).exit_code == 0
    listed = staff_client.get("/usage/unregistered/").get_data(as_text=True)
    assert "********65981010" in listed and "8080" in listed
    page = staff_client.get("/usage/unregistered/assign/?number=********65981010")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    suggested = text[text.index("候補"):] if "候補" in text else text
    assert "498000-1165-98101-0" in suggested and "498000-2265-98101-0" in suggested
    # the rows name the vehicle 8080, card B sits on 30-30: the screen says so before linking (issue 9 item 5)
    doubt = staff_client.post("/usage/unregistered/assign/",
                              data={"number": "********65981010", "card_id": str(card_b.id)}).get_data(as_text=True)
    assert "は、明細の車両番号（8080）と違います" in doubt and 'id="assign-confirmed"' in doubt
    done = staff_client.post("/usage/unregistered/assign/",
                             data={"number": "********65981010", "card_id": str(card_b.id), "confirmed": str(card_b.id)},
                             follow_redirects=True)
    assert "走行明細 1件をカード 498000-2265-98101-0" in done.get_data(as_text=True)
    db.session.expire_all()
    row = db.session.scalar(select(UsageRecord).where(UsageRecord.plate == "8080"))
    assert (row.card_id, row.flags) == (card_b.id, 0)

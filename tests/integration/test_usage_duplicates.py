"""重複の疑い (issue 7 item 2): the same trip delivered in two files is kept but flagged and not billed.

A row whose card number, exit date-time, exit IC and 通行料金 equal a row of ANOTHER live batch is
flagged FLAG_SUSPECTED_DUPLICATE by one set-based UPDATE at import; the summary says
`重複の疑い N件`; the screen 重複の疑い lists them with the other trip, and staff confirm a genuine
separate trip (FLAG_CONFIRMED: billed, never flagged again). Through `flask etc import` on SQLite and,
with TEST_DATABASE_URL, PostgreSQL."""
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from app.models.usage import (FLAG_CONFIRMED, FLAG_SUSPECTED_DUPLICATE, FLAG_UNREGISTERED_CARD, NOT_BILLED_FLAGS,
                              ImportBatch, UsageRecord)

from .test_usage_import import make_card

HEADER = ("利用年月日（自）,時分（自）,利用年月日（至）,時分（至）,利用ＩＣ（自）,利用ＩＣ（至）,割引前料金,ＥＴＣ割引額,"
          "通行料金,車種,車両番号,ＥＴＣカード番号,備考")
CARD = "4980001234567890"
TRIP = f"26/10/01,06:12,26/10/01,07:05,東京,厚木,1320,0,1320,1,品川 300 あ 12-34,{CARD},"
OTHER = f"26/10/02,08:00,26/10/02,08:40,厚木,東京,1320,0,1320,1,品川 300 あ 12-34,{CARD},"
# Same card and exit time, but another exit IC / another amount / another card: not the same trip.
OTHER_IC = f"26/10/01,06:12,26/10/01,07:05,東京,海老名,1320,0,1320,1,品川 300 あ 12-34,{CARD},"
OTHER_AMOUNT = f"26/10/01,06:12,26/10/01,07:05,東京,厚木,1320,-390,930,1,品川 300 あ 12-34,{CARD},深夜割引"
OTHER_CARD = "26/10/01,06:12,26/10/01,07:05,東京,厚木,1320,0,1320,1,品川 300 あ 12-34,4980005555666677,"
FLAT = f"26/10/05,,26/10/05,14:20,,首都高速,1300,0,1300,1,品川 300 あ 12-34,{CARD},"  # no entry: exit only


def write(tmp_path: Path, name: str, *lines: str) -> str:
    path = tmp_path / name
    path.write_bytes(("\r\n".join((HEADER, *lines)) + "\r\n").encode("cp932"))
    return str(path)


@pytest.fixture()
def runner(app):
    return app.test_cli_runner()


@pytest.fixture()
def card(db):
    return make_card(db, "M0001", "株式会社山田運輸", CARD, 1234)


def etc_import(runner, path, *options):
    result = runner.invoke(args=["etc", "import", path, "--format", "etc-meisai", *options])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def rows_of(db, batch_id):
    db.session.expire_all()
    return db.session.scalars(select(UsageRecord).where(UsageRecord.batch_id == batch_id)
                              .order_by(UsageRecord.line_no)).all()


def batch_ids(db):
    return db.session.scalars(select(ImportBatch.id).order_by(ImportBatch.id)).all()


def test_the_same_trip_in_a_second_file_is_flagged_not_billed(db, card, runner, tmp_path):
    first = etc_import(runner, write(tmp_path, "first.csv", TRIP, OTHER, FLAT))
    assert "重複の疑い 0件" in first
    second = etc_import(runner, write(tmp_path, "second.csv", TRIP, OTHER_IC, OTHER_AMOUNT, OTHER_CARD, FLAT))
    assert second.endswith("要確認 3件（未登録カード 1件, 紛失後利用 0件, 重複の疑い 2件, 期ずれ 0件）")
    one, two = batch_ids(db)
    assert [r.flags for r in rows_of(db, one)] == [0, 0, 0]  # the first delivery stays as it was
    got = rows_of(db, two)
    assert [r.flags for r in got] == [FLAG_SUSPECTED_DUPLICATE, 0, 0, FLAG_UNREGISTERED_CARD, FLAG_SUSPECTED_DUPLICATE]
    assert [bool(r.flags & NOT_BILLED_FLAGS) for r in got] == [True, False, False, False, True]
    assert db.session.get(ImportBatch, two).flagged_count == 3


def test_rows_repeated_inside_one_file_are_not_flagged(db, card, runner, tmp_path):
    etc_import(runner, write(tmp_path, "twice.csv", TRIP, TRIP))
    assert [r.flags for r in rows_of(db, batch_ids(db)[0])] == [0, 0]


def test_deleted_and_replaced_batches_do_not_count(db, card, runner, tmp_path, staff_client):
    etc_import(runner, write(tmp_path, "a.csv", TRIP))
    etc_import(runner, write(tmp_path, "b.csv", TRIP, OTHER))
    a, b = batch_ids(db)
    assert [r.flags for r in rows_of(db, b)] == [FLAG_SUSPECTED_DUPLICATE, 0]
    # the first delivery deleted: the second is no longer a duplicate of anything live
    deleted = staff_client.post(f"/importbatchview/delete/{a}", follow_redirects=True)
    assert deleted.status_code == 200
    assert db.session.get(ImportBatch, a).status == "deleted"
    assert [r.flags for r in rows_of(db, b)] == [0, 0]
    # a corrected file replacing its own month's batch is not a duplicate of what it replaces
    etc_import(runner, write(tmp_path, "b-corrected.csv", TRIP, OTHER, FLAT), "--replace")
    assert [r.flags for r in rows_of(db, batch_ids(db)[-1])] == [0, 0, 0]


def test_staff_confirm_a_genuine_separate_trip(db, card, runner, tmp_path, staff_client):
    etc_import(runner, write(tmp_path, "first.csv", TRIP, OTHER))
    etc_import(runner, write(tmp_path, "second.csv", TRIP, OTHER_IC))
    one, two = batch_ids(db)
    suspect = rows_of(db, two)[0]
    page = staff_client.get("/usage/duplicates/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "重複の疑い" in text and "2026/10/01 07:05" in text and "厚木" in text
    assert f"#{one}</a> 2行（first.csv）" in text  # the same trip in the other file
    assert f'name="row" value="{suspect.id}"' in text
    listed = staff_client.get("/usage/records/?month=2026-10&flag=duplicate").get_data(as_text=True)
    table = re.search(r'<table[^>]*id="usage-records".*?</table>', listed, re.S).group(0)
    assert f"#{two}</a> 2行" in table and f"#{one}</a>" not in table  # the filter on the usage list
    done = staff_client.post("/usage/duplicates/confirm/", data={"row": str(suspect.id)}, follow_redirects=True)
    assert "重複の疑いの明細 1件を確認済みにしました" in done.get_data(as_text=True)
    assert rows_of(db, two)[0].flags == FLAG_CONFIRMED  # billed from now on
    # a third delivery of the trip: the new row is flagged, the confirmed one is never flagged again
    third = etc_import(runner, write(tmp_path, "third.csv", TRIP, OTHER_AMOUNT))
    assert "重複の疑い 1件" in third
    assert rows_of(db, two)[0].flags == FLAG_CONFIRMED
    assert rows_of(db, batch_ids(db)[-1])[0].flags == FLAG_SUSPECTED_DUPLICATE


def test_closed_months_rows_cannot_be_confirmed(db, card, runner, tmp_path, staff_client):
    from app.models.billing import BillingRun

    etc_import(runner, write(tmp_path, "first.csv", TRIP))
    etc_import(runner, write(tmp_path, "second.csv", TRIP, OTHER_IC))
    suspect = rows_of(db, batch_ids(db)[-1])[0]
    db.session.add(BillingRun(month="2026-10", status="closed"))
    db.session.commit()
    page = staff_client.get("/usage/duplicates/").get_data(as_text=True)
    assert "締め済" in page and f'name="row" value="{suspect.id}"' not in page
    refused = staff_client.post("/usage/duplicates/confirm/", data={"row": str(suspect.id)}, follow_redirects=True)
    assert "締め済みの月の明細は変更できません" in refused.get_data(as_text=True)
    assert rows_of(db, batch_ids(db)[-1])[0].flags == FLAG_SUSPECTED_DUPLICATE

"""走行明細の画面: upload with background job, 取込一覧 and delete, 未登録カード and assign, 明細一覧 with
month and filters, Excel export, 紛失後利用, 取込形式 (copy, JSON validation), ICマスタ CSV, roles."""
import datetime as dt
import io
import re
import time

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, func, select

from app.domain.card_number import format_card_number
from app.models import Card, CardEvent, Member, Vehicle
from app.models.billing import BillingRun
from app.models.usage import (BATCH_ACTIVE, BATCH_DELETED, BATCH_REPLACED, FLAG_UNREGISTERED_CARD,
                              FLAG_USED_AFTER_LOSS, IcMaster, ImportBatch, ImportProfile, UsageRecord)
from app.services.actor import acting_as
from app.services.cards import apply_card_event, prepare_new_card
from tests.conftest import MEMBER_PASSWORD, login

HEADER = ("利用年月日（自）,時分（自）,利用年月日（至）,時分（至）,利用ＩＣ（自）,利用ＩＣ（至）,割引前料金,ＥＴＣ割引額,"
          "通行料金,車種,車両番号,ＥＴＣカード番号,備考")
KNOWN = "4980001234567890"  # 株式会社山田運輸's card, lost on 2026-10-02
SPARE = "4980005555666677"  # 株式会社山田運輸's second card (the one the unknown number belongs to)
OTHER = "4980002222333344"  # 海野物流's card
UNKNOWN = "4980009876543210"
LINES = [
    f"26/10/01,06:12,26/10/01,07:05,東京,厚木,1320,0,1320,1,品川 300 あ 12-34,{KNOWN},",
    f"26/10/02,18:40,26/10/02,19:31,厚木,東京,1320,0,1320,1,品川 300 あ 12-34,{KNOWN},",
    f"26/10/03,01:10,26/10/03,03:02,浜松西,名古屋,4560,-1360,3200,2,浜松 100 か 56-78,{UNKNOWN},深夜割引",
    f"26/10/04,10:00,26/10/04,11:15,八王子,甲府昭和,2900,-870,2030,2,浜松 100 か 56-78,{UNKNOWN},休日割引",
    f"26/10/05,09:00,26/10/05,09:40,横浜町田,東京,1000,0,1000,1,横浜 500 さ 90-12,{OTHER},",
]
TOTAL = 1320 + 1320 + 3200 + 2030 + 1000


def meisai(lines=LINES) -> bytes:
    return ("\r\n".join([HEADER, *lines]) + "\r\n").encode("cp932")


@pytest.fixture()
def usage(db):
    """Two members, three registered cards (one lost on 2026-10-02), clean profiles and jobs."""
    from app.services.profiles import ensure_shipped_profiles, shipped_profiles
    from app.views import usage_upload

    usage_upload.clear_jobs()
    shipped = [spec["name"] for spec in shipped_profiles()]
    db.session.execute(delete(ImportProfile).where(ImportProfile.name.not_in(shipped)))
    db.session.commit()
    ensure_shipped_profiles()
    with acting_as("test-setup"):
        yamada = Member(code="M0001", name="株式会社山田運輸", kana="ヤマダウンユ")
        umino = Member(code="M0002", name="海野物流株式会社", kana="ウミノブツリユウ")
        vehicle = Vehicle(member=yamada, plate_region="浜松", plate_class_number="100", plate_kana="か",
                          plate_serial=5678, vehicle_class=2)
        db.session.add_all([yamada, umino, vehicle])
        db.session.flush()
        cards = {}
        for number, member in ((KNOWN, yamada), (SPARE, yamada), (OTHER, umino)):
            card = Card(number=number, kind="credit", issuer="テスト信販", member=member,
                        vehicle=vehicle if number == SPARE else None, valid_from=dt.date(2026, 4, 1))
            prepare_new_card(db.session, card)
            db.session.flush()
            cards[number] = card
        apply_card_event(db.session, CardEvent(card=cards[KNOWN], kind="loss", occurred_on=dt.date(2026, 10, 2)))
        db.session.commit()
        ids = {"yamada": yamada.id, "umino": umino.id, "known": cards[KNOWN].id, "spare": cards[SPARE].id,
               "other": cards[OTHER].id}
    yield ids
    db.session.rollback()


def start_upload(client, body: bytes, name="meisai_2026-10.csv", profile="etc-meisai", month="", replace=False,
                 xhr=False):
    data = {"profile": profile, "month": month, "file": (io.BytesIO(body), name)}
    if replace:
        data["replace"] = "1"
    headers = {"X-Requested-With": "XMLHttpRequest"} if xhr else {}
    return client.post("/usage/upload/start", data=data, content_type="multipart/form-data", headers=headers)


def wait_for(client, job_id: str, timeout=20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/usage/upload/status/{job_id}").get_json()
        if status["state"] != "running":
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def upload(client, body: bytes, **options) -> tuple[dict, str]:
    """Upload as the browser without JavaScript does: post, follow to ?job=…, wait, read the result page."""
    response = start_upload(client, body, **options)
    assert response.status_code == 302, response.get_data(as_text=True)
    job_id = re.search(r"job=([0-9a-f]+)", response.headers["Location"]).group(1)
    status = wait_for(client, job_id)
    page = client.get(f"/usage/upload/?job={job_id}").get_data(as_text=True)
    return status, page


def batches(db):
    rows = db.session.scalars(select(ImportBatch).order_by(ImportBatch.id)).all()
    db.session.rollback()
    return rows


def rows_of(db, number):
    rows = db.session.scalars(select(UsageRecord).where(UsageRecord.card_number == number)
                              .order_by(UsageRecord.line_no)).all()
    db.session.rollback()
    return rows


# ---- upload ----------------------------------------------------------------------------------------

def test_staff_uploads_a_file_and_sees_the_batch(staff_client, db, usage):
    page = staff_client.get("/usage/upload/").get_data(as_text=True)
    assert "走行明細ファイルの取込" in page and "取り込む" in page
    assert 'name="csrf_token"' in page

    status, page = upload(staff_client, meisai())
    assert status["state"] == "done" and status["rows"] == 5 and status["percent"] == 100
    assert "取り込みました。" in page
    assert "5件" in page and f"{TOTAL:,}円" in page
    assert "2026年10月" in page
    assert "未登録カードを確認する" in page and "紛失後利用を確認する" in page

    [batch] = batches(db)
    assert (batch.file_name, batch.usage_month, batch.row_count, batch.total_billed, batch.status) == (
        "meisai_2026-10.csv", "2026-10", 5, TOTAL, BATCH_ACTIVE)
    assert batch.imported_by == "staff"  # the background thread acted as the uploader
    assert batch.flagged_count == 3  # two unknown-card rows, one used after the loss

    listing = staff_client.get("/importbatchview/list/").get_data(as_text=True)
    assert "取込一覧" in listing and "meisai_2026-10.csv" in listing
    assert "取込済" in listing and f"{TOTAL:,}円" in listing and "2026年10月" in listing
    assert f"/usage/records/?batch={batch.id}" in listing  # link to its rows
    shown = staff_client.get(f"/importbatchview/show/{batch.id}").get_data(as_text=True)
    assert batch.sha256 in shown and "staff" in shown


def test_upload_by_xhr_answers_json_and_status_is_private(staff_client, client, app, db, usage):
    response = start_upload(staff_client, meisai(), xhr=True)
    assert response.status_code == 202
    answer = response.get_json()
    status = wait_for(staff_client, answer["job"])
    assert status["state"] == "done" and status["bytes_total"] == len(meisai())
    assert answer["result_url"].endswith(f"job={answer['job']}")
    # another user does not see someone else's job (the tests' requests share one app context, so
    # Flask-Login's cached user is dropped first)
    from flask import g

    from tests.conftest import ADMIN_PASSWORD

    g.pop("_login_user", None)
    other = app.test_client()
    login(other, "admin", ADMIN_PASSWORD)
    assert other.get(f"/usage/upload/status/{answer['job']}").status_code == 404


def test_same_file_twice_is_refused_naming_the_earlier_batch(staff_client, db, usage):
    upload(staff_client, meisai())
    [first] = batches(db)
    status, page = upload(staff_client, meisai(), name="again.csv")
    assert status["state"] == "refused"
    assert "取り込めませんでした" in page and f"取込#{first.id}" in page
    assert len(batches(db)) == 1


def test_malformed_file_is_refused_whole_with_a_downloadable_error_list(staff_client, db, usage):
    bad = LINES[:2] + [LINES[2].replace("26/10/03,03:02", "26/13/03,03:02"), LINES[3].replace("2030", "二千")]
    status, page = upload(staff_client, meisai(bad), name="bad.csv")
    assert status["state"] == "refused"
    assert "何も登録していません" in page
    table = re.search(r'<table[^>]*id="import-errors".*?</table>', page, re.S).group(0)
    for header in ("ファイル", "行", "列", "値", "内容"):
        assert f"<th>{header}</th>" in table
    assert "bad.csv" in table and "26/13/03" in table and "二千" in table
    assert re.search(r">\s*4\s*<", table) and re.search(r">\s*5\s*<", table)  # line numbers (header is line 1)
    assert batches(db) == [] and rows_of(db, KNOWN) == []

    job_id = re.search(r"/usage/upload/errors/([0-9a-f]+)", page).group(1)
    download = staff_client.get(f"/usage/upload/errors/{job_id}")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.data.startswith("\ufeff".encode())
    text = download.data.decode("utf-8-sig")
    assert text.splitlines()[0] == "ファイル,行,列,値,内容"
    assert "bad.csv,4," in text and "bad.csv,5," in text
    assert "attachment" in download.headers["Content-Disposition"]


def test_upload_form_problems_are_japanese(staff_client, db, usage):
    response = start_upload(staff_client, meisai(), month="2026-13", xhr=True)
    assert response.status_code == 400 and "YYYY-MM" in response.get_json()["error"]
    response = staff_client.post("/usage/upload/start", data={"profile": "etc-meisai"},
                                 headers={"X-Requested-With": "XMLHttpRequest"})
    assert response.get_json()["error"] == "取り込むファイルを選んでください。"
    page = staff_client.post("/usage/upload/start", data={"profile": "nope", "file": (io.BytesIO(b"x"), "a.csv")},
                             content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "取込形式を選んでください。" in page


def test_unverified_profile_is_marked_on_the_upload_screen_and_in_the_profile_list(staff_client, db, usage):
    page = staff_client.get("/usage/upload/").get_data(as_text=True)
    warning = re.search(r'<div class="alert alert-warning profile-warning" data-profile="nexco-fixed".*?</div>', page,
                        re.S).group(0)
    assert "レイアウト未検証" in warning and "仕様書と照合" in warning
    assert "【レイアウト未検証】" in page  # in the option text too (seen without JavaScript)
    listing = staff_client.get("/importprofileview/list/").get_data(as_text=True)
    rows = {name: row for row in re.findall(r"<tr>.*?</tr>", listing, re.S)
            for name in ("etc-meisai", "nexco-fixed", "tollbook-csv") if f">{name}<" in row}
    assert ">未検証</span>" in rows["nexco-fixed"]
    assert ">検証済</span>" in rows["etc-meisai"] and ">検証済</span>" in rows["tollbook-csv"]
    nexco = db.session.scalar(select(ImportProfile.id).where(ImportProfile.name == "nexco-fixed"))
    assert ">未検証</span>" in staff_client.get(f"/importprofileview/show/{nexco}").get_data(as_text=True)


def test_replace_keeps_the_old_batch_for_the_record(staff_client, db, usage):
    upload(staff_client, meisai())
    corrected = LINES[:4] + [LINES[4].replace(",1000,1,", ",1100,1,").replace("1000,0,", "1100,0,")]
    status, page = upload(staff_client, meisai(corrected), name="meisai_2026-10_訂正.csv", replace=True)
    assert status["state"] == "done", status
    old, new = batches(db)
    assert old.status == BATCH_REPLACED and new.status == BATCH_ACTIVE and new.replaces_batch_id == old.id
    assert f"取込#{old.id}" in page
    listing = staff_client.get("/importbatchview/list/").get_data(as_text=True)
    assert "差替済（旧）" in listing and "meisai_2026-10_訂正.csv" in listing


# ---- 取込一覧: delete ---------------------------------------------------------------------------------

def test_delete_batch_while_open_then_refused_once_the_month_is_closed(staff_client, db, usage):
    upload(staff_client, meisai())
    [batch] = batches(db)
    page = staff_client.post(f"/importbatchview/delete/{batch.id}", follow_redirects=True).get_data(as_text=True)
    assert "削除しました" in page
    [batch] = batches(db)
    assert batch.status == BATCH_DELETED and rows_of(db, KNOWN) == []
    assert "削除済" in staff_client.get("/importbatchview/list/").get_data(as_text=True)

    upload(staff_client, meisai(), name="again.csv")  # a deleted batch no longer blocks the same file
    active = [b for b in batches(db) if b.status == BATCH_ACTIVE]
    assert len(active) == 1
    db.session.add(BillingRun(month="2026-10", status="closed"))
    db.session.commit()
    page = staff_client.post(f"/importbatchview/delete/{active[0].id}", follow_redirects=True).get_data(as_text=True)
    assert "締め済みのため変更できません" in page
    assert [b.status for b in batches(db)][-1] == BATCH_ACTIVE
    assert len(rows_of(db, KNOWN)) == 2


# ---- 未登録カード ----------------------------------------------------------------------------------

def test_unknown_card_is_listed_and_assign_links_the_rows(staff_client, db, usage):
    upload(staff_client, meisai())
    page = staff_client.get("/usage/unregistered/").get_data(as_text=True)
    table = re.search(r'<table[^>]*id="unregistered-cards".*?</table>', page, re.S).group(0)
    assert UNKNOWN in table and KNOWN not in table
    assert "2件" in table and f"{3200 + 2030:,}円" in table
    assert "2026/10/03" in table and "2026/10/04" in table and "浜松 100 か 56-78" in table
    assert f"/cardview/add?number={UNKNOWN}" in table and "カードを登録" in table and "このカードに割り当て" in table

    form = staff_client.get(f"/usage/unregistered/assign/?number={UNKNOWN}").get_data(as_text=True)
    assert "車両番号・カード番号が近いカード" in form  # the card whose vehicle carries the plate seen
    suggested = re.search(r'<optgroup label="車両番号・カード番号が近いカード">(.*?)</optgroup>', form, re.S).group(1)
    assert f'value="{usage["spare"]}"' in suggested

    page = staff_client.post("/usage/unregistered/assign/", data={"number": UNKNOWN, "card_id": usage["spare"]},
                             follow_redirects=True).get_data(as_text=True)
    assert "2件" in page and "割り当てました" in page
    rows = rows_of(db, UNKNOWN)
    assert [(r.card_id, r.member_id, r.flags) for r in rows] == [(usage["spare"], usage["yamada"], 0)] * 2
    assert "未登録カードの走行明細はありません" in staff_client.get("/usage/unregistered/").get_data(as_text=True)


def test_registering_the_card_links_the_rows(staff_client, db, usage):
    upload(staff_client, meisai())
    form = staff_client.get(f"/cardview/add?number={UNKNOWN}").get_data(as_text=True)
    assert re.search(rf'id="number"[^>]*value="{UNKNOWN}"|value="{UNKNOWN}"[^>]*id="number"', form)
    page = staff_client.post("/cardview/add", data={
        "number": UNKNOWN, "kind": "credit", "issuer": "テスト信販", "member": str(usage["umino"]),
        "valid_from": "2026-04-01"}, follow_redirects=True).get_data(as_text=True)
    assert "2件を、このカードに結び付けました" in page
    card_id = db.session.scalar(select(Card.id).where(Card.number == UNKNOWN))
    assert [(r.card_id, r.member_id, r.flags) for r in rows_of(db, UNKNOWN)] == [(card_id, usage["umino"], 0)] * 2


def test_registering_from_unregistered_asks_which_event_and_defaults_to_no_fee(staff_client, db, usage):
    from app.domain.billable_events import REGISTRATION_ONLY_NOTE, EventRecord, is_billable
    from app.models import CardEvent

    upload(staff_client, meisai())  # the unknown card's first usage: 2026-10-03, before today
    form = staff_client.get(f"/cardview/add?number={UNKNOWN}").get_data(as_text=True)
    select_html = re.search(r'<select[^>]*name="registration".*?</select>', form, re.S).group(0)
    assert re.search(r'<option selected value="registration_only">|<option value="registration_only" selected',
                     select_html), select_html
    assert "新規発行・追加発行（手数料を請求）" in select_html and "移行・登録のみ（手数料なし）" in select_html
    plain = staff_client.get("/cardview/add").get_data(as_text=True)  # a new card, no usage yet: a fee
    plain_select = re.search(r'<select[^>]*name="registration".*?</select>', plain, re.S).group(0)
    assert re.search(r'<option selected value="fee">|<option value="fee" selected', plain_select), plain_select
    staff_client.post("/cardview/add", data={
        "number": UNKNOWN, "kind": "credit", "issuer": "テスト信販", "member": str(usage["umino"]),
        "valid_from": "2026-04-01", "registration": "registration_only"}, follow_redirects=True)
    event = db.session.scalar(select(CardEvent).join(Card, Card.id == CardEvent.card_id).where(Card.number == UNKNOWN))
    assert (event.kind, event.note) == ("add", REGISTRATION_ONLY_NOTE)  # 海野物流 already has a card
    record = EventRecord(event.id, event.occurred_on, event.fee_billed, event.note)
    assert not is_billable(record, "2026-11")  # 移行・登録のみ: never a fee
    staff_client.post("/cardview/add", data={
        "number": "4980001111222233", "kind": "credit", "issuer": "テスト信販", "member": str(usage["umino"]),
        "valid_from": "2026-11-01", "registration": "fee"}, follow_redirects=True)
    paid = db.session.scalar(select(CardEvent).join(Card, Card.id == CardEvent.card_id)
                             .where(Card.number == "4980001111222233"))
    assert paid.note is None and is_billable(EventRecord(paid.id, paid.occurred_on, paid.fee_billed, paid.note),
                                             "2026-11")


def test_assign_never_changes_a_closed_month(staff_client, db, usage):
    upload(staff_client, meisai())
    db.session.add(BillingRun(month="2026-10", status="closed"))
    db.session.commit()
    page = staff_client.get("/usage/unregistered/").get_data(as_text=True)
    assert UNKNOWN not in page and "締め済みの月" in page
    staff_client.post("/usage/unregistered/assign/", data={"number": UNKNOWN, "card_id": usage["spare"]},
                      follow_redirects=True)
    assert [r.flags for r in rows_of(db, UNKNOWN)] == [FLAG_UNREGISTERED_CARD] * 2

    from app.services.usage_rematch import rematch_unregistered

    db.session.add(Card(number=UNKNOWN, kind="credit", issuer="x", member_id=usage["umino"], status="active"))
    db.session.commit()
    assert rematch_unregistered() == 0
    assert [r.card_id for r in rows_of(db, UNKNOWN)] == [None, None]


def test_rematch_flags_use_after_the_loss_of_the_assigned_card(staff_client, db, usage):
    upload(staff_client, meisai())
    from app.services.usage_rematch import assign_unregistered

    assert assign_unregistered(UNKNOWN, usage["known"]) == 2  # KNOWN was lost on 2026-10-02
    assert [r.flags for r in rows_of(db, UNKNOWN)] == [FLAG_USED_AFTER_LOSS] * 2


# ---- 明細一覧 / 紛失後利用 / Excel ----------------------------------------------------------------------

def test_usage_list_defaults_to_the_latest_month_and_filters(staff_client, db, usage):
    assert "取り込まれた走行明細はまだありません" in staff_client.get("/usage/records/").get_data(as_text=True)
    upload(staff_client, meisai())
    september = [line.replace("26/10/", "26/09/") for line in LINES[:1]]
    upload(staff_client, meisai(september), name="meisai_2026-09.csv")

    page = staff_client.get("/usage/records/").get_data(as_text=True)
    assert re.search(r'<option value="2026-10" selected>2026年10月', page)
    table = re.search(r'<table[^>]*id="usage-records".*?</table>', page, re.S).group(0)
    assert table.count("<tr") == 6  # header + 5 rows of October
    assert "2026/10/01 07:05" in table and "1,320円" in table and "-1,360円" not in table
    assert "未登録カード" in table and "紛失後利用" in table
    assert f"5件　通行料金合計 {TOTAL:,}円" in page

    page = staff_client.get("/usage/records/?month=2026-09").get_data(as_text=True)
    assert "1件" in page and "2026/09/01 07:05" in page and "2026/10/01" not in page

    page = staff_client.get(f"/usage/records/?month=2026-10&member={usage['umino']}").get_data(as_text=True)
    table = re.search(r'<table[^>]*id="usage-records".*?</table>', page, re.S).group(0)
    assert table.count("<tr") == 2 and OTHER in table and "海野物流株式会社" in table
    assert "1件　通行料金合計 1,000円" in page

    page = staff_client.get(f"/usage/records/?month=2026-10&card={KNOWN[:6]}-{KNOWN[6:]}").get_data(as_text=True)
    assert re.search(r'<table[^>]*id="usage-records".*?</table>', page, re.S).group(0).count("<tr") == 3
    page = staff_client.get("/usage/records/?month=2026-10&flag=unregistered").get_data(as_text=True)
    assert re.search(r'<table[^>]*id="usage-records".*?</table>', page, re.S).group(0).count(f">{format_card_number(UNKNOWN)}<") == 2
    page = staff_client.get("/usage/records/?month=26-10", follow_redirects=True).get_data(as_text=True)
    assert "YYYY-MM の形で指定してください" in page


def test_usage_list_pages_by_keyset(staff_client, db, usage, monkeypatch):
    from app.views import usage as usage_views

    monkeypatch.setattr(usage_views, "PAGE_SIZE", 2)
    upload(staff_client, meisai())
    first = staff_client.get("/usage/records/").get_data(as_text=True)
    next_url = re.search(r'href="([^"]*after=\d+[^"]*)"[^>]*id="next-page"', first).group(1).replace("&amp;", "&")
    second = staff_client.get(next_url).get_data(as_text=True)
    assert "2026/10/03" in second and "2026/10/01" not in second
    assert "前の2件" in second


def test_alerts_list_rows_used_after_the_loss(staff_client, db, usage):
    upload(staff_client, meisai())
    page = staff_client.get("/usage/alerts/").get_data(as_text=True)
    table = re.search(r'<table[^>]*id="usage-records".*?</table>', page, re.S).group(0)
    assert table.count("<tr") == 2
    assert "2026/10/02 19:31" in table and "株式会社山田運輸" in table and "厚木" in table
    assert "1,320円" in table and "2026/10/02</td>" in table  # the loss date


def test_export_is_xlsx_with_japanese_headers_for_the_filter(staff_client, db, usage):
    upload(staff_client, meisai())
    response = staff_client.get(f"/usage/records/export/?month=2026-10&member={usage['yamada']}")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("利用月", "組合員コード", "組合員名", "カード番号") and "通行料金" in rows[0]
    assert len(rows) == 3 and {r[3] for r in rows[1:]} == {KNOWN}
    assert rows[2][15] == "紛失後利用"
    everything = load_workbook(io.BytesIO(staff_client.get("/usage/records/export/").data)).active
    assert everything.max_row == 6
    alerts = load_workbook(io.BytesIO(staff_client.get("/usage/alerts/export/").data)).active
    assert alerts.max_row == 2


def test_export_refuses_past_the_excel_row_limit(staff_client, db, usage, monkeypatch):
    from app.views import usage as usage_views

    monkeypatch.setattr(usage_views, "EXCEL_MAX_ROWS", 3)
    upload(staff_client, meisai())
    page = staff_client.get("/usage/records/export/?month=2026-10", follow_redirects=True).get_data(as_text=True)
    assert "Excel の行数上限" in page


# ---- 取込形式 / ICマスタ ------------------------------------------------------------------------------

def test_copy_a_profile_and_validate_its_columns(staff_client, db, usage):
    source = db.session.scalar(select(ImportProfile).where(ImportProfile.name == "etc-meisai"))
    db.session.rollback()
    page = staff_client.post(f"/importprofileview/action/copy/{source.id}", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "「etc-meisai-copy」を作りました" in text and "取込形式の編集" in text
    copy = db.session.scalar(select(ImportProfile).where(ImportProfile.name == "etc-meisai-copy"))
    assert copy.columns == source.columns and copy.encoding == "cp932" and copy.date_format == "YY/MM/DD"
    db.session.rollback()

    form = {"name": "etc-meisai-copy", "label": "コピー", "file_type": "csv", "encoding": "utf-8",
            "header_rows": "1", "date_format": "YYYY/MM/DD", "time_format": "HH:MM", "discount_sign": "positive",
            "layout_verified": "y"}
    def columns(**typed):
        return {f"columns-{key}-csv": value for key, value in typed.items()}

    for typed, message in (({}, "列の対応を入力してください（必須: カード番号・利用日（出口）・通行料金）"),
                           ({"card_number": "番号"}, "必須の項目がありません: 利用日（出口）、通行料金"),
                           ({"card_number": "番号", "exit_date": "日", "amount_billed": "料金: "},
                            "通行料金: 「料金:」は「種類: 見出し」の形で書いてください")):
        page = staff_client.post(f"/importprofileview/edit/{copy.id}", data=dict(form, **columns(**typed)))
        assert message in page.get_data(as_text=True), typed
    staff_client.post(f"/importprofileview/edit/{copy.id}", data=dict(form, **columns(
        card_number="番号", exit_date="日", amount_billed="料金", discount="割引1＋割引2", plate="3")),
        follow_redirects=True)
    saved = db.session.get(ImportProfile, copy.id)
    db.session.refresh(saved)
    assert saved.columns == {"card_number": "番号", "exit_date": "日", "amount_billed": "料金",
                             "discount": ["割引1", "割引2"], "plate": 3}
    assert (saved.encoding, saved.discount_sign) == ("utf-8", "positive")
    db.session.rollback()
    help_text = staff_client.get(f"/importprofileview/edit/{copy.id}").get_data(as_text=True)
    assert "カード番号" in help_text and "マイナスで記載" in help_text and "JSON" not in help_text
    assert 'name="columns-discount-csv" value="割引1＋割引2"' in help_text


def test_a_fixed_width_profile_reads_positions_and_bytes(staff_client, db, usage):
    fixed = db.session.scalar(select(ImportProfile).where(ImportProfile.name == "nexco-fixed"))
    db.session.rollback()
    page = staff_client.get(f"/importprofileview/edit/{fixed.id}").get_data(as_text=True)
    assert 'name="columns-amount_billed-start" value="99＋105＋111"' in page
    assert 'name="columns-amount_billed-width" value="6＋6＋6"' in page
    assert 'name="vehicle_class_codes-1" value="01"' in page
    shown = staff_client.get(f"/importprofileview/show/{fixed.id}").get_data(as_text=True)
    assert "開始位置 99＋105＋111・6＋6＋6バイト" in shown and "01 → 普通車" in shown

    page = staff_client.post(f"/importprofileview/action/copy/{fixed.id}", follow_redirects=True)
    copy = db.session.scalar(select(ImportProfile).where(ImportProfile.name == "nexco-fixed-copy"))
    db.session.rollback()
    form = {"name": "nexco-fixed-copy", "label": "固定長コピー", "file_type": "fixed", "encoding": "cp932",
            "header_rows": "0", "date_format": "YYYYMMDD", "time_format": "HHMMSS", "discount_sign": "positive",
            "columns-card_number-start": "10", "columns-card_number-width": "15",
            "columns-exit_date-start": "30", "columns-exit_date-width": "8",
            "columns-amount_billed-start": "99＋105", "columns-amount_billed-width": "6",
            "vehicle_class_codes-1": "01、11", "vehicle_class_codes-2": "02",
            "header_aliases-from": ["（入）", ""], "header_aliases-to": ["（自）", ""]}
    page = staff_client.post(f"/importprofileview/edit/{copy.id}", data=form).get_data(as_text=True)
    assert "通行料金: 開始位置とバイト数を同じ数だけ入力してください。" in page
    form["columns-amount_billed-width"] = "6＋6"
    staff_client.post(f"/importprofileview/edit/{copy.id}", data=form, follow_redirects=True)
    saved = db.session.get(ImportProfile, copy.id)
    db.session.refresh(saved)
    assert saved.columns == {"card_number": [10, 15], "exit_date": [30, 8], "amount_billed": [[99, 6], [105, 6]]}
    assert saved.vehicle_class_codes == {"01": 1, "11": 1, "02": 2}
    assert saved.header_aliases == {"（入）": "（自）"}
    db.session.rollback()


def test_no_code_names_or_json_on_the_profile_screens(staff_client, db, usage):
    """Issue 9 item 11: the shipped profiles' pages show items in Japanese, no field codes, no JSON."""
    from tests.integration.test_japanese_ui import code_names_on

    urls = ["/importprofileview/add", "/importprofileview/list/"]
    for profile_id in db.session.scalars(select(ImportProfile.id)):
        urls += [f"/importprofileview/show/{profile_id}", f"/importprofileview/edit/{profile_id}"]
    db.session.rollback()
    assert len(urls) >= 8
    for url in urls:
        page = staff_client.get(url).get_data(as_text=True)
        assert not code_names_on(page), (url, code_names_on(page))
        visible = re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>", "", page, flags=re.S))
        assert "JSON" not in visible and "amount_billed" not in visible, url


def test_ic_master_csv_upload(staff_client, db, usage):
    body = "ICコード,IC名,路線,道路事業者,地域区分\r\n01001,東京,東名高速道路,NEXCO中日本,大都市近郊\r\n,甲府昭和,中央自動車道,NEXCO東日本,地方部\r\n"
    page = staff_client.post("/icmasterview/upload/", data={"file": (io.BytesIO(body.encode("cp932")), "ic.csv")},
                             content_type="multipart/form-data").get_data(as_text=True)
    assert "ic.csv: IC 2件を登録、0件を更新しました。" in page
    listing = staff_client.get("/icmasterview/list/").get_data(as_text=True)
    assert "甲府昭和" in listing and "地方部" in listing and "大都市近郊" in listing
    bad = "IC名,地域区分\r\n八王子,郊外\r\n"
    page = staff_client.post("/icmasterview/upload/", data={"file": (io.BytesIO(bad.encode()), "bad.csv")},
                             content_type="multipart/form-data").get_data(as_text=True)
    assert "何も登録していません" in page and "2行目" in page
    assert db.session.scalar(select(func.count()).select_from(IcMaster)) == 2


# ---- roles and Japanese -------------------------------------------------------------------------------

def new_routes(batch_id, profile_id):
    return ["/usage/upload/", "/usage/upload/status/x", "/usage/upload/errors/x", "/importbatchview/list/",
            f"/importbatchview/show/{batch_id}", "/importbatchview/export/", "/usage/records/",
            "/usage/records/export/", "/usage/alerts/", "/usage/alerts/export/", "/usage/unregistered/",
            f"/usage/unregistered/assign/?number={UNKNOWN}", "/importprofileview/list/",
            f"/importprofileview/show/{profile_id}", "/importprofileview/add", "/icmasterview/list/",
            "/icmasterview/upload/"]


def test_member_role_is_refused_on_every_new_route(client, staff_client, db, usage):
    upload(staff_client, meisai())
    [batch] = batches(db)
    profile_id = db.session.scalar(select(ImportProfile.id).where(ImportProfile.name == "etc-meisai"))
    staff_client.post("/logout/")
    # member1 has no member account here, so its landing page (the portal) answers 403: no follow
    assert client.post("/login/", data={"username": "member1", "password": MEMBER_PASSWORD}).status_code == 302
    for url in new_routes(batch.id, profile_id):
        response = client.get(url)
        assert response.status_code in (302, 403), url
        assert UNKNOWN not in response.get_data(as_text=True), url
    for url, data in (("/usage/upload/start", {"profile": "etc-meisai", "file": (io.BytesIO(meisai()), "x.csv")}),
                      (f"/importbatchview/delete/{batch.id}", {}),
                      ("/usage/unregistered/assign/", {"number": UNKNOWN, "card_id": usage["spare"]}),
                      (f"/importprofileview/action/copy/{profile_id}", {}),
                      ("/icmasterview/upload/", {})):
        assert client.post(url, data=data, content_type="multipart/form-data").status_code in (302, 403), url
    assert [b.status for b in batches(db)] == [BATCH_ACTIVE]
    assert [r.flags for r in rows_of(db, UNKNOWN)] == [FLAG_UNREGISTERED_CARD] * 2


def test_manager_reads_but_does_not_change(app, staff_client, db, usage):
    from tests.conftest import MANAGER_PASSWORD

    upload(staff_client, meisai())
    [batch] = batches(db)
    from flask import g

    g.pop("_login_user", None)  # the tests' requests share one app context (see above)
    manager = app.test_client()
    login(manager, "manager", MANAGER_PASSWORD)
    for url in ("/importbatchview/list/", "/usage/records/", "/usage/alerts/", "/usage/unregistered/",
                "/importprofileview/list/", "/icmasterview/list/", "/usage/records/export/"):
        assert manager.get(url).status_code == 200, url
    for url in ("/usage/upload/", "/icmasterview/upload/", f"/usage/unregistered/assign/?number={UNKNOWN}",
                "/importprofileview/add"):
        assert manager.get(url).status_code in (302, 403), url
    assert manager.post(f"/importbatchview/delete/{batch.id}").status_code in (302, 403)
    assert [b.status for b in batches(db)] == [BATCH_ACTIVE]


def test_usage_pages_with_data_are_japanese(staff_client, db, usage):
    from tests.integration.test_japanese_ui import english_on

    upload(staff_client, meisai())
    status, refused_page = upload(staff_client, meisai([LINES[0].replace("1320,1,", "abc,1,")]), name="bad.csv")
    [batch] = batches(db)
    profile_id = db.session.scalar(select(ImportProfile.id).where(ImportProfile.name == "nexco-fixed"))
    pages = {"refused": refused_page}
    for url in ["/usage/upload/", "/importbatchview/list/", f"/importbatchview/show/{batch.id}", "/usage/records/",
                "/usage/alerts/", "/usage/unregistered/", f"/usage/unregistered/assign/?number={UNKNOWN}",
                "/importprofileview/list/", f"/importprofileview/show/{profile_id}",
                f"/importprofileview/edit/{profile_id}", "/importprofileview/add", "/icmasterview/list/",
                "/icmasterview/add", "/icmasterview/upload/"]:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        pages[url] = response.get_data(as_text=True)
    failures = [f"{url}: {problem}" for url, page in pages.items() for problem in english_on(page)]
    assert not failures, "\n".join(failures)

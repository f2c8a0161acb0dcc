"""Usage import (走行明細の取込) through app.services.usage_import, inbox and ic_master, with the
hand-written files in tests/fixtures/usage/ (docs/usage-import.md describes every format).

Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL (where rows are loaded through COPY)."""
import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.domain.card_lifecycle import LOSS
from app.domain.errors import DomainError
from app.models import Card, CardEvent, Member, Vehicle
from app.models.billing import BillingRun
from app.models.usage import (BATCH_ACTIVE, BATCH_DELETED, BATCH_REPLACED, FLAG_UNREGISTERED_CARD,
                              FLAG_USED_AFTER_LOSS, IcMaster, ImportBatch, ImportProfile, UsageRecord)
from app.services.actor import acting_as
from app.services.cards import apply_card_event, prepare_new_card
from app.services.ic_master import import_ic_master
from app.services.inbox import import_inbox
from app.services.usage_export import HEADERS as EXPORT_HEADERS, export_usage
from app.services.usage_import import ImportRefused, delete_batch, detect_profile, import_usage_file

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "usage"
ACTOR = "tester-usage"
C1, C2, UNKNOWN = "4980001234567890", "4980009876543210", "4980005555666677"
NEXCO_WIDTHS = [10, 15, 5, 8, 3, 5, 20, 5, 20, 2, 6, 6, 6, 6, 2] + [1] * 20 + [9]  # etc-domain.md §4.6


def fixture(name: str) -> Path:
    return FIXTURES / name


def run_import(name, profile, **options):
    source = name if isinstance(name, Path) else fixture(name)
    with acting_as(ACTOR):
        return import_usage_file(source, profile, **options)


def refused(name, profile, **options) -> ImportRefused:
    with pytest.raises(ImportRefused) as caught:
        run_import(name, profile, **options)
    return caught.value


def count(db, model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def records(db, batch_id=None):
    query = select(UsageRecord).order_by(UsageRecord.batch_id, UsageRecord.line_no)
    if batch_id is not None:
        query = query.where(UsageRecord.batch_id == batch_id)
    return db.session.scalars(query).all()


def assert_nothing_landed(db):
    db.session.rollback()
    assert count(db, ImportBatch) == 0
    assert count(db, UsageRecord) == 0


def make_card(db, code, name, number, serial):
    with acting_as(ACTOR):
        member = Member(code=code, name=name, kana="テスト", payment_method="direct_debit", status="active")
        vehicle = Vehicle(member=member, plate_region="品川", plate_class_number="300", plate_kana="あ",
                          plate_serial=serial, vehicle_class=1)
        card = Card(number=number, kind="corporate", issuer="NEXCO", member=member, vehicle=vehicle,
                    valid_from=dt.date(2024, 4, 1))
        db.session.add_all([member, vehicle])
        prepare_new_card(db.session, card)
        db.session.commit()
    return card


@pytest.fixture()
def cards(db):
    """Two cards in the master; 4980005555666677 is not registered."""
    return make_card(db, "M0001", "株式会社山田運輸", C1, 1234), make_card(db, "M0002", "髙橋物流有限会社", C2, 5678)


# ---- etc-meisai (ETC利用照会サービス CSV, cp932) -------------------------------------------------------

def test_etc_meisai_file(db, cards):
    card1, card2 = cards
    calls = []
    summary = run_import("etc-meisai-2026-10.csv", "etc-meisai", progress=lambda *a: calls.append(a))
    assert (summary.file_name, summary.profile, summary.usage_month) == (
        "etc-meisai-2026-10.csv", "etc-meisai", "2026-10")
    assert (summary.rows, summary.total_billed, summary.flagged, summary.unregistered, summary.used_after_loss) == (
        7, 1320 + 1320 + 3200 + 2030 + 1300 + 650 + 11560, 1, 1, 0)
    assert calls[-1][0] == calls[-1][1] == fixture("etc-meisai-2026-10.csv").stat().st_size
    assert calls[-1][2] == 7
    assert str(summary) == (f"取込#{summary.batch_id} etc-meisai-2026-10.csv（etc-meisai, 2026-10）: 7件, "
                            "通行料金合計 21,380円, 要確認 1件（未登録カード 1件, 紛失後利用 0件, 重複の疑い 0件, 期ずれ 0件）")

    db.session.expire_all()
    batch = db.session.get(ImportBatch, summary.batch_id)
    assert (batch.status, batch.usage_month, batch.row_count, batch.flagged_count, batch.imported_by) == (
        BATCH_ACTIVE, "2026-10", 7, 1, ACTOR)
    assert batch.profile.name == "etc-meisai"
    assert batch.total_billed == 21380
    assert batch.total_billed == db.session.scalar(
        select(func.sum(UsageRecord.amount_billed)).where(UsageRecord.batch_id == batch.id))
    assert len(batch.sha256) == 64

    rows = records(db, batch.id)
    assert [r.line_no for r in rows] == [2, 3, 4, 5, 6, 7, 8]
    assert {r.usage_month for r in rows} == {"2026-10"}
    first = rows[0]
    assert (first.card_number, first.card_id, first.member_id) == (C1, card1.id, card1.member_id)
    assert (first.entry_at, first.exit_at) == (dt.datetime(2026, 10, 1, 6, 12), dt.datetime(2026, 10, 1, 7, 5))
    assert (first.entry_ic, first.exit_ic, first.vehicle_class, first.plate) == ("東京", "厚木", 1, "品川 300 あ 12-34")
    assert (first.amount_before_discount, first.discount, first.amount_billed, first.flags) == (1320, 0, 1320, 0)
    assert first.remarks is None
    assert first.raw_line.startswith("26/10/01,06:12,26/10/01,07:05,東京,厚木,\"1,320\"")
    night = rows[2]
    assert (night.card_id, night.member_id) == (card2.id, card2.member_id)
    assert (night.amount_before_discount, night.discount, night.amount_billed) == (4560, 1360, 3200)
    assert (night.vehicle_class, night.remarks) == (2, "深夜割引")
    flat = rows[4]  # flat-rate road: entry date but no entry time or IC
    assert (flat.entry_ic, flat.exit_ic, flat.exit_at) == (None, "首都高速", dt.datetime(2026, 10, 5, 14, 20))
    assert flat.entry_at in (None, dt.datetime(2026, 10, 5))  # reported: a missing time reads as 00:00
    overnight = rows[5]
    assert (overnight.entry_at, overnight.exit_at) == (
        dt.datetime(2026, 10, 7, 22, 30), dt.datetime(2026, 10, 8, 0, 45))
    assert (overnight.card_number, overnight.card_id, overnight.member_id) == (UNKNOWN, None, None)
    assert overnight.flags == FLAG_UNREGISTERED_CARD
    assert overnight.vehicle_class == 4
    last = rows[6]  # amounts with thousands separators
    assert (last.amount_before_discount, last.discount, last.amount_billed, last.vehicle_class) == (
        12560, 1000, 11560, 5)


def test_each_shipped_profile_is_seeded(db):
    profiles = {p.name: p for p in db.session.scalars(select(ImportProfile))}
    assert {"etc-meisai", "nexco-fixed", "tollbook-csv"} <= set(profiles)
    assert profiles["nexco-fixed"].layout_verified is False
    assert profiles["etc-meisai"].layout_verified is True
    assert profiles["tollbook-csv"].encoding == "auto"


def test_unknown_profile_is_refused(db):
    error = refused("etc-meisai-2026-10.csv", "no-such-format")
    assert "取込形式「no-such-format」は登録されていません" in error.message
    assert_nothing_landed(db)


def test_detect_profile_from_the_header(db):
    assert detect_profile(fixture("etc-meisai-2026-10.csv")) == "etc-meisai"
    assert detect_profile(fixture("etc-meisai-2026-10-utf8.csv")) == "etc-meisai"
    assert detect_profile(fixture("tollbook-utf8-bom.csv")) == "tollbook-csv"
    assert detect_profile(fixture("tollbook-utf8.csv")) == "tollbook-csv"
    assert detect_profile(fixture("tollbook-cp932.csv")) == "tollbook-csv"  # optional columns left out
    with pytest.raises(DomainError) as caught:
        detect_profile(fixture("nexco-fixed-2026-10.txt"))
    assert "取込形式を判定できません" in caught.value.message


# ---- nexco-fixed (固定長, bytes, cp932) -------------------------------------------------------------

def test_nexco_fixed_fixture_has_exact_byte_widths():
    data = fixture("nexco-fixed-2026-10.txt").read_bytes()
    assert data.endswith(b"\r\n\x1a")  # CRLF lines and the EOF mark of mainframe exports
    lines = data[:-1].split(b"\r\n")[:-1]
    assert len(lines) == 3
    for line in lines:
        assert len(line) == sum(NEXCO_WIDTHS) == 148
    entry_name = lines[0][46:66]
    assert entry_name.decode("cp932").rstrip() == "髙崎"
    assert len("髙崎") == 2 and len(entry_name.rstrip()) == 4  # 2 characters, 4 bytes, padded to 20 bytes


def test_nexco_fixed_file(db, cards):
    card1, card2 = cards
    summary = run_import("nexco-fixed-2026-10.txt", "nexco-fixed")
    assert (summary.rows, summary.total_billed, summary.flagged, summary.unregistered, summary.usage_month) == (
        3, 560 + (820 + 310) + (1000 + 250), 1, 1, "2026-10")
    rows = records(db, summary.batch_id)
    assert [r.line_no for r in rows] == [1, 2, 3]
    # 15-digit numbers in this layout match the master's 16-digit numbers on their first 15 digits
    assert [r.card_number for r in rows] == [C1[:15], C2[:15], UNKNOWN[:15]]
    assert [(r.card_id, r.member_id) for r in rows] == [
        (card1.id, card1.member_id), (card2.id, card2.member_id), (None, None)]
    assert [r.flags for r in rows] == [0, 0, FLAG_UNREGISTERED_CARD]
    assert [r.exit_at for r in rows] == [dt.datetime(2026, 10, 1), dt.datetime(2026, 10, 3), dt.datetime(2026, 10, 7)]
    assert [r.entry_at for r in rows] == [None, None, None]
    assert [(r.entry_ic, r.exit_ic) for r in rows] == [("髙崎", "前橋"), ("宮﨑", "都城"), ("東京", "川崎")]
    assert [r.vehicle_class for r in rows] == [1, 2, 4]  # "01" / "02" / "04"
    assert [r.amount_billed for r in rows] == [560, 1130, 1250]  # 高速国道 + 一般有料道路 + 公社道路
    # the three categories kept apart: they are discounted differently (公社道路: no NEXCO discount)
    assert [(r.amount_expressway, r.amount_general_toll, r.amount_public_corp) for r in rows] == [
        (560, 0, 0), (820, 310, 0), (1000, 0, 250)]
    assert [r.road_operator_source for r in rows] == ["file"] * 3  # the profile's NEXCO
    assert [r.amount_before_discount for r in rows] == [560, 1130, 1250]
    assert [r.discount for r in rows] == [0, 0, 0]
    assert [r.road_operator for r in rows] == ["NEXCO"] * 3
    assert [r.remarks for r in rows] == ["00", "01", "02"]
    assert len(rows[0].raw_line.encode("cp932")) == 148
    batch = db.session.get(ImportBatch, summary.batch_id)
    assert batch.total_billed == sum(r.amount_billed for r in rows) == 2940


def test_nexco_fixed_line_with_a_bad_date_names_the_line(db, tmp_path):
    lines = fixture("nexco-fixed-2026-10.txt").read_bytes().split(b"\r\n")
    lines[1] = lines[1][:30] + b"20261032" + lines[1][38:]
    path = tmp_path / "OTMEISAI.txt"
    path.write_bytes(b"\r\n".join(lines))
    error = refused(path, "nexco-fixed")
    assert [(e.file_name, e.line, e.column, e.value) for e in error.errors] == [
        ("OTMEISAI.txt", 2, "利用日（出口）", "20261032")]
    assert_nothing_landed(db)


def test_nexco_fixed_cut_off_line_is_refused(db, tmp_path):
    lines = fixture("nexco-fixed-2026-10.txt").read_bytes().split(b"\r\n")
    lines[1] = lines[1][:95]  # cut inside the amounts
    path = tmp_path / "OTMEISAI.txt"
    path.write_bytes(b"\r\n".join(lines))
    error = refused(path, "nexco-fixed")
    assert [e.line for e in error.errors] == [2]
    assert "95バイトしかありません" in error.errors[0].reason
    assert_nothing_landed(db)


# ---- tollbook-csv (UTF-8 with/without BOM, cp932) ---------------------------------------------------

def test_tollbook_csv_utf8_with_bom(db, cards):
    card1, card2 = cards
    summary = run_import("tollbook-utf8-bom.csv", "tollbook-csv")
    assert (summary.rows, summary.total_billed, summary.flagged, summary.usage_month) == (
        3, 1070 + 2110 + 1300, 1, "2026-10")
    rows = records(db, summary.batch_id)
    assert [(r.line_no, r.card_id) for r in rows] == [(2, card1.id), (3, card2.id), (4, None)]
    assert (rows[0].entry_ic, rows[0].exit_ic, rows[0].road_operator) == ("髙井戸", "八王子", "NEXCO中日本")
    assert (rows[0].amount_before_discount, rows[0].discount, rows[0].amount_billed) == (1070, 0, 1070)
    assert (rows[1].entry_ic, rows[1].amount_before_discount, rows[1].discount, rows[1].amount_billed) == (
        "宮﨑", 3010, 900, 2110)  # discount written as a positive number in this format
    assert (rows[1].entry_at, rows[1].exit_at) == (dt.datetime(2026, 10, 2, 23, 10), dt.datetime(2026, 10, 3, 0, 20))
    assert (rows[1].vehicle_class, rows[1].plate, rows[1].remarks) == (2, "浜松 100 か 56-78", "深夜割引")
    assert (rows[2].entry_at, rows[2].entry_ic, rows[2].plate, rows[2].road_operator) == (None, None, None, "首都高速道路")
    assert rows[2].flags == FLAG_UNREGISTERED_CARD
    assert not rows[0].raw_line.startswith("\ufeff")


def test_tollbook_csv_utf8_without_bom(db, cards):
    summary = run_import("tollbook-utf8.csv", "tollbook-csv")
    assert (summary.rows, summary.total_billed, summary.flagged, summary.usage_month) == (2, 1070 + 1050, 0, "2026-11")
    rows = records(db, summary.batch_id)
    assert [(r.entry_ic, r.discount, r.remarks) for r in rows] == [("髙井戸", 0, None), ("宮﨑", 450, "平日朝夕割引")]


def test_tollbook_csv_cp932_with_only_the_required_columns(db, cards):
    card1, card2 = cards
    summary = run_import("tollbook-cp932.csv", "tollbook-csv")
    assert (summary.rows, summary.total_billed, summary.usage_month) == (2, 2500 + 800, "2026-12")
    rows = records(db, summary.batch_id)
    assert [(r.card_id, r.exit_at, r.exit_ic, r.amount_billed) for r in rows] == [
        (card1.id, dt.datetime(2026, 12, 1, 10, 15), "髙崎", 2500),
        (card2.id, dt.datetime(2026, 12, 2, 0, 0), "宮﨑", 800)]
    for r in rows:  # the columns the file leaves out
        assert (r.entry_at, r.entry_ic, r.road_operator, r.vehicle_class, r.plate, r.remarks) == (None,) * 6
        assert (r.discount, r.amount_before_discount) == (0, r.amount_billed)


def test_tollbook_csv_missing_a_required_column(db, tmp_path):
    path = tmp_path / "no-amount.csv"
    path.write_text("カード番号,出口日付\n4980001234567890,2026/10/01\n", encoding="utf-8")
    error = refused(path, "tollbook-csv")
    assert [(e.line, e.column) for e in error.errors] == [(1, "見出し")]
    assert "見出し行に列「通行料金」がありません" in error.errors[0].reason
    assert_nothing_landed(db)


# ---- never twice; replace; delete --------------------------------------------------------------------

def test_the_same_file_twice_is_refused_naming_the_earlier_batch(db, cards, tmp_path):
    first = run_import("etc-meisai-2026-10.csv", "etc-meisai")
    error = refused("etc-meisai-2026-10.csv", "etc-meisai")
    assert f"取込#{first.batch_id}" in error.message
    assert "etc-meisai-2026-10.csv" in error.message and "取込済み" in error.message
    assert error.errors == []
    # renamed, it is still the same file (SHA-256)
    renamed = tmp_path / "renamed.csv"
    shutil.copy(fixture("etc-meisai-2026-10.csv"), renamed)
    error = refused(renamed, "etc-meisai")
    assert f"renamed.csv は取込#{first.batch_id}（etc-meisai-2026-10.csv、" in error.message
    assert count(db, ImportBatch) == 1
    assert count(db, UsageRecord) == 7


def test_replace_keeps_the_old_batch_and_swaps_the_rows(db, cards):
    old = run_import("etc-meisai-2026-10.csv", "etc-meisai")
    new = run_import("etc-meisai-2026-10-corrected.csv", "etc-meisai", replace=True)
    assert new.replaced_batch_id == old.batch_id
    assert f"取込#{old.batch_id} を差し替えました" in str(new)
    db.session.expire_all()
    old_batch, new_batch = db.session.get(ImportBatch, old.batch_id), db.session.get(ImportBatch, new.batch_id)
    assert old_batch.status == BATCH_REPLACED
    assert old_batch.status_name() == "差替済（旧）"
    assert (old_batch.row_count, old_batch.total_billed) == (7, 21380)  # the record of what came in stays
    assert new_batch.status == BATCH_ACTIVE
    assert new_batch.replaces_batch_id == old.batch_id
    assert count(db, UsageRecord, UsageRecord.batch_id == old.batch_id) == 0
    rows = records(db, new.batch_id)
    assert [(r.line_no, r.amount_billed, r.remarks) for r in rows] == [
        (2, 1320, None), (3, 3200, "深夜割引"), (4, 1030, "訂正分")]
    assert count(db, UsageRecord) == 3
    assert (new.rows, new.total_billed) == (3, 5550) == (new_batch.row_count, new_batch.total_billed)


def test_replace_with_nothing_to_replace_is_refused(db, cards):
    with pytest.raises(DomainError) as caught:
        run_import("etc-meisai-2026-10.csv", "etc-meisai", replace=True)
    assert "差し替える取込がありません" in caught.value.message
    assert_nothing_landed(db)


def test_replace_only_touches_the_same_profile_and_month(db, cards):
    october = run_import("tollbook-utf8-bom.csv", "tollbook-csv")
    november = run_import("tollbook-utf8.csv", "tollbook-csv")
    with pytest.raises(DomainError):  # etc-meisai has nothing in 2026-10 yet
        run_import("etc-meisai-2026-10.csv", "etc-meisai", replace=True)
    db.session.rollback()
    assert {b.status for b in db.session.scalars(select(ImportBatch))} == {BATCH_ACTIVE}
    assert count(db, UsageRecord) == october.rows + november.rows


def test_delete_batch(db, cards):
    summary = run_import("etc-meisai-2026-10.csv", "etc-meisai")
    other = run_import("tollbook-utf8-bom.csv", "tollbook-csv")
    with acting_as(ACTOR):
        batch = delete_batch(summary.batch_id)
    assert batch.status == BATCH_DELETED
    assert batch.status_name() == "削除済"
    db.session.expire_all()
    assert db.session.get(ImportBatch, summary.batch_id).status == BATCH_DELETED
    assert count(db, UsageRecord, UsageRecord.batch_id == summary.batch_id) == 0
    assert count(db, UsageRecord, UsageRecord.batch_id == other.batch_id) == 3
    with pytest.raises(DomainError) as caught:
        delete_batch(summary.batch_id)
    assert "削除できる取込がありません" in caught.value.message
    with pytest.raises(DomainError):
        delete_batch(999_999)
    # a deleted batch no longer blocks the same file
    again = run_import("etc-meisai-2026-10.csv", "etc-meisai")
    assert again.rows == 7 and again.batch_id != summary.batch_id


# ---- all or nothing -----------------------------------------------------------------------------------

def test_one_bad_row_in_the_middle_lands_nothing(db, cards):
    error = refused("etc-meisai-bad-row.csv", "etc-meisai")
    assert len(error.errors) == 1
    bad = error.errors[0]
    assert (bad.file_name, bad.line, bad.column, bad.value) == ("etc-meisai-bad-row.csv", 4, "利用日（出口）", "26/02/30")
    assert "日付「26/02/30」を読めません" in bad.reason
    assert str(bad) == "etc-meisai-bad-row.csv 4行目 利用日（出口）: 日付「26/02/30」を読めません（形式 YY/MM/DD）。（値: 26/02/30）"
    assert error.message == "etc-meisai-bad-row.csv: 1件のエラーがあるため取り込みませんでした。"
    assert_nothing_landed(db)


def test_chunks_already_loaded_are_rolled_back(db, cards, monkeypatch):
    """Rows go to the database in chunks while the file is read; a bad row after some chunks were
    written still leaves nothing behind (one transaction; on PostgreSQL the COPY is aborted)."""
    from app.services import usage_import

    monkeypatch.setattr(usage_import, "CHUNK", 2)
    error = refused("etc-meisai-bad-row.csv", "etc-meisai")  # lines 2–3 are written before line 4 fails
    assert [(e.line, e.column) for e in error.errors] == [(4, "利用日（出口）")]
    assert_nothing_landed(db)
    summary = run_import("etc-meisai-2026-10.csv", "etc-meisai")  # and the connection is fine afterwards
    assert (summary.rows, summary.total_billed) == (7, 21380)
    assert [r.line_no for r in records(db)] == [2, 3, 4, 5, 6, 7, 8]
    assert db.session.get(ImportBatch, summary.batch_id).total_billed == 21380


def test_every_bad_row_is_listed(db, tmp_path):
    header = fixture("etc-meisai-2026-10.csv").read_bytes().split(b"\r\n")[0].decode("cp932")
    path = tmp_path / "many-errors.csv"
    path.write_bytes("\r\n".join([
        header,
        "26/10/01,06:12,26/10/01,25:00,東京,厚木,1320,0,1320,1,,4980001234567890,",
        "26/10/01,06:12,26/10/01,07:05,東京,厚木,1320,0,1320,1,,4980001234567890,",
        "26/10/01,06:12,26/10/01,07:05,東京,厚木,1320,0,1320,9,,4980001234567890,",
        "26/10/01,06:12,26/10/01,07:05,東京,厚木,1320,0,1320,1,,49800012,",
        "26/10/01,06:12,26/10/01,07:05,東京,厚木,1320,870,1320,1,,4980001234567890,",
        "26/10/01,06:12,26/10/01,07:05,東京,厚木,1320,0,千円,1,,4980001234567890,",
    ]).encode("cp932") + b"\r\n")
    error = refused(path, "etc-meisai")
    assert [(e.line, e.column) for e in error.errors] == [
        (2, "出口時刻"), (4, "車種"), (5, "カード番号"), (6, "割引額"), (7, "通行料金")]
    assert_nothing_landed(db)


def test_a_utf8_file_with_the_cp932_profile_is_refused_in_japanese(db, cards):
    error = refused("etc-meisai-2026-10-utf8.csv", "etc-meisai")
    assert [str(e) for e in error.errors] == [
        "etc-meisai-2026-10-utf8.csv 1行目: 文字コードが cp932 ではありません（illegal multibyte sequence）。"]
    assert error.message == "etc-meisai-2026-10-utf8.csv: 1件のエラーがあるため取り込みませんでした。"
    assert_nothing_landed(db)


def test_a_bad_byte_in_the_middle_names_its_line(db, tmp_path):
    lines = fixture("etc-meisai-2026-10.csv").read_bytes().split(b"\r\n")
    lines[4] = lines[4].replace("八".encode("cp932"), b"\x85\x40")  # not a cp932 character
    path = tmp_path / "bad-byte.csv"
    path.write_bytes(b"\r\n".join(lines))
    error = refused(path, "etc-meisai")
    assert_nothing_landed(db)
    assert [e.line for e in error.errors] == [5]


def test_a_cp932_file_with_a_utf8_profile_is_refused(db, cards):
    with acting_as(ACTOR):
        profile = db.session.scalar(select(ImportProfile).where(ImportProfile.name == "tollbook-csv"))
        db.session.add(ImportProfile(name="test-utf8-only", label="UTF-8専用（テスト）", file_type="csv",
                                     encoding="utf-8", header_rows=1, columns=profile.columns,
                                     date_format="YYYY/MM/DD", time_format="HH:MM", discount_sign="positive"))
        db.session.commit()
    try:
        error = refused("tollbook-cp932.csv", "test-utf8-only")
        assert any("文字コードが utf-8 ではありません" in e.reason for e in error.errors), error.errors
        assert_nothing_landed(db)
    finally:
        db.session.rollback()
        db.session.execute(ImportProfile.__table__.delete().where(ImportProfile.name == "test-utf8-only"))
        db.session.commit()


def test_an_empty_file_is_refused(db):
    error = refused("empty.csv", "etc-meisai")
    assert [(e.file_name, e.line, e.reason) for e in error.errors] == [("empty.csv", 0, "ファイルが空です。")]
    assert_nothing_landed(db)


def test_a_header_only_file_is_refused(db):
    error = refused("etc-meisai-header-only.csv", "etc-meisai")
    assert [e.reason for e in error.errors] == ["明細行がありません（見出しだけのファイルです）。"]
    assert_nothing_landed(db)


def test_a_file_of_another_format_is_refused_at_the_header(db):
    error = refused("tollbook-cp932.csv", "etc-meisai")
    assert error.errors[0].line == 1
    assert "見出し行に列" in error.errors[0].reason
    assert_nothing_landed(db)


# ---- flags ------------------------------------------------------------------------------------------

def test_unknown_cards_are_imported_and_flagged(db, cards):
    summary = run_import("etc-meisai-2026-10.csv", "etc-meisai")
    flagged = db.session.scalars(select(UsageRecord).where(UsageRecord.flags != 0)).all()
    assert [(r.card_number, r.card_id, r.member_id, r.flags, r.flag_names()) for r in flagged] == [
        (UNKNOWN, None, None, FLAG_UNREGISTERED_CARD, "未登録カード")]
    assert summary.unregistered == summary.flagged == 1


def test_rows_on_or_after_a_loss_are_flagged(db, cards):
    card1, _ = cards
    with acting_as(ACTOR), db.session.no_autoflush:
        apply_card_event(db.session, CardEvent(card=card1, kind=LOSS, occurred_on=dt.date(2026, 10, 5)))
        db.session.commit()
    summary = run_import("etc-meisai-2026-10.csv", "etc-meisai")
    assert (summary.used_after_loss, summary.unregistered, summary.flagged) == (2, 1, 3)
    rows = records(db, summary.batch_id)
    by_card = [(r.exit_at.date(), r.flags) for r in rows if r.card_number == C1]
    assert by_card == [
        (dt.date(2026, 10, 1), 0), (dt.date(2026, 10, 1), 0),  # before the loss
        (dt.date(2026, 10, 5), FLAG_USED_AFTER_LOSS),  # on the day of the loss
        (dt.date(2026, 10, 9), FLAG_USED_AFTER_LOSS)]
    assert all(r.card_id == card1.id for r in rows if r.card_number == C1)  # still the member's card
    assert [r.flag_names() for r in rows if r.flags & FLAG_USED_AFTER_LOSS] == ["紛失後利用", "紛失後利用"]
    assert db.session.get(ImportBatch, summary.batch_id).flagged_count == 3


def test_a_loss_matches_15_digit_numbers_too(db, cards):
    card1, _ = cards
    with acting_as(ACTOR), db.session.no_autoflush:
        apply_card_event(db.session, CardEvent(card=card1, kind=LOSS, occurred_on=dt.date(2026, 10, 1)))
        db.session.commit()
    summary = run_import("nexco-fixed-2026-10.txt", "nexco-fixed")
    assert [r.flags for r in records(db, summary.batch_id)] == [FLAG_USED_AFTER_LOSS, 0, FLAG_UNREGISTERED_CARD]


# ---- 髙 / 﨑 round trip -----------------------------------------------------------------------------

def test_ibm_extension_kanji_round_trip_into_the_excel_export(db, cards, tmp_path):
    raw = fixture("etc-meisai-2026-10.csv").read_bytes()
    assert b"\xfb\xfc" in raw and b"\xfa\xb1" in raw  # 髙 and 﨑 as Windows writes them in cp932
    run_import("etc-meisai-2026-10.csv", "etc-meisai")
    run_import("nexco-fixed-2026-10.txt", "nexco-fixed")
    db.session.expire_all()
    names = {(r.entry_ic, r.exit_ic) for r in records(db)}
    assert ("髙崎", "宮﨑") in names and ("髙崎", "前橋") in names and ("宮﨑", "都城") in names
    assert db.session.scalar(select(func.count()).select_from(UsageRecord).where(UsageRecord.entry_ic == "髙崎")) == 2

    output = tmp_path / "usage-2026-10.xlsx"
    assert export_usage("2026-10", str(output)) == 10
    sheet = load_workbook(output, read_only=True).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == EXPORT_HEADERS
    entry, exit_ = EXPORT_HEADERS.index("入口IC"), EXPORT_HEADERS.index("出口IC")
    assert ("髙崎", "宮﨑") in {(v[entry], v[exit_]) for v in values[1:]}
    member = EXPORT_HEADERS.index("組合員名")
    assert "髙橋物流有限会社" in {v[member] for v in values[1:]}


# ---- months -----------------------------------------------------------------------------------------

def test_month_option_overrides_the_dates(db, cards):
    summary = run_import("tollbook-utf8.csv", "tollbook-csv", usage_month="2026-12")
    assert summary.usage_month == "2026-12"
    assert db.session.get(ImportBatch, summary.batch_id).usage_month == "2026-12"
    assert {r.usage_month for r in records(db, summary.batch_id)} == {"2026-12"}
    assert records(db, summary.batch_id)[0].exit_at == dt.datetime(2026, 11, 2, 8, 45)


def test_derived_month_is_the_month_most_rows_fall_in(db, cards, tmp_path):
    path = tmp_path / "across-months.csv"
    path.write_text("カード番号,出口日付,通行料金\n"
                    "4980001234567890,2026/09/30,1000\n"
                    "4980001234567890,2026/10/01,2000\n"
                    "4980001234567890,2026/10/02,3000\n", encoding="utf-8")
    summary = run_import(path, "tollbook-csv")
    assert summary.usage_month == "2026-10"
    assert [(r.exit_at.date().isoformat(), r.usage_month) for r in records(db, summary.batch_id)] == [
        ("2026-09-30", "2026-10"), ("2026-10-01", "2026-10"), ("2026-10-02", "2026-10")]


@pytest.mark.parametrize("month", ["2026-13", "2026/00", "10-2026", "令和8年10月"])
def test_a_malformed_month_option_is_refused(db, month):
    with pytest.raises(DomainError) as caught:
        run_import("etc-meisai-2026-10.csv", "etc-meisai", usage_month=month)
    assert "YYYY-MM" in caught.value.message
    assert_nothing_landed(db)


def close_month(db, month):
    db.session.add(BillingRun(month=month, status="closed"))
    db.session.commit()


@pytest.mark.parametrize("options", [{}, {"usage_month": "2026-10"}])
def test_importing_into_a_closed_month_is_refused(db, cards, options):
    close_month(db, "2026-10")
    with pytest.raises(DomainError) as caught:
        run_import("etc-meisai-2026-10.csv", "etc-meisai", **options)
    assert "2026-10 は締め済み" in caught.value.message
    db.session.rollback()
    assert count(db, BillingRun) == 1
    assert count(db, ImportBatch) == 0 and count(db, UsageRecord) == 0


def test_an_open_month_beside_a_closed_one_imports(db, cards):
    close_month(db, "2026-09")
    db.session.add(BillingRun(month="2026-10", status="draft"))
    db.session.commit()
    assert run_import("etc-meisai-2026-10.csv", "etc-meisai").rows == 7


def test_a_batch_of_a_closed_month_cannot_be_deleted_or_replaced(db, cards):
    summary = run_import("etc-meisai-2026-10.csv", "etc-meisai")
    close_month(db, "2026-10")
    with pytest.raises(DomainError) as caught:
        delete_batch(summary.batch_id)
    assert "締め済み" in caught.value.message
    with pytest.raises(DomainError):
        run_import("etc-meisai-2026-10-corrected.csv", "etc-meisai", replace=True)
    db.session.rollback()
    assert db.session.get(ImportBatch, summary.batch_id).status == BATCH_ACTIVE
    assert count(db, UsageRecord) == 7 and count(db, ImportBatch) == 1


# ---- inbox ------------------------------------------------------------------------------------------

@pytest.fixture()
def inbox(app, tmp_path, monkeypatch):
    root = tmp_path / "inbox"
    monkeypatch.setitem(app.config, "INBOX_DIR", str(root))
    return root


def drop(inbox, profile, name, as_name=None, age=0):
    folder = inbox / profile
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (as_name or name)
    shutil.copy(fixture(name), target)
    stamp = 1_790_000_000 + age  # oldest first: a smaller age is taken first
    os.utime(target, (stamp, stamp))
    return target


def test_inbox(db, cards, inbox):
    drop(inbox, "etc-meisai", "etc-meisai-2026-10.csv", age=1)
    drop(inbox, "etc-meisai", "etc-meisai-bad-row.csv", age=2)
    drop(inbox, "etc-meisai", "etc-meisai-2026-10.csv", as_name="same-again.csv", age=3)
    drop(inbox, "nexco-fixed", "nexco-fixed-2026-10.txt", age=4)
    (inbox / "etc-meisai" / ".partial-upload").write_text("x", encoding="utf-8")
    with acting_as("inbox"):
        lines = import_inbox()
    assert [line.split(":")[0] for line in lines] == [
        "OK etc-meisai/etc-meisai-2026-10.csv", "NG etc-meisai/etc-meisai-bad-row.csv",
        "OK etc-meisai/same-again.csv", "OK nexco-fixed/nexco-fixed-2026-10.txt"]
    assert "7件" in lines[0]
    assert "取込済み" in lines[2]
    folder = inbox / "etc-meisai"
    assert sorted(p.name for p in (folder / "done").iterdir()) == ["etc-meisai-2026-10.csv", "same-again.csv"]
    assert sorted(p.name for p in (folder / "failed").iterdir()) == [
        "etc-meisai-bad-row.csv", "etc-meisai-bad-row.csv.errors.txt"]
    errors = (folder / "failed" / "etc-meisai-bad-row.csv.errors.txt").read_text(encoding="utf-8")
    assert "etc-meisai-bad-row.csv 4行目 利用日（出口）" in errors
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == [".partial-upload"]
    assert (inbox / "nexco-fixed" / "done" / "nexco-fixed-2026-10.txt").exists()
    assert (inbox / "tollbook-csv").is_dir()  # a folder per profile
    batches = db.session.scalars(select(ImportBatch).order_by(ImportBatch.id)).all()
    assert [(b.file_name, b.imported_by) for b in batches] == [
        ("etc-meisai-2026-10.csv", "inbox"), ("nexco-fixed-2026-10.txt", "inbox")]
    assert count(db, UsageRecord) == 10
    # nothing new: nothing happens
    with acting_as("inbox"):
        assert import_inbox() == []


def test_inbox_keeps_both_files_when_a_name_repeats(db, cards, inbox):
    drop(inbox, "etc-meisai", "etc-meisai-bad-row.csv", as_name="meisai.csv")
    with acting_as("inbox"):
        import_inbox()
    drop(inbox, "etc-meisai", "etc-meisai-header-only.csv", as_name="meisai.csv")
    with acting_as("inbox"):
        lines = import_inbox()
    assert lines[0].startswith("NG etc-meisai/meisai.csv")
    failed = inbox / "etc-meisai" / "failed"
    assert sorted(p.name for p in failed.iterdir()) == [
        "meisai.1.csv", "meisai.1.csv.errors.txt", "meisai.csv", "meisai.csv.errors.txt"]
    assert "明細行がありません" in (failed / "meisai.1.csv.errors.txt").read_text(encoding="utf-8")


def test_inbox_closed_month_goes_to_failed(db, cards, inbox):
    close_month(db, "2026-10")
    drop(inbox, "etc-meisai", "etc-meisai-2026-10.csv")
    with acting_as("inbox"):
        lines = import_inbox()
    assert lines[0].startswith("NG etc-meisai/etc-meisai-2026-10.csv") and "締め済み" in lines[0]
    failed = inbox / "etc-meisai" / "failed"
    assert "締め済み" in (failed / "etc-meisai-2026-10.csv.errors.txt").read_text(encoding="utf-8")
    assert count(db, ImportBatch) == 0


# ---- IC master -----------------------------------------------------------------------------------------

def ic_rows(db):
    return {ic.name: (ic.code, ic.road, ic.road_operator, ic.region)
            for ic in db.session.scalars(select(IcMaster))}


def test_ic_master_import_and_update(db):
    assert import_ic_master(fixture("ic-master.csv")) == "ic-master.csv: IC 3件を登録、0件を更新しました。"
    assert ic_rows(db) == {
        "髙崎": ("1040", "関越自動車道", "NEXCO東日本", "rural"),
        "東京": ("1001", "東名高速道路", "NEXCO中日本", "urban"),
        "宮﨑": (None, "宮崎自動車道", "NEXCO西日本", "rural")}
    assert import_ic_master(fixture("ic-master-updated.csv")) == "ic-master-updated.csv: IC 1件を登録、1件を更新しました。"
    db.session.expire_all()
    rows = ic_rows(db)
    assert rows["髙崎"] == ("1040", "関越自動車道", "NEXCO東日本", "urban")
    assert rows["前橋"] == ("1041", "関越自動車道", "NEXCO東日本", "rural")
    assert len(rows) == 4
    # the same file again updates and adds nothing
    assert import_ic_master(fixture("ic-master.csv")) == "ic-master.csv: IC 0件を登録、3件を更新しました。"
    assert count(db, IcMaster) == 4


def test_ic_master_with_a_bad_region_is_refused_whole(db):
    import_ic_master(fixture("ic-master.csv"))
    with pytest.raises(DomainError) as caught:
        import_ic_master(fixture("ic-master-bad-region.csv"))
    message = caught.value.message
    assert "何も登録していません" in message
    assert "ic-master-bad-region.csv 3行目 地域区分: 「都市部」は 地方部 か 大都市近郊 です。" in message
    db.session.rollback()
    assert set(ic_rows(db)) == {"髙崎", "東京", "宮﨑"}  # 甲府昭和 (a good row) was not added either


def test_ic_master_without_the_name_column_is_refused(db, tmp_path):
    path = tmp_path / "ics.csv"
    path.write_text("ICコード,路線\n1040,関越自動車道\n", encoding="utf-8")
    with pytest.raises(DomainError) as caught:
        import_ic_master(path)
    assert "見出し「IC名」がありません" in caught.value.message
    assert count(db, IcMaster) == 0

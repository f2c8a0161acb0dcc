"""`flask etc import`, `import-inbox`, `import-ics` and `export usage` (app.cli) with the files in
tests/fixtures/usage/."""
import datetime as dt
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.models import Card, Member, Vehicle
from app.models.billing import BillingRun
from app.models.usage import BATCH_REPLACED, IcMaster, ImportBatch, UsageRecord
from app.services.actor import acting_as
from app.services.cards import prepare_new_card
from app.services.usage_export import HEADERS as EXPORT_HEADERS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "usage"
C1, C2, UNKNOWN = "4980001234567890", "4980009876543210", "4980005555666677"


def fixture(name: str) -> str:
    return str(FIXTURES / name)


def count(db, model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture()
def runner(app):
    return app.test_cli_runner()


@pytest.fixture()
def cards(db):
    made = []
    for code, name, number, serial in (("M0001", "株式会社山田運輸", C1, 1234), ("M0002", "髙橋物流有限会社", C2, 5678)):
        with acting_as("tester-cli"):
            member = Member(code=code, name=name, kana="テスト", payment_method="direct_debit", status="active")
            vehicle = Vehicle(member=member, plate_region="品川", plate_class_number="300", plate_kana="あ",
                              plate_serial=serial, vehicle_class=1)
            card = Card(number=number, kind="corporate", issuer="NEXCO", member=member, vehicle=vehicle,
                        valid_from=dt.date(2024, 4, 1))
            db.session.add_all([member, vehicle])
            prepare_new_card(db.session, card)
            db.session.commit()
        made.append(card)
    return made


def invoke(runner, *args):
    return runner.invoke(args=["etc", *args])


# ---- etc import -------------------------------------------------------------------------------------

def test_import_prints_the_summary(db, cards, runner):
    result = invoke(runner, "import", fixture("etc-meisai-2026-10.csv"), "--format", "etc-meisai")
    assert result.exit_code == 0, result.output
    batch = db.session.scalar(select(ImportBatch))
    assert result.stdout.strip() == (
        f"取込#{batch.id} etc-meisai-2026-10.csv（etc-meisai, 2026-10）: 7件, 通行料金合計 21,380円, "
        "要確認 1件（未登録カード 1件, 紛失後利用 0件, 重複の疑い 0件, 期ずれ 0件）")
    assert result.stderr == ""  # no progress output when nobody watches a terminal
    assert batch.imported_by == "flask etc import"
    assert count(db, UsageRecord) == 7


@pytest.mark.parametrize("name, profile, rows", [
    ("etc-meisai-2026-10.csv", "etc-meisai", 7),
    ("tollbook-utf8-bom.csv", "tollbook-csv", 3),
    ("tollbook-utf8.csv", "tollbook-csv", 2),
    ("tollbook-cp932.csv", "tollbook-csv", 2),
])
def test_import_detects_the_format_when_omitted(db, cards, runner, name, profile, rows):
    result = invoke(runner, "import", fixture(name))
    assert result.exit_code == 0, result.output
    assert f"（{profile}, " in result.stdout
    assert f": {rows}件, " in result.stdout
    assert db.session.scalar(select(ImportBatch)).profile.name == profile


def test_import_fixed_width_needs_the_format(db, cards, runner):
    result = invoke(runner, "import", fixture("nexco-fixed-2026-10.txt"))
    assert result.exit_code == 1
    assert "取込形式を判定できません。--format で指定してください。" in result.stderr
    assert count(db, ImportBatch) == 0
    result = invoke(runner, "import", fixture("nexco-fixed-2026-10.txt"), "--format", "nexco-fixed")
    assert result.exit_code == 0, result.output
    assert "（nexco-fixed, 2026-10）: 3件, 通行料金合計 2,940円, 要確認 1件（未登録カード 1件" in result.stdout


def test_import_with_a_bad_row_exits_1_with_the_error_list(db, cards, runner):
    result = invoke(runner, "import", fixture("etc-meisai-bad-row.csv"))
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "etc-meisai-bad-row.csv: 1件のエラーがあるため取り込みませんでした。"
    assert lines[1] == ("  etc-meisai-bad-row.csv 4行目 利用日（出口）: 日付「26/02/30」を読めません（形式 YY/MM/DD）。"
                        "（値: 26/02/30）")
    assert count(db, ImportBatch) == 0 and count(db, UsageRecord) == 0


def test_import_twice_exits_1_naming_the_batch(db, cards, runner):
    first = invoke(runner, "import", fixture("etc-meisai-2026-10.csv"))
    assert first.exit_code == 0, first.output
    batch = db.session.scalar(select(ImportBatch))
    again = invoke(runner, "import", fixture("etc-meisai-2026-10.csv"))
    assert again.exit_code == 1
    assert f"etc-meisai-2026-10.csv は取込#{batch.id}（etc-meisai-2026-10.csv、" in again.stderr
    assert "flask etc import）で取込済みです。" in again.stderr
    assert count(db, ImportBatch) == 1


def test_import_month_and_replace_options(db, cards, runner):
    first = invoke(runner, "import", fixture("tollbook-utf8.csv"), "--month", "2026-12")
    assert first.exit_code == 0, first.output
    assert "（tollbook-csv, 2026-12）" in first.stdout
    old = db.session.scalar(select(ImportBatch))
    second = invoke(runner, "import", fixture("tollbook-cp932.csv"), "--format", "tollbook-csv", "--replace")
    assert second.exit_code == 0, second.output
    assert f"取込#{old.id} を差し替えました" in second.stdout
    db.session.expire_all()
    assert db.session.get(ImportBatch, old.id).status == BATCH_REPLACED
    assert count(db, UsageRecord, UsageRecord.batch_id == old.id) == 0
    assert count(db, UsageRecord) == 2


def test_import_refusals_exit_1(db, cards, runner):
    bad_month = invoke(runner, "import", fixture("etc-meisai-2026-10.csv"), "--month", "2026-13")
    assert bad_month.exit_code == 1
    assert "利用月「2026-13」は YYYY-MM の形で指定してください" in bad_month.stderr
    unknown = invoke(runner, "import", fixture("etc-meisai-2026-10.csv"), "--format", "nope")
    assert unknown.exit_code == 1
    assert "取込形式「nope」は登録されていません" in unknown.stderr
    db.session.add(BillingRun(month="2026-10", status="closed"))
    db.session.commit()
    closed = invoke(runner, "import", fixture("etc-meisai-2026-10.csv"))
    assert closed.exit_code == 1
    assert "2026-10 は締め済みのため変更できません。" in closed.stderr
    empty = invoke(runner, "import", fixture("empty.csv"), "--format", "etc-meisai")
    assert empty.exit_code == 1
    assert "empty.csv ファイル: ファイルが空です。" in empty.stderr
    assert count(db, ImportBatch) == 0


def test_import_of_a_missing_file(db, runner):
    result = invoke(runner, "import", fixture("no-such-file.csv"))
    assert result.exit_code == 2  # click: the path must exist
    assert count(db, ImportBatch) == 0


# ---- etc import-inbox -------------------------------------------------------------------------------

def test_import_inbox(db, cards, runner, app, tmp_path, monkeypatch):
    root = tmp_path / "inbox"
    monkeypatch.setitem(app.config, "INBOX_DIR", str(root))
    nothing = invoke(runner, "import-inbox")
    assert nothing.exit_code == 0, nothing.output
    assert nothing.stdout.strip() == "受信フォルダに新しいファイルはありません。"
    assert {p.name for p in root.iterdir()} >= {"etc-meisai", "nexco-fixed", "tollbook-csv"}

    shutil.copy(fixture("tollbook-utf8-bom.csv"), root / "tollbook-csv" / "october.csv")
    good = invoke(runner, "import-inbox")
    assert good.exit_code == 0, good.output
    assert good.stdout.startswith("OK tollbook-csv/october.csv: 取込#")
    assert (root / "tollbook-csv" / "done" / "october.csv").exists()

    shutil.copy(fixture("etc-meisai-bad-row.csv"), root / "etc-meisai" / "bad.csv")
    bad = invoke(runner, "import-inbox")
    assert bad.exit_code == 1
    assert bad.stdout.startswith("NG etc-meisai/bad.csv: bad.csv: 1件のエラーがあるため取り込みませんでした。")
    assert "bad.csv 4行目 利用日（出口）" in (root / "etc-meisai" / "failed" / "bad.csv.errors.txt").read_text(encoding="utf-8")


# ---- etc import-ics ---------------------------------------------------------------------------------

def test_import_ics(db, runner):
    result = invoke(runner, "import-ics", fixture("ic-master.csv"))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines() == ["ic-master.csv: IC 3件を登録、0件を更新しました。",
                                                  "締め前の月の走行明細 0件の道路事業者を、ICマスタから決めました。"]
    again = invoke(runner, "import-ics", fixture("ic-master-updated.csv"))
    assert again.stdout.strip().splitlines()[0] == "ic-master-updated.csv: IC 1件を登録、1件を更新しました。"
    bad = invoke(runner, "import-ics", fixture("ic-master-bad-region.csv"))
    assert bad.exit_code == 1
    assert "IC マスタを取り込めませんでした（何も登録していません）" in bad.stderr
    assert "3行目 地域区分" in bad.stderr
    assert count(db, IcMaster) == 4


# ---- etc export usage -------------------------------------------------------------------------------

def test_export_usage_writes_a_japanese_workbook(db, cards, runner, tmp_path):
    assert invoke(runner, "import", fixture("etc-meisai-2026-10.csv")).exit_code == 0
    assert invoke(runner, "import", fixture("tollbook-utf8.csv")).exit_code == 0  # 2026-11: not in the export
    output = tmp_path / "x.xlsx"
    result = invoke(runner, "export", "usage", "2026-10", "-o", str(output))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"2026-10 の走行明細 7件を書き出しました: {output}"

    workbook = load_workbook(output)
    sheet = workbook.active
    assert sheet.title == "走行明細 2026-10"
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == EXPORT_HEADERS
    assert values[0][:4] == ("利用月", "組合員コード", "組合員名", "カード番号")
    rows = [dict(zip(EXPORT_HEADERS, v)) for v in values[1:]]
    assert len(rows) == 7
    stored = db.session.scalars(select(UsageRecord).where(UsageRecord.usage_month == "2026-10")
                                .order_by(UsageRecord.line_no)).all()
    assert [(r["カード番号"], r["出口日時"], r["通行料金"], r["行"]) for r in rows] == [
        (u.card_number, u.exit_at, u.amount_billed, u.line_no) for u in stored]
    assert sum(r["通行料金"] for r in rows) == 21380
    assert rows[0]["組合員コード"] == "M0001" and rows[0]["組合員名"] == "株式会社山田運輸"
    assert rows[2]["組合員名"] == "髙橋物流有限会社"
    assert (rows[2]["割引前料金"], rows[2]["割引額"], rows[2]["通行料金"]) == (4560, 1360, 3200)
    assert (rows[6]["入口IC"], rows[6]["出口IC"]) == ("髙崎", "宮﨑")
    unknown = rows[5]
    assert (unknown["カード番号"], unknown["組合員コード"], unknown["要確認"]) == (UNKNOWN, None, "未登録カード")
    assert {r["要確認"] for r in rows[:5]} == {""} or {r["要確認"] for r in rows[:5]} == {None}
    money = EXPORT_HEADERS.index("通行料金") + 1
    assert sheet.cell(row=2, column=money).number_format == "#,##0"


@pytest.mark.parametrize("spelling", ["2026/10", "202610", "2026-10"])
def test_import_month_option_in_every_spelling(db, cards, runner, spelling):
    """issue 7: `--month 2026/10` was refused by the import's own parser while billing took it."""
    result = invoke(runner, "import", fixture("etc-meisai-2026-10.csv"), "--month", spelling)
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(ImportBatch.usage_month)) == "2026-10"
    assert count(db, UsageRecord, UsageRecord.usage_month == "2026-10") == 7


@pytest.mark.parametrize("spelling", ["2026-1", "2026/1", "202601", "2026-01"])
def test_export_usage_of_a_short_month_finds_its_rows(db, cards, runner, tmp_path, spelling):
    """issue 7: `export usage 2026-1` silently exported nothing (the rows are stored as 2026-01)."""
    assert invoke(runner, "import", fixture("etc-meisai-2026-10.csv"), "--month", "2026-01").exit_code == 0
    output = tmp_path / "x.xlsx"
    result = invoke(runner, "export", "usage", spelling, "-o", str(output))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"2026-01 の走行明細 7件を書き出しました: {output}"
    assert len(list(load_workbook(output).active.iter_rows(values_only=True))) == 8


def test_export_usage_of_a_bad_month(db, runner, tmp_path):
    result = invoke(runner, "export", "usage", "2026/13", "-o", str(tmp_path / "x.xlsx"))
    assert result.exit_code == 1
    assert "YYYY-MM の形で指定してください" in result.stderr
    assert not (tmp_path / "x.xlsx").exists()


def test_export_usage_of_an_empty_month(db, runner, tmp_path):
    result = invoke(runner, "export", "usage", "2026-01", "-o", str(tmp_path / "x.xlsx"))
    assert result.exit_code == 0, result.output
    assert "2026-01 の走行明細 0件を書き出しました" in result.stdout
    values = list(load_workbook(tmp_path / "x.xlsx").active.iter_rows(values_only=True))
    assert values == [EXPORT_HEADERS]

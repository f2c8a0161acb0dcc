"""マスタ取込（Excel）: the whole file or nothing, Japanese errors with sheet/row/column, idempotent."""
import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.importers.master_excel import COLUMNS, template_bytes
from app.models import Agency, AuditLog, Card, CardEvent, Member, Vehicle
from app.services.master_import import MasterImportFailed, import_master_file

from ..conftest import MEMBER_PASSWORD

MEMBER_HEADERS = ["組合員コード", "組合員名", "組合員名カナ", "住所", "代理店コード", "支払方法", "銀行コード",
                  "支店コード", "預金種目", "口座番号", "口座名義カナ"]
VEHICLE_HEADERS = ["組合員コード", "車両番号", "車種", "ETC2.0", "事業用"]
CARD_HEADERS = ["カード番号", "カード種別", "組合員コード", "車両番号", "発行元", "有効開始日", "有効期限"]

MEMBERS = [
    ["M0001", "株式会社山田運輸", "ヤマダウンユ", "東京都大田区平和島1-1-1", None, "口座振替", "0001", "001", "普通",
     "1234567", "ヤマダウンユ"],
    ["M0002", "髙橋物流株式会社", "タカハシブツリュウ", None, None, "振込", None, None, None, None, None],
    ["M0003", "さくら陸送", "サクラリクソウ", None, None, None, "0005", "001", 2, 98765, "サクラリクソウ"],
]
VEHICLES = [
    ["M0001", "品川 300 あ 12-34", "大型", "○", "○"],
    ["M0001", "練馬100さ5678", 1, None, "○"],
    ["M0002", "横浜 800 か ・・12", "中型", None, None],
    ["M0003", "尾張小牧 130 な 9", "特大", "○", None],
]
CARDS = [
    ["9011-2345-6789-0011", "コーポレート", "M0001", "品川 300 あ 12-34", None, dt.date(2023, 4, 1), None],
    ["9011234567890029", "コーポレート", "M0001", "練馬 100 さ 56-78", "NEXCO", "2024/06/15", "2029/06/30"],
    ["4980 1234 5678 9012", "クレジット", "M0001", None, "トールブック信販", "2025/01/10", "2029/12"],
    ["9011234567890037", "コーポレート", "M0002", "横浜 800 か 12", None, "2022/02/01", None],
    ["9011234567890045", "コーポレートカード", "M0003", "尾張小牧 130 な 9", None, None, None],
]


def write_book(path: Path, members=MEMBERS, vehicles=VEHICLES, cards=CARDS, *, member_headers=MEMBER_HEADERS,
               vehicle_headers=VEHICLE_HEADERS, card_headers=CARD_HEADERS) -> Path:
    book = Workbook()
    book.remove(book.active)
    for name, headers, rows in (("組合員", member_headers, members), ("車両", vehicle_headers, vehicles),
                                ("カード", card_headers, cards)):
        sheet = book.create_sheet(name)
        sheet.append(headers)
        for row in rows:
            sheet.append(list(row))
    book.save(path)
    return path


def replaced(rows, index, column, value):
    rows = [list(r) for r in rows]
    rows[index][column] = value
    return rows


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def assert_nothing_saved(db):
    db.session.rollback()
    assert (count(db, Member), count(db, Vehicle), count(db, Card), count(db, CardEvent)) == (0, 0, 0, 0)


def wait_for_job(job_id: str, seconds: float = 60) -> dict:
    """The master import job once it has ended (it runs in a background thread)."""
    import time

    from app.views import master_import as view
    deadline = time.monotonic() + seconds
    while (job := view.get_job(job_id))["state"] == "running":
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    return job


def upload_master(client, file, name: str):
    """Post the file as the screen's form does; when the import started (a redirect to its job
    page), wait for the job and return the job page, else the immediate answer (a refusal)."""
    answer = client.post("/master-import/", data={"file": (file, name)}, content_type="multipart/form-data")
    if answer.status_code != 302:
        return answer
    location = answer.headers["Location"]
    assert "/master-import/?job=" in location, location
    wait_for_job(location.rsplit("=", 1)[1])
    return client.get(location)


def failure_of(path) -> list:
    with pytest.raises(MasterImportFailed) as caught:
        import_master_file(str(path))
    return caught.value.errors


def test_a_good_file_registers_members_vehicles_and_cards_with_their_issue_events(db, tmp_path):
    summary = import_master_file(str(write_book(tmp_path / "master.xlsx")))

    assert summary == "組合員 3件・車両 4件・カード 5件を登録しました。"
    yamada = db.session.scalar(select(Member).where(Member.code == "M0001"))
    assert (yamada.bank_name, yamada.branch_name, yamada.account_type) == ("みずほ", "東京営業部", 1)
    assert yamada.payment_method == "direct_debit"
    sakura = db.session.scalar(select(Member).where(Member.code == "M0003"))
    assert (sakura.bank_name, sakura.branch_name, sakura.account_type, sakura.account_number) == (
        "三菱ＵＦＪ", "本店", 2, "0098765")
    takahashi = db.session.scalar(select(Member).where(Member.code == "M0002"))
    assert takahashi.payment_method == "bank_transfer" and takahashi.bank_code is None

    truck = db.session.scalar(select(Vehicle).where(Vehicle.plate_serial == 1234))
    assert (truck.plate_text(), truck.vehicle_class, truck.is_etc2, truck.is_commercial, truck.member.code) == (
        "品川 300 あ 12-34", 2, True, True, "M0001")
    assert db.session.scalar(select(Vehicle).where(Vehicle.plate_serial == 12)).vehicle_class == 4

    cards = {c.number: c for c in db.session.scalars(select(Card))}
    first = cards["9011234567890011"]
    assert (first.kind, first.issuer, first.status, first.vehicle.plate_serial) == ("corporate", "NEXCO", "active", 1234)
    assert first.valid_until == dt.date(2028, 4, 30)  # 5 years, to the end of the month
    credit = cards["4980123456789012"]
    assert (credit.kind, credit.issuer, credit.vehicle, credit.valid_until) == (
        "credit", "トールブック信販", None, dt.date(2029, 12, 31))
    assert cards["9011234567890029"].valid_from == dt.date(2024, 6, 15)

    events = db.session.scalars(select(CardEvent).join(Card, CardEvent.card_id == Card.id)
                                .order_by(CardEvent.id)).all()
    assert len(events) == 5
    by_card = {e.card.number: e for e in events}
    assert by_card["9011234567890011"].kind == "issue"
    assert by_card["9011234567890011"].occurred_on == dt.date(2023, 4, 1)
    assert by_card["9011234567890029"].kind == "add"
    assert by_card["4980123456789012"].kind == "add"
    assert by_card["9011234567890037"].kind == "issue"
    assert all(e.note == "マスタ取込（Excel）" and e.member_id == e.card.member_id for e in events)
    assert count(db, AuditLog) > 0


def test_running_the_same_file_twice_changes_nothing(db, tmp_path):
    path = write_book(tmp_path / "master.xlsx")
    import_master_file(str(path))
    before = [count(db, m) for m in (Member, Vehicle, Card, CardEvent, AuditLog)]

    summary = import_master_file(str(path))

    assert summary == ("組合員 3件・車両 4件・カード 5件を登録しました（新規 0件・更新 0件・変更なし 12件）。")
    assert [count(db, m) for m in (Member, Vehicle, Card, CardEvent, AuditLog)] == before


def test_a_changed_member_is_updated_by_its_code_and_audited(db, tmp_path):
    import_master_file(str(write_book(tmp_path / "first.xlsx")))
    members = replaced(MEMBERS, 1, 3, "神奈川県横浜市中区1-2")
    summary = import_master_file(str(write_book(tmp_path / "second.xlsx", members=members)))

    assert "新規 0件・更新 1件・変更なし 11件" in summary
    assert db.session.scalar(select(Member.address).where(Member.code == "M0002")) == "神奈川県横浜市中区1-2"
    assert count(db, Member) == 3
    log = db.session.scalar(select(AuditLog).where(AuditLog.action == "update", AuditLog.table_name == "member"))
    assert log.after == {"address": "神奈川県横浜市中区1-2"}


def test_one_bad_row_in_the_middle_of_the_card_sheet_imports_nothing(db, tmp_path):
    cards = replaced(CARDS, 2, 0, "901123456789003")  # Excel row 4: 15 digits
    cards = replaced(cards, 2, 1, "コーポレート")
    cards = replaced(cards, 2, 3, "品川 300 あ 12-34")
    cards = replaced(cards, 2, 4, None)
    errors = failure_of(write_book(tmp_path / "bad.xlsx", cards=cards))

    assert [str(e) for e in errors] == ["シート「カード」 4行目 カード番号: カード番号は16桁の数字です（入力は15桁）。"]
    assert (errors[0].sheet, errors[0].row, errors[0].column) == ("カード", 4, "カード番号")
    assert_nothing_saved(db)


def test_every_problem_of_every_sheet_is_listed_at_once(db, tmp_path):
    members = replaced(MEMBERS, 0, 2, "山田ウンユ")
    vehicles = replaced(VEHICLES, 3, 2, "バス")
    cards = replaced(CARDS, 4, 2, "M0099")
    errors = failure_of(write_book(tmp_path / "bad.xlsx", members=members, vehicles=vehicles, cards=cards))

    assert [(e.sheet, e.row, e.column) for e in errors] == [
        ("組合員", 2, "組合員名カナ"), ("車両", 5, "車種"), ("カード", 6, "組合員コード")]
    assert "車種「バス」は 1 普通, 2 大型, 3 特大, 4 中型, 5 軽 のいずれかです。" in str(errors[1])
    assert "組合員コード「M0099」" in errors[2].reason
    assert_nothing_saved(db)


def test_an_unknown_bank_code_is_refused(db, tmp_path):
    members = replaced(MEMBERS, 2, 6, "0002")
    errors = failure_of(write_book(tmp_path / "bad.xlsx", members=members))

    assert [str(e) for e in errors] == [
        "シート「組合員」 4行目 銀行コード: 銀行コード「0002」は全銀協の金融機関コードにありません。"]
    assert_nothing_saved(db)


def test_an_unknown_branch_and_a_missing_account_for_direct_debit_are_refused(db, tmp_path):
    members = replaced(MEMBERS, 0, 7, "999")
    members = replaced(members, 2, 5, "口座振替")
    members = replaced(members, 2, 6, None)
    members = replaced(members, 2, 7, None)
    members = replaced(members, 2, 8, None)
    members = replaced(members, 2, 9, None)
    members = replaced(members, 2, 10, None)
    errors = failure_of(write_book(tmp_path / "bad.xlsx", members=members))

    assert [(e.row, e.column) for e in errors] == [(2, "支店コード"), (4, "銀行コード")]
    assert errors[0].reason == "支店コード「999」はみずほの支店にありません。"
    assert "口座振替の組合員には口座" in errors[1].reason


def test_a_card_number_twice_in_the_file_is_refused(db, tmp_path):
    cards = [*CARDS, ["4980-1234-5678-9012", "クレジット", "M0002", None, "別の信販", None, None]]
    errors = failure_of(write_book(tmp_path / "bad.xlsx", cards=cards))

    assert [str(e) for e in errors] == [
        "シート「カード」 7行目 カード番号: カード番号 4980123456789012 が4行目と重複しています。"]
    assert_nothing_saved(db)


def test_a_card_registered_for_another_member_is_refused(db, tmp_path):
    import_master_file(str(write_book(tmp_path / "first.xlsx")))
    cards = [["4980123456789012", "クレジット", "M0002", None, "トールブック信販", None, None]]
    errors = failure_of(write_book(tmp_path / "second.xlsx", members=[], vehicles=[], cards=cards))

    assert [str(e) for e in errors] == [
        "シート「カード」 2行目 カード番号: カード番号 4980123456789012 は既に組合員「M0001」のカードとして登録されています。"]


def test_a_malformed_plate_is_refused(db, tmp_path):
    vehicles = replaced(VEHICLES, 1, 1, "練馬 100 12-34")
    errors = failure_of(write_book(tmp_path / "bad.xlsx", vehicles=vehicles))

    assert str(errors[0]) == ("シート「車両」 3行目 車両番号: 車両番号「練馬 100 12-34」を読み取れません"
                              "（例: 品川 300 あ 12-34）。")
    # The card that points at the plate is reported too: it is not in the vehicle sheet.
    assert [(e.sheet, e.row, e.column) for e in errors] == [("車両", 3, "車両番号"), ("カード", 3, "車両番号")]
    assert_nothing_saved(db)


def test_a_corporate_card_needs_a_vehicle_of_its_own_member(db, tmp_path):
    cards = replaced(CARDS, 3, 3, None)
    cards = replaced(cards, 4, 3, "品川 300 あ 12-34")
    errors = failure_of(write_book(tmp_path / "bad.xlsx", cards=cards))

    assert [str(e) for e in errors] == [
        "シート「カード」 5行目 車両番号: コーポレートカードには車両番号が必要です（1台に1枚）。",
        "シート「カード」 6行目 車両番号: 車両「品川 300 あ 12-34」は組合員「M0001」の車両です（カードの組合員は「M0003」）。"]


def test_half_width_kana_is_stored_as_full_width_but_kanji_in_a_kana_column_is_refused(db, tmp_path):
    members = replaced(MEMBERS, 0, 2, "ﾔﾏﾀﾞｳﾝﾕ")
    members = replaced(members, 0, 10, "ｶ)ﾔﾏﾀﾞｳﾝﾕ")
    import_master_file(str(write_book(tmp_path / "good.xlsx", members=members)))
    yamada = db.session.scalar(select(Member).where(Member.code == "M0001"))
    assert (yamada.kana, yamada.account_holder_kana) == ("ヤマダウンユ", "カ）ヤマダウンユ")

    members = replaced(MEMBERS, 1, 2, "タカハシ物リュウ")
    errors = failure_of(write_book(tmp_path / "bad.xlsx", members=members))
    assert [str(e) for e in errors] == [
        "シート「組合員」 3行目 組合員名カナ: 組合員名カナは全角カタカナで入力してください（使えない文字: 物）。"]


def test_an_unknown_agency_and_a_bad_date_are_refused(db):
    from app.extensions import db as database

    database.session.add(Agency(code="A001", name="みらい保険サービス"))
    database.session.commit()
    members = replaced(MEMBERS, 0, 4, "A001")
    members = replaced(members, 1, 4, "A999")
    cards = replaced(CARDS, 1, 5, "令和6年6月")
    buffer = io.BytesIO()
    write_book(buffer, members=members, cards=cards)
    buffer.seek(0)
    with pytest.raises(MasterImportFailed) as caught:
        import_master_file(buffer)

    assert [str(e) for e in caught.value.errors] == [
        "シート「組合員」 3行目 代理店コード: 代理店コード「A999」は登録されていません（代理店の画面で先に登録してください）。",
        "シート「カード」 3行目 有効開始日: 「令和6年6月」を日付として読み取れません（例: 2026/11/25）。"]


def test_a_long_card_number_typed_into_a_number_cell_is_refused(db, tmp_path):
    cards = replaced(CARDS, 0, 0, 9011234567890011)
    errors = failure_of(write_book(tmp_path / "bad.xlsx", cards=cards))

    assert [(e.row, e.column) for e in errors] == [(2, "カード番号")]
    assert "文字列" in errors[0].reason


def test_a_missing_required_column_and_a_file_that_is_not_excel_are_refused(db, tmp_path):
    errors = failure_of(write_book(tmp_path / "bad.xlsx", card_headers=[h for h in CARD_HEADERS if h != "カード種別"],
                                   cards=[r[:1] + r[2:] for r in CARDS]))
    assert [str(e) for e in errors] == [
        "シート「カード」 1行目 カード種別: この列がありません（1行目の見出しを確認してください）。"]

    text = tmp_path / "not-excel.xlsx"
    text.write_text("組合員コード,組合員名\n", encoding="utf-8")
    errors = failure_of(text)
    assert [str(e) for e in errors] == [
        "ファイル: Excelファイル（.xlsx）として読み取れません。Excel 2007以降の形式で保存してください。"]


def test_the_command_prints_the_summary_or_the_error_list(app, db, tmp_path):
    runner = app.test_cli_runner()
    good = write_book(tmp_path / "good.xlsx")
    result = runner.invoke(args=["etc", "import-master", str(good)])
    assert result.exit_code == 0, result.output
    assert "組合員 3件・車両 4件・カード 5件を登録しました。" in result.output

    bad = write_book(tmp_path / "bad.xlsx", cards=replaced(CARDS, 0, 0, "9011-2345"))
    result = runner.invoke(args=["etc", "import-master", str(bad)])
    assert result.exit_code == 1
    assert "取り込めませんでした（1件のエラー）。何も登録していません。" in result.output
    assert "シート「カード」 2行目 カード番号: カード番号は16桁の数字です（入力は8桁）。" in result.output


def test_staff_upload_the_file_and_see_the_summary_or_the_error_table(staff_client, db, tmp_path):
    page = staff_client.get("/master-import/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "マスタ取込（Excel）" in html and 'name="csrf_token"' in html and 'type="file"' in html

    bad = write_book(tmp_path / "bad.xlsx", vehicles=replaced(VEHICLES, 0, 1, "品川 300 お 12-34"))
    page = upload_master(staff_client, bad.open("rb"), "bad.xlsx")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "何も登録していません" in html
    assert "<th>シート</th><th>行</th><th>列</th><th>内容</th>" in html
    assert "<td>車両</td><td>2</td><td>車両番号</td>" in html
    assert_nothing_saved(db)

    good = write_book(tmp_path / "good.xlsx")
    page = upload_master(staff_client, good.open("rb"), "good.xlsx")
    assert "組合員 3件・車両 4件・カード 5件を登録しました。" in page.get_data(as_text=True)
    assert count(db, Card) == 5
    assert db.session.scalar(select(CardEvent.entered_by).limit(1)) == "staff"

    template = staff_client.get("/master-import/template/")
    assert template.status_code == 200
    assert load_workbook(io.BytesIO(template.data)).sheetnames[:3] == ["組合員", "車両", "カード"]


def test_a_member_login_may_not_open_or_use_the_upload_screen(client, db, tmp_path):
    # (conftest's login() follows the redirect to the portal, which refuses a login without a member.)
    client.post("/login/", data={"username": "member1", "password": MEMBER_PASSWORD})
    assert client.get("/portal/").status_code == 403  # logged in, as a member
    page = client.get("/master-import/")
    assert page.status_code in (302, 403)
    assert "マスタ取込" not in page.get_data(as_text=True)
    good = write_book(tmp_path / "good.xlsx")
    page = client.post("/master-import/", data={"file": (good.open("rb"), "good.xlsx")},
                       content_type="multipart/form-data")
    assert page.status_code in (302, 403)
    assert client.get("/master-import/template/").status_code in (302, 403)
    assert_nothing_saved(db)


def test_an_upload_without_the_csrf_token_is_refused(app, staff_client, db, tmp_path):
    good = write_book(tmp_path / "good.xlsx")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        page = staff_client.post("/master-import/", data={"file": (good.open("rb"), "good.xlsx")},
                                 content_type="multipart/form-data")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert page.status_code == 400
    assert "もう一度" in page.get_data(as_text=True)
    assert_nothing_saved(db)


def test_the_template_imports_once_filled_in(db, tmp_path):
    book = load_workbook(io.BytesIO(template_bytes()))
    assert book.sheetnames == ["組合員", "車両", "カード", "記入方法"]
    for name in ("組合員", "車両", "カード"):
        headers = [c.value for c in book[name][1]]
        assert headers == [spec.header for spec in COLUMNS[name]]
    for header in ("組合員コード", "組合員名", "組合員名カナ", "銀行コード", "支店コード", "預金種目", "口座番号",
                   "口座名義カナ"):
        assert header in [c.value for c in book["組合員"][1]]
    assert {"カード番号", "カード種別", "有効期限"} <= {c.value for c in book["カード"][1]}
    assert {"車両番号", "車種"} <= {c.value for c in book["車両"][1]}
    assert book["カード"]["A2"].number_format == "@"  # 16 digits stay text in Excel

    def fill(sheet, row):
        headers = [c.value for c in book[sheet][1]]
        for column, header in enumerate(headers, start=1):
            book[sheet].cell(row=2, column=column, value=row.get(header))

    fill("組合員", {"組合員コード": "K001", "組合員名": "株式会社テスト", "組合員名カナ": "てすと",
                   "銀行コード": "0005", "支店コード": "001", "預金種目": "当座", "口座番号": "7654321",
                   "口座名義カナ": "ｶ)ﾃｽﾄ", "状態": "在籍"})
    fill("車両", {"組合員コード": "K001", "車両番号": "大阪 100 た 1", "車種": "軽", "ETC2.0": "はい"})
    fill("カード", {"カード番号": "9011000000000013", "カード種別": "コーポレート", "組合員コード": "K001",
                   "車両番号": "大阪 100 た 1", "有効開始日": dt.datetime(2026, 11, 25), "有効期限": "2031/11/30"})
    path = tmp_path / "filled.xlsx"
    book.save(path)

    assert import_master_file(str(path)) == "組合員 1件・車両 1件・カード 1件を登録しました。"
    member = db.session.scalar(select(Member))
    assert (member.kana, member.bank_name, member.account_type, member.account_holder_kana) == (
        "テスト", "三菱ＵＦＪ", 2, "カ）テスト")
    card = db.session.scalar(select(Card))
    assert (card.valid_from, card.valid_until, card.vehicle.vehicle_class, card.vehicle.is_etc2) == (
        dt.date(2026, 11, 25), dt.date(2031, 11, 30), 5, True)


def test_the_documentation_describes_every_column_of_the_template():
    text = (Path(__file__).resolve().parents[2] / "docs" / "master-import.md").read_text(encoding="utf-8")
    for sheet, specs in COLUMNS.items():
        assert f"シート「{sheet}」" in text
        for spec in specs:
            assert f"| {spec.header} |" in text, (sheet, spec.header)
    assert "flask etc import-master" in text and "Excelに出力" in text


def _poll(client, status_url: str, seconds: float = 60) -> dict:
    import time
    deadline = time.monotonic() + seconds
    while (status := client.get(status_url, headers={"X-Requested-With": "XMLHttpRequest"}).get_json())["state"] \
            == "running":
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    return status


def test_the_screen_answers_at_once_with_a_job_and_polling_reaches_the_summary_or_the_errors(
        app, staff_client, db, tmp_path, monkeypatch):
    """issue 8 item 9: the import runs in the background; the POST returns 202 with the job while
    the import is held, the status says running, then the summary (or the error list) is shown."""
    import threading

    from app.views import master_import as view
    held, release = threading.Event(), threading.Event()
    real = view.import_master_file

    def held_import(*args, **kwargs):
        held.set()
        assert release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(view, "import_master_file", held_import)
    good = write_book(tmp_path / "good.xlsx")
    answer = staff_client.post("/master-import/", data={"file": (good.open("rb"), "good.xlsx")},
                               content_type="multipart/form-data", headers={"X-Requested-With": "XMLHttpRequest"})
    try:
        assert answer.status_code == 202
        started = answer.get_json()
        assert held.wait(30)
        status = staff_client.get(started["status_url"]).get_json()
        assert status["state"] == "running" and status["file_name"] == "good.xlsx"
        assert count(db, Card) == 0
        page = staff_client.get(started["result_url"]).get_data(as_text=True)
        assert "good.xlsx を確認しています" in page and 'id="progress-bar"' in page
        # a second upload while the first runs is refused, in Japanese, and starts nothing
        second = staff_client.post("/master-import/", data={"file": (good.open("rb"), "again.xlsx")},
                                   content_type="multipart/form-data",
                                   headers={"X-Requested-With": "XMLHttpRequest"})
        assert second.status_code == 409
        assert "staff さんの取込（good.xlsx）が実行中です。終わってからもう一度取り込んでください。" \
            == second.get_json()["error"]
    finally:
        release.set()
    status = _poll(staff_client, started["status_url"])
    assert status["state"] == "done" and status["percent"] == 100
    assert status["rows"] == len(MEMBERS) + len(VEHICLES) + len(CARDS) and status["sheets_done"] == 3
    assert status["message"] == "組合員 3件・車両 4件・カード 5件を登録しました。"
    page = staff_client.get(started["result_url"]).get_data(as_text=True)
    assert "good.xlsx: 組合員 3件・車両 4件・カード 5件を登録しました。" in page
    assert count(db, Card) == 5
    assert db.session.scalar(select(CardEvent.entered_by).limit(1)) == "staff"  # the thread acts as the uploader

    monkeypatch.setattr(view, "import_master_file", real)
    bad = write_book(tmp_path / "bad.xlsx", vehicles=replaced(VEHICLES, 1, 1, "品川 300 お 12-34"),
                     cards=replaced(CARDS, 2, 0, "1234"))
    answer = staff_client.post("/master-import/", data={"file": (bad.open("rb"), "bad.xlsx")},
                               content_type="multipart/form-data", headers={"X-Requested-With": "XMLHttpRequest"})
    assert answer.status_code == 202
    status = _poll(staff_client, answer.get_json()["status_url"])
    assert status["state"] == "refused"
    page = staff_client.get(answer.get_json()["result_url"]).get_data(as_text=True)
    assert "bad.xlsx: 取り込めませんでした（2件のエラー）。何も登録していません。" in page
    assert "<td>車両</td><td>3</td><td>車両番号</td>" in page and "<td>カード</td><td>4</td><td>カード番号</td>" in page
    assert count(db, Card) == 5  # all or nothing: the bad file changed nothing
    assert "取り込めませんでした" not in page.split("</h2>", 1)[0]

"""NEXCO 申請書 from the database: card events → one PDF (service, card-event list, `flask etc forms`),
and the renewal list (更新予定カード) with its Excel file and bulk exchange applications.

The PDFs are read back with pdftotext (poppler-utils): each page is one form, and carries the title of
its form, the member, the plate in its four parts, the card number and the dates of the database."""
import datetime as dt
import io
import subprocess

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import event as sa_event, select

from app.domain.card_lifecycle import CANCEL, LOSS, REISSUE, RENEWAL, VEHICLE_CHANGE
from app.domain.month import Month
from app.domain.clock import today_jst
from app.models import Card, CardEvent, Member, OperatorSettings, Vehicle
from app.services.actor import acting_as
from app.services.cards import apply_card_event, prepare_new_card
from app.services.nexco_forms import due_card_ids, event_forms, period_forms, renewal_forms

ACTOR = "tester-forms"
N_ISSUE, N_REISSUED, N_VAN, N_CANCEL, N_RENEW = ("9011000000000011", "9011000000000029", "9011000000000037",
                                                 "9011000000000045", "9011000000000052")
CREDIT = "4980111122223333"


def pdf_pages(data: bytes, tmp_path) -> list[str]:
    """pdftotext of each page (pages end with a form feed)."""
    path = tmp_path / "forms.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()
    assert len(pages) == len(PdfReader(io.BytesIO(data)).pages)
    return pages


def squeeze(text: str) -> str:
    """pdftotext -layout pads table cells with spaces: compare without them."""
    return "".join(text.split())


def vehicle(db, member, region, class_number, kana, serial, vehicle_class, **extra):
    v = Vehicle(member=member, plate_region=region, plate_class_number=class_number, plate_kana=kana,
                plate_serial=serial, vehicle_class=vehicle_class, **extra)
    db.session.add(v)
    return v


def card(db, number, member, vehicle_, valid_from, kind="corporate", **extra):
    c = Card(number=number, kind=kind, issuer="NEXCO" if kind == "corporate" else "テスト信販", member=member,
             vehicle=vehicle_, valid_from=valid_from, **extra)
    prepare_new_card(db.session, c)
    db.session.flush()
    return c


def record(db, card_, kind, day, **extra):
    e = CardEvent(card=card_, kind=kind, occurred_on=day, **extra)
    apply_card_event(db.session, e)
    db.session.flush()
    return e


@pytest.fixture()
def fleet(db):
    """One member, five vehicles, four corporate cards and a credit card; events of every kind."""
    with acting_as(ACTOR):
        settings = db.session.scalar(select(OperatorSettings))
        settings.postal_code, settings.address = "105-0011", "東京都港区芝公園4-2-8"
        settings.phone, settings.registration_number = "03-1234-5678", "T1234567890123"
        member = Member(code="M0001", name="株式会社髙崎運輸", kana="タカサキウンユ", postal_code="370-0001",
                        address="群馬県高崎市中居町1-23", phone="027-111-2222", contact_person="山田太郎")
        db.session.add(member)
        truck = vehicle(db, member, "品川", "100", "あ", 1234, 2, is_commercial=True, is_etc2=True)
        van = vehicle(db, member, "尾張小牧", "30A", "そ", 12, 1)
        new_van = vehicle(db, member, "練馬", "800", "さ", 5678, 4)
        old_truck = vehicle(db, member, "袖ケ浦", "130", "か", 321, 3)
        kei = vehicle(db, member, "つくば", "480", "に", 9, 5)
        db.session.flush()
        issued = card(db, N_ISSUE, member, truck, dt.date(2024, 4, 10))
        van_card = card(db, N_VAN, member, van, dt.date(2025, 1, 15))
        to_cancel = card(db, N_CANCEL, member, old_truck, dt.date(2024, 5, 1))
        to_renew = card(db, N_RENEW, member, kei, dt.date(2022, 3, 1), valid_until=dt.date(2027, 3, 31))
        credit = card(db, CREDIT, member, None, dt.date(2025, 6, 1), kind="credit", valid_until=dt.date(2030, 6, 30))
        events = {
            "loss": record(db, issued, LOSS, dt.date(2026, 9, 10), note="SA駐車場で車上荒らし"),
            "reissue": record(db, issued, REISSUE, dt.date(2026, 9, 20), new_card_number=N_REISSUED),
            "vehicle_change": record(db, van_card, VEHICLE_CHANGE, dt.date(2026, 10, 1), new_vehicle=new_van),
            "credit_loss": record(db, credit, LOSS, dt.date(2026, 10, 10)),
            "cancel": record(db, to_cancel, CANCEL, dt.date(2026, 11, 2)),
            "renewal": record(db, to_renew, RENEWAL, dt.date(2026, 11, 5)),
        }
        first = db.session.scalars(select(CardEvent).where(CardEvent.card_id == issued.id)
                                   .order_by(CardEvent.id)).first()
        events["issue"] = first
        events["add"] = db.session.scalars(select(CardEvent).where(CardEvent.card_id == van_card.id)
                                           .order_by(CardEvent.id)).first()
        db.session.commit()
        return {name: e.id for name, e in events.items()}


PLATES = {"truck": "品川100あ12-34", "van": "尾張小牧30Aそ・・12", "new_van": "練馬800さ56-78",
          "old_truck": "袖ケ浦130か・321", "kei": "つくば480に・・・9"}


def test_each_event_prints_its_form_with_the_database_values(db, fleet, tmp_path):
    order = ["issue", "add", "loss", "reissue", "vehicle_change", "cancel", "renewal"]
    batch = event_forms([fleet[name] for name in order] + [fleet["credit_loss"]], created_on=dt.date(2026, 11, 20))
    assert batch.count == 7
    assert len(batch.skipped) == 1 and batch.skipped[0].startswith(f"カード異動 No.{fleet['credit_loss']}（紛失・盗難 2026/10/10）")
    assert "クレジットカード" in batch.skipped[0]
    pages = [squeeze(p) for p in pdf_pages(batch.pdf(), tmp_path)]
    assert len(pages) == 7  # one page per form, in the order the events happened
    expected = {
        "issue": ("新規・追加発行申込申請内容", PLATES["truck"], "901100-0000-00001-1", "2024年4月10日",
                  "新規発行（この使用者の最初のカード）", "2029年4月30日"),
        "add": ("新規・追加発行申込申請内容", PLATES["van"], "901100-0000-00003-7", "2025年1月15日", "追加発行",
                "2030年1月31日"),
        "loss": ("紛失・盗難届申請内容", PLATES["truck"], "901100-0000-00001-1", "2026年9月10日",
                 "SA駐車場で車上荒らし"),
        "reissue": ("再発行申込申請内容", PLATES["truck"], "901100-0000-00001-1", "2026年9月20日",
                    "紛失・盗難（2026年9月10日に紛失届）", "901100-0000-00002-9"),
        "vehicle_change": ("登録車両入替届申請内容", PLATES["van"], PLATES["new_van"], "901100-0000-00003-7",
                           "2026年10月1日", "入替前の車両", "入替後の車両", "4（中型車）"),
        "cancel": ("解約（カード返却）届申請内容", PLATES["old_truck"], "901100-0000-00004-5", "2026年11月2日",
                   "減車"),
        "renewal": ("更新（有効期限切替）交換申込申請内容", PLATES["kei"], "901100-0000-00005-2", "2026年11月5日",
                    "2027年3月31日（券面27年03月）", "2032年3月31日（券面32年03月）", "5（軽自動車等）"),
    }
    for page, name in zip(pages, order):
        assert f"カード異動No.{fleet[name]}" in page, name
        assert "株式会社髙崎運輸" in page and "M0001" in page and "〒370-0001群馬県高崎市中居町1-23" in page, name
        assert "テスト事業協同組合" in page and "T1234567890123" in page, name
        assert "作成日2026年11月20日" in page and "公式様式ではありません" in page, name
        for text in expected[name]:
            assert text in page, (name, text)
    # the plate's four parts sit in their own cells, under their own headings
    truck_page = pdf_pages(batch.pdf(), tmp_path)[0]
    line = next(l for l in truck_page.splitlines() if "品川" in l and "12-34" in l)
    assert line.split()[:4] == ["品川", "100", "あ", "12-34"]
    assert "地名" in truck_page and "分類番号" in truck_page and "ひらがな" in truck_page and "一連番号" in truck_page


def test_forms_follow_the_operators_date_style(db, fleet, tmp_path):
    db.session.scalar(select(OperatorSettings)).date_style = "wareki"
    db.session.commit()
    page = squeeze(pdf_pages(event_forms([fleet["loss"]], created_on=dt.date(2026, 11, 20)).pdf(), tmp_path)[0])
    assert "作成日令和8年11月20日" in page and "令和8年9月10日" in page and "2026年9月10日" not in page
    assert "令和11年4月30日（券面29年04月）" in page


def test_the_japanese_font_is_embedded(db, fleet, tmp_path):
    path = tmp_path / "one.pdf"
    path.write_bytes(event_forms([fleet["loss"]]).pdf())
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    line = next(l for l in fonts.splitlines() if "IPAexGothic" in l)
    assert line.split()[-5:-2] == ["yes", "yes", "yes"]


def test_a_period_takes_the_events_of_those_days(db, fleet):
    batch, total = period_forms(dt.date(2026, 9, 1), dt.date(2026, 10, 31))
    assert total == 4  # loss, reissue, vehicle change, credit-card loss
    assert [f.reference for f in batch.forms] == [f"カード異動 No.{fleet[n]}" for n in ("loss", "reissue",
                                                                                   "vehicle_change")]
    assert len(batch.skipped) == 1
    empty, none = period_forms(dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert (empty.count, none) == (0, 0)


def test_events_are_read_with_a_fixed_number_of_queries(db, fleet):
    def statements(ids):
        seen = []

        def count(*_):
            seen.append(1)
        engine = db.session.get_bind()
        sa_event.listen(engine, "before_cursor_execute", count)
        try:
            db.session.expire_all()
            event_forms(ids)
        finally:
            sa_event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    one = statements([fleet["reissue"]])
    all_ = statements(list(fleet.values()))
    assert all_ == one <= 3  # operator, events with their rows, earlier losses


# ── staff screens ────────────────────────────────────────────────────────────────────────────────

def test_staff_tick_events_on_the_list_and_get_one_pdf(staff_client, fleet, tmp_path):
    page = staff_client.get("/cardeventview/list/").get_data(as_text=True)
    assert "申請書を印刷（PDF）" in page and 'class="action_check"' in page
    response = staff_client.post("/cardeventview/action_post", data={
        "action": "print_forms", "rowid": [str(fleet["vehicle_change"]), str(fleet["loss"])]})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment;" in response.headers["Content-Disposition"]
    assert "2%E4%BB%B6.pdf" in response.headers["Content-Disposition"]  # 申請書_YYYYMMDD_2件.pdf
    pages = [squeeze(p) for p in pdf_pages(response.data, tmp_path)]
    assert ["紛失・盗難届申請内容" in pages[0], "登録車両入替届申請内容" in pages[1]] == [True, True]


def test_one_event_prints_from_its_screen(staff_client, fleet, tmp_path):
    show = staff_client.get(f"/cardeventview/show/{fleet['cancel']}").get_data(as_text=True)
    assert "申請書を印刷（PDF）" in show
    response = staff_client.post(f"/cardeventview/action/print_forms/{fleet['cancel']}")
    assert response.mimetype == "application/pdf"
    assert "解約（カード返却）届申請内容" in squeeze(pdf_pages(response.data, tmp_path)[0])


def test_ticking_only_events_without_a_form_says_why(staff_client, fleet):
    response = staff_client.post("/cardeventview/action_post", follow_redirects=True,
                                 data={"action": "print_forms", "rowid": [str(fleet["credit_loss"])]})
    text = response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert "印刷できる申請書がありません。" in text and "クレジットカードの異動です" in text


def test_managers_do_not_print_forms(manager_client, fleet):
    response = manager_client.post("/cardeventview/action_post",
                                   data={"action": "print_forms", "rowid": [str(fleet["loss"])]})
    assert response.mimetype != "application/pdf"
    assert manager_client.get("/cardrenewalview/forms/").status_code in (302, 403)


# ── the renewal list ─────────────────────────────────────────────────────────────────────────────

def months_on(today: dt.date, months: int) -> dt.date:
    return Month.containing(today).plus(months).last_day


@pytest.fixture()
def renewals(db):
    """Cards due in 2 and 5 months, one past its expiry and not renewed, one due in 10 months, and
    ones that never show: lost, cancelled, credit."""
    today = today_jst()
    with acting_as(ACTOR):
        a = Member(code="R0001", name="青山運送株式会社", kana="アオヤマウンソウ")
        b = Member(code="R0002", name="馬場物流株式会社", kana="ババブツリユウ")
        db.session.add_all([a, b])
        plates = iter(range(1001, 1100))

        def due(member, number, months, kind="corporate", **extra):
            v = vehicle(db, member, "品川", "100", "ま", next(plates), 1)
            db.session.flush()
            return card(db, number, member, v if kind == "corporate" else None, dt.date(2021, 1, 1), kind=kind,
                        valid_until=months_on(today, months), **extra)
        cards = {
            "two": due(b, "9022000000000010", 2),
            "five": due(a, "9022000000000028", 5),
            "overdue": due(a, "9022000000000036", -1),
            "ten": due(a, "9022000000000044", 10),
            "credit": due(a, "4980222233334444", 1, kind="credit"),
            "lost": due(b, "9022000000000051", 1),
        }
        record(db, cards["lost"], LOSS, today)
        db.session.commit()
        return {name: c.id for name, c in cards.items()}


def test_renewal_list_shows_corporate_cards_due_within_n_months(staff_client, renewals):
    page = staff_client.get("/cardrenewalview/list/?months=6").get_data(as_text=True)
    assert "更新予定カード" in page
    for masked in ("************0010", "************0028", "************0036"):
        assert masked in page
    for absent in ("************0044", "3333", "************0051", "9022000000000010"):
        assert absent not in page  # not due yet, credit, lost; never the whole number
    assert page.index("************0036") < page.index("************0010") < page.index("************0028")
    assert "品川 100 ま" in page and "青山運送株式会社" in page
    wider = staff_client.get("/cardrenewalview/list/?months=12").get_data(as_text=True)
    assert "************0044" in wider
    wrong = staff_client.get("/cardrenewalview/list/?months=99").get_data(as_text=True)
    assert wrong.count("1〜24の数字") == 1 and "************0010" in wrong and "************0044" not in wrong


def test_renewal_list_excel_has_the_same_rows(staff_client, renewals):
    response = staff_client.get("/cardrenewalview/export/?months=6")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = next(r for r in rows if r and r[0] == "組合員コード")
    assert list(header) == ["組合員コード", "組合員名", "カード番号", "車両番号", "有効期限"]
    body = [r for r in rows[rows.index(header) + 1:] if r and r[0]]
    assert [(r[0], r[2]) for r in body] == [("R0001", "************0036"), ("R0002", "************0010"),
                                           ("R0001", "************0028")]
    assert isinstance(body[0][4], dt.datetime) or isinstance(body[0][4], dt.date)


def test_renewal_list_prints_every_listed_card_or_the_ticked_ones(staff_client, renewals, tmp_path):
    all_listed = staff_client.get("/cardrenewalview/forms/?months=6")
    assert all_listed.mimetype == "application/pdf"
    pages = [squeeze(p) for p in pdf_pages(all_listed.data, tmp_path)]
    assert len(pages) == 3 and all("更新（有効期限切替）交換申込申請内容" in p for p in pages)
    assert ["902200-0000-00003-6" in pages[0], "902200-0000-00001-0" in pages[1],
            "902200-0000-00002-8" in pages[2]] == [True, True, True]
    assert "馬場物流株式会社" in pages[1] and "青山運送株式会社" in pages[2]
    ticked = staff_client.post("/cardrenewalview/action_post", data={
        "action": "print_forms", "rowid": [str(renewals["five"]), str(renewals["credit"])]})
    ticked_pages = [squeeze(p) for p in pdf_pages(ticked.data, tmp_path)]
    assert len(ticked_pages) == 1 and "902200-0000-00002-8" in ticked_pages[0]
    list_page = staff_client.get("/cardrenewalview/list/").get_data(as_text=True)
    assert "更新の対象ではありません" in list_page  # the credit card ticked by mistake, named


def test_renewal_service_matches_the_list(db, renewals):
    assert due_card_ids(6) == [renewals["overdue"], renewals["two"], renewals["five"]]
    batch = renewal_forms([renewals["ten"], renewals["lost"]])
    assert batch.count == 1 and len(batch.skipped) == 1 and "紛失・盗難" in batch.skipped[0]


# ── flask etc forms ──────────────────────────────────────────────────────────────────────────────

def test_cli_writes_the_forms_of_a_period(app, fleet, tmp_path):
    out = tmp_path / "forms.pdf"
    result = app.test_cli_runner().invoke(
        args=["etc", "forms", "--from", "R8.9.1", "--to", "2026/11/30", "-o", str(out)])
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stdout.strip() == (f"申請書 5件（5ページ）を書き出しました: {out}"
                                     "（2026-09-01〜2026-11-30 のカード異動 6件、うち対象外 1件）")
    assert f"対象外: カード異動 No.{fleet['credit_loss']}" in result.stderr
    pages = [squeeze(p) for p in pdf_pages(out.read_bytes(), tmp_path)]
    titles = ["紛失・盗難届", "再発行申込", "登録車両入替届", "解約（カード返却）届", "更新（有効期限切替）交換申込"]
    assert len(pages) == 5
    assert [f"{title}申請内容" in page for title, page in zip(titles, pages)] == [True] * 5


@pytest.mark.parametrize("args, message", [
    (["--from", "2026-12-01", "--to", "2026-12-31"], "2026-12-01〜2026-12-31 のカード異動に、申請書の対象はありません（0件"),
    (["--from", "2026-10-10", "--to", "2026-10-10"], "申請書の対象はありません（1件、うち対象外 1件）"),
    (["--from", "2026-13-01", "--to", "2026-12-31"], "--from: 日付「2026-13-01」はありません。"),
    (["--from", "2026-12-01", "--to", "yesterday"], "--to: 日付「yesterday」を読めません。"),
    (["--from", "2026-12-31", "--to", "2026-12-01"], "期間の終わり（2026-12-01）が始め（2026-12-31）より前です。"),
    (["--from", "2026-12-01"], "--from と --to に異動日の期間を YYYY-MM-DD で指定してください"),
    (["--renewal-months", "0"], "1〜24の数字"),
    (["--renewal-months", "6", "--from", "2026-12-01"], "同時に指定できません"),
])
def test_cli_refuses_in_japanese_and_writes_nothing(app, fleet, tmp_path, args, message):
    out = tmp_path / "none.pdf"
    result = app.test_cli_runner().invoke(args=["etc", "forms", *args, "-o", str(out)])
    assert result.exit_code == 1
    assert message in result.stderr
    assert not out.exists()


def test_cli_writes_the_renewal_forms(app, renewals, tmp_path):
    out = tmp_path / "renewals.pdf"
    result = app.test_cli_runner().invoke(
        args=["etc", "forms", "--renewal-months", "6", "-o", str(out)])
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stdout.startswith(f"申請書 3件（3ページ）を書き出しました: {out}")
    assert "更新予定カード 3件、うち対象外 0件" in result.stdout
    assert len(PdfReader(str(out)).pages) == 3

"""NEXCO 申請書: which form an event needs, what each sheet says, plate parts, renewal dates (pure)."""
import datetime as dt
import io

import pytest
from pypdf import PdfReader

from app.documents.forms import FORM_KINDS, fill_event_form, fill_renewal_form, form_for_event
from app.documents.forms.filling import Dates, plate_box
from app.documents.forms.kinds import (APPLICATION, EXCHANGE_APPLICATION, LOSS_REPORT, REISSUE_APPLICATION,
                                       RETURN_REPORT, VEHICLE_CHANGE_REPORT)
from app.documents.forms.render import forms_html, forms_pdf
from app.documents.forms.sources import CardInfo, EventSource, MemberInfo, OperatorInfo, RenewalSource, VehicleInfo
from app.domain.billable_events import MASTER_IMPORT_NOTE, REGISTRATION_ONLY_NOTE
from app.domain.card_renewal import expiry_before_renewal, parse_months, renewal_deadline, renewed_valid_until
from app.domain.errors import DomainError
from app.domain.plate import Plate

TODAY = dt.date(2026, 11, 20)
OPERATOR = OperatorInfo("東京運輸事業協同組合", "組合員", "105-0011", "東京都港区芝公園4-2-8", "03-1234-5678",
                        "T1234567890123")
MEMBER = MemberInfo("M0001", "株式会社髙崎運輸", "タカサキウンユ", "370-0001", "群馬県高崎市中居町1-23", "027-111-2222",
                    "山田太郎")
TRUCK = VehicleInfo(Plate("品川", "100", "あ", 1234), 2, is_etc2=True, is_commercial=True)
VAN = VehicleInfo(Plate("尾張小牧", "30A", "そ", 12), 1)
CARD = CardInfo("9011000000000011", "corporate", dt.date(2024, 4, 10), dt.date(2029, 4, 30))
NEW_CARD = CardInfo("9011000000000029", "corporate", dt.date(2026, 9, 20), dt.date(2029, 4, 30))


def event(kind, day=dt.date(2026, 9, 10), **extra):
    fields = dict(event_id=12, kind=kind, occurred_on=day, card=CARD, member=MEMBER, vehicle=TRUCK)
    fields.update(extra)
    return EventSource(**fields)


def fill(kind, **extra):
    return fill_event_form(event(kind, **extra), OPERATOR, TODAY)


# ── which form ───────────────────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("kind, form, title", [
    ("issue", APPLICATION, "新規・追加発行申込 申請内容"),
    ("add", APPLICATION, "新規・追加発行申込 申請内容"),
    ("loss", LOSS_REPORT, "紛失・盗難届 申請内容"),
    ("reissue", REISSUE_APPLICATION, "再発行申込 申請内容"),
    ("vehicle_change", VEHICLE_CHANGE_REPORT, "登録車両入替届 申請内容"),
    ("cancel", RETURN_REPORT, "解約（カード返却）届 申請内容"),
    ("renewal", EXCHANGE_APPLICATION, "更新（有効期限切替）交換申込 申請内容"),
])
def test_each_event_kind_has_its_form(kind, form, title):
    choice = form_for_event(kind, "corporate")
    assert choice.kind.code == form and choice.kind.title == title and choice.reason == ""
    assert fill(kind).title == title


def test_every_sheet_names_the_official_form_it_follows_and_its_sources():
    follows = {k.code: k.follows for k in FORM_KINDS.values()}
    assert follows == {
        APPLICATION: "ETCコーポレートカード追加発行申込書（様式4）",
        LOSS_REPORT: "ETCコーポレートカード紛失届",
        REISSUE_APPLICATION: "ETCコーポレートカード再発行申込書",
        VEHICLE_CHANGE_REPORT: "登録車両入替届（様式10）",
        RETURN_REPORT: "ETCコーポレートカード返却届（返却理由: 減車）",
        EXCHANGE_APPLICATION: "ETCコーポレートカード交換申込書",
    }
    for kind in FORM_KINDS.values():
        assert kind.sources and all(s.startswith("http") for s in kind.sources)
        assert "申請内容" in kind.title  # never titled as the official form itself


def test_credit_card_events_have_no_nexco_form():
    for kind in ("issue", "loss", "reissue", "cancel", "renewal"):
        choice = form_for_event(kind, "credit")
        assert choice.kind is None and "クレジットカード" in choice.reason
    assert fill("loss", card=CardInfo("4980123412341234", "credit")) is None


@pytest.mark.parametrize("note", [REGISTRATION_ONLY_NOTE, MASTER_IMPORT_NOTE])
def test_a_card_registered_without_an_application_has_no_application_form(note):
    for kind in ("issue", "add"):
        choice = form_for_event(kind, "corporate", note)
        assert choice.kind is None and "申込はありません" in choice.reason
    # other events brought over by the master import still have their form
    assert form_for_event("loss", "corporate", MASTER_IMPORT_NOTE).kind.code == LOSS_REPORT


def test_an_unknown_event_kind_is_refused_with_a_reason():
    choice = form_for_event("found", "corporate")
    assert choice.kind is None and "found" in choice.reason


# ── what the sheets say ──────────────────────────────────────────────────────────────────────────

def test_contract_holder_user_and_card_are_filled_from_the_database():
    form = fill("add")
    assert form.reference == "カード異動 No.12" and form.created_on == TODAY
    assert form.created_text == "2026年11月20日"
    holder = form.contract_holder
    assert holder.heading == "契約者"
    assert holder.value("契約者名") == "東京運輸事業協同組合"
    assert holder.value("住所") == "〒105-0011 東京都港区芝公園4-2-8"
    assert holder.value("登録番号（適格請求書発行事業者）") == "T1234567890123"
    by_hand = {r.label for r in holder.rows if r.by_hand}
    assert by_hand == {"契約者番号（お客様番号）", "届出印（NEXCOに届け出た印）"}  # not in the database
    assert [r.label for r in holder.rows if r.seal] == ["届出印（NEXCOに届け出た印）"]
    user = form.user
    assert user.heading == "使用者（組合員）"
    assert (user.value("組合員コード"), user.value("名称"), user.value("フリガナ")) == ("M0001", "株式会社髙崎運輸",
                                                                                 "タカサキウンユ")
    assert user.value("住所") == "〒370-0001 群馬県高崎市中居町1-23" and user.value("担当者") == "山田太郎"
    assert form.card.value("カード番号") == "901100-0000-00001-1"
    assert form.card.value("有効期限") == "2029年4月30日（券面 29年04月）"
    assert form.card.value("有効開始日") == "2024年4月10日"


def test_a_company_operator_calls_the_user_a_branch_and_omits_an_empty_registration_number():
    company = OperatorInfo("山田物流株式会社", "支店・営業所")
    form = fill_event_form(event("add"), company, TODAY)
    assert form.user.heading == "使用者（支店・営業所）" and form.user.rows[0].label == "支店・営業所コード"
    assert "登録番号（適格請求書発行事業者）" not in [r.label for r in form.contract_holder.rows]
    assert form.contract_holder.value("住所") == ""


def test_the_plate_is_printed_in_its_four_parts_with_the_vehicle_class():
    box = plate_box("登録車両", TRUCK)
    assert (box.region, box.class_number, box.kana, box.serial) == ("品川", "100", "あ", "12-34")
    assert (box.vehicle_class, box.usage, box.etc2) == ("2（大型車）", "事業用", "あり")
    short = plate_box("入替後の車両", VAN)
    assert (short.region, short.class_number, short.kana, short.serial) == ("尾張小牧", "30A", "そ", "・・12")
    assert (short.vehicle_class, short.usage, short.etc2) == ("1（普通車）", "自家用", "なし")
    assert plate_box("x", VehicleInfo(Plate("袖ケ浦", "1", "わ", 7), 5)).vehicle_class == "5（軽自動車等）"


def test_application_says_new_or_additional_and_asks_for_the_copies():
    first, more = fill("issue"), fill("add")
    assert first.details.value("申込区分") == "新規発行（この使用者の最初のカード）"
    assert more.details.value("申込区分") == "追加発行"
    assert more.details.value("発行日") == "2026年9月10日"
    assert [v.heading for v in more.vehicles] == ["登録車両"]
    assert any("自動車検査証" in a for a in more.attachments) and any("セットアップ証明書" in a for a in more.attachments)
    assert [r.label for r in more.details.rows if r.by_hand] == ["車載器管理番号（19桁）"]


def test_loss_report_has_the_day_lost_and_boxes_for_the_police_report():
    form = fill("loss", note="SA駐車場で車上荒らし")
    assert form.details.value("紛失・盗難日") == "2026年9月10日"
    assert form.details.value("紛失・盗難の場所と状況") == "SA駐車場で車上荒らし"
    assert {r.label for r in form.details.rows if r.by_hand} == {"届出をした警察署", "受理番号"}
    assert any("FAX" in r for r in form.remarks) and any("使用者ごとに1枚" in r for r in form.remarks)
    blank = fill("loss")
    assert [r.by_hand for r in blank.details.rows if r.label == "紛失・盗難の場所と状況"] == [True]


def test_reissue_after_a_loss_or_for_a_damaged_card():
    after_loss = fill("reissue", day=dt.date(2026, 9, 20), new_card=NEW_CARD, loss_before=dt.date(2026, 9, 10))
    assert after_loss.details.value("再発行の理由") == "紛失・盗難（2026年9月10日に紛失届）"
    assert after_loss.details.value("新カード番号") == "901100-0000-00002-9"
    assert after_loss.details.value("新カードの有効期限") == "2029年4月30日（券面 29年04月）"
    assert after_loss.attachments == ()
    damaged = fill("reissue", new_card=NEW_CARD)
    assert damaged.details.value("再発行の理由") == "破損・磁気不良・ICチップ不良等"
    assert any("使えなくなったカード" in a for a in damaged.attachments)


def test_vehicle_change_shows_both_vehicles_and_the_new_card_when_known():
    waiting = fill("vehicle_change", day=dt.date(2026, 10, 1), new_vehicle=VAN)
    assert [(v.heading, v.region, v.serial) for v in waiting.vehicles] == [
        ("入替前の車両", "品川", "12-34"), ("入替後の車両", "尾張小牧", "・・12")]
    assert waiting.details.value("入替日") == "2026年10月1日"
    assert waiting.details.value("新カード番号") == "（新カード到着前）"
    assert any(a.startswith("入替後の車両の自動車検査証") for a in waiting.attachments)
    arrived = fill("vehicle_change", new_vehicle=VAN, new_card=NEW_CARD)
    assert arrived.details.value("新カード番号") == "901100-0000-00002-9"


def test_cancellation_returns_the_card_unless_it_was_lost():
    returned = fill("cancel", day=dt.date(2026, 11, 1))
    assert returned.details.value("解約日（返却日）") == "2026年11月1日"
    assert returned.details.value("返却理由").startswith("減車")
    assert returned.details.value("返却するカード") == "901100-0000-00001-1"
    assert returned.attachments == ("返却するカード（届と同封して郵送）",)
    lost = fill("cancel", loss_before=dt.date(2026, 9, 10))
    assert lost.details.value("返却するカード") == "なし（2026年9月10日に紛失届済み）" and lost.attachments == ()


def test_renewal_with_a_new_number_and_renewal_in_place():
    renewed = CardInfo("9011000000000110", "corporate", dt.date(2026, 11, 5), dt.date(2034, 4, 30))
    with_number = fill("renewal", day=dt.date(2026, 11, 5), new_card=renewed)
    assert with_number.details.value("旧有効期限") == "2029年4月30日（券面 29年04月）"
    assert with_number.details.value("新有効期限") == "2034年4月30日（券面 34年04月）"
    assert with_number.details.value("新カード番号") == "901100-0000-00011-0"
    # renewed in place: the card already carries the new expiry; the old one is 5 years earlier
    in_place = fill("renewal", card=CardInfo(CARD.number, "corporate", CARD.valid_from, dt.date(2034, 4, 30)))
    assert in_place.details.value("旧有効期限") == "2029年4月30日（券面 29年04月）"
    assert in_place.details.value("新有効期限") == "2034年4月30日（券面 34年04月）"
    assert in_place.details.value("新カード番号") == "（番号の変更なし）"


def test_renewal_list_form_computes_the_next_expiry():
    form = fill_renewal_form(RenewalSource(7, CARD, MEMBER, TRUCK), OPERATOR, TODAY)
    assert form.kind.code == EXCHANGE_APPLICATION and form.reference == "カード更新（更新予定カード一覧）"
    assert form.details.value("現在の有効期限") == "2029年4月30日（券面 29年04月）"
    assert form.details.value("更新後の有効期限") == "2034年4月30日（券面 34年04月）"
    assert [v.serial for v in form.vehicles] == ["12-34"]


def test_every_sheet_says_it_is_not_the_official_form():
    for kind in ("issue", "loss", "reissue", "cancel", "renewal"):
        assert any("公式様式ではありません" in r for r in fill(kind).remarks)


# ── dates ────────────────────────────────────────────────────────────────────────────────────────

def test_dates_as_printed():
    assert Dates().day(dt.date(2026, 1, 5)) == "2026年1月5日" and Dates().day(None) == ""
    assert Dates().expiry(dt.date(2031, 3, 31)) == "2031年3月31日（券面 31年03月）"
    assert Dates("wareki").day(dt.date(2019, 5, 1)) == "令和元年5月1日"
    # the card itself prints its expiry as YY年MM月 of the western year, whatever the operator's style
    assert Dates("wareki").expiry(dt.date(2031, 3, 31)) == "令和13年3月31日（券面 31年03月）"


def test_an_operator_printing_wareki_gets_wareki_dates_on_the_forms():
    wareki = OperatorInfo("東京運輸事業協同組合", "組合員", date_style="wareki")
    form = fill_event_form(event("loss"), wareki, TODAY)
    assert form.created_text == "令和8年11月20日"
    assert form.details.value("紛失・盗難日") == "令和8年9月10日"
    assert form.card.value("有効期限") == "令和11年4月30日（券面 29年04月）"
    renewal = fill_renewal_form(RenewalSource(7, CARD, MEMBER, TRUCK), wareki, TODAY)
    assert renewal.details.value("更新後の有効期限") == "令和16年4月30日（券面 34年04月）"


@pytest.mark.parametrize("today, months, deadline", [
    (dt.date(2026, 11, 15), 6, dt.date(2027, 5, 31)),
    (dt.date(2026, 11, 30), 1, dt.date(2026, 12, 31)),
    (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
    (dt.date(2027, 12, 1), 2, dt.date(2028, 2, 29)),
    (dt.date(2026, 7, 1), 24, dt.date(2028, 7, 31)),
])
def test_renewal_deadline_is_the_end_of_the_month_n_months_on(today, months, deadline):
    assert renewal_deadline(today, months) == deadline


def test_renewed_expiry_and_back():
    assert renewed_valid_until(dt.date(2027, 3, 31)) == dt.date(2032, 3, 31)
    assert renewed_valid_until(dt.date(2028, 2, 29)) == dt.date(2033, 2, 28)
    assert expiry_before_renewal(dt.date(2032, 3, 31)) == dt.date(2027, 3, 31)
    assert expiry_before_renewal(dt.date(2033, 2, 28)) == dt.date(2028, 2, 29)


@pytest.mark.parametrize("typed, months", [(None, 6), ("", 6), ("3", 3), (" 12 ", 12), ("24", 24)])
def test_months_of_the_renewal_list(typed, months):
    assert parse_months(typed) == months


@pytest.mark.parametrize("typed", ["0", "25", "-1", "abc", "1.5"])
def test_bad_months_are_refused_in_japanese(typed):
    with pytest.raises(DomainError, match="1〜24の数字"):
        parse_months(typed)


# ── rendering ────────────────────────────────────────────────────────────────────────────────────

def test_member_input_is_escaped_in_the_html():
    evil = MemberInfo("M9", "<b>悪意</b>&株式会社")
    html = forms_html([fill_event_form(event("loss", member=evil), OPERATOR, TODAY)])
    assert "&lt;b&gt;悪意&lt;/b&gt;&amp;株式会社" in html and "<b>悪意" not in html


def test_one_pdf_page_per_form_even_with_overlong_input():
    long_member = MemberInfo("M0002", "株式会社髙崎運輸" * 12, "タカサキ" * 20, "370-0001", "群馬県高崎市中居町一丁目" * 16)
    forms = [fill("loss", note="サービスエリアで車上荒らし。" * 14, member=long_member),
             fill("vehicle_change", new_vehicle=VAN), fill_renewal_form(RenewalSource(7, CARD, MEMBER, TRUCK),
                                                                         OPERATOR, TODAY)]
    data = forms_pdf(forms)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 3
    titles = [page.extract_text() for page in reader.pages]
    assert "紛失・盗難届" in titles[0] and "登録車両入替届" in titles[1] and "交換申込" in titles[2]


def test_no_forms_no_pdf():
    with pytest.raises(ValueError):
        forms_pdf([])

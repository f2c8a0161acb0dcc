"""Issue 9 items 1–4 and 6: forms say which member or card they are for, offer only its cards and
vehicles, preselect nothing, take card numbers as printed, and return to the page they came from."""
import json
import re

from sqlalchemy import select

from app.models import Card, CardEvent, Vehicle

from .test_cards import LOSS, LOST, make_member, make_vehicle, new_card, record

N_A1, N_A2, N_B1 = "9011000000000011", "9011000000000029", "9011000000000037"


def text(response):
    return response.get_data(as_text=True)


def options(page: str, field: str) -> list[tuple[str, bool]]:
    """(value, selected) of a select box's options."""
    select_html = re.search(rf'<select[^>]*id="{field}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return [(value, "selected" in attrs) for attrs, value in
            re.findall(r'<option([^>]*?)value="([^"]*)"', select_html)]


def title(page: str) -> str:
    return re.search(r'<h4 class="panel-title">(.*?)</h4>', page, re.S).group(1).strip()


def two_members(db):
    a, b = make_member(db, "M0001", "株式会社山田運輸"), make_member(db, "M0002", "髙橋物流有限会社", "タカハシブツリュウ")
    va, vb = make_vehicle(db, a, 1234), make_vehicle(db, b, 5678, "練馬")
    ca1, _ = new_card(db, a, va, N_A1)
    va2 = make_vehicle(db, a, 4321)
    ca2, _ = new_card(db, a, va2, N_A2)
    cb, _ = new_card(db, b, vb, N_B1)
    record(db, cb, LOSS)  # another member's already-lost card: it used to be preselected
    return a, b, ca1, ca2, cb, (va, va2, vb)


def test_event_form_from_a_member_names_it_and_offers_only_its_cards_and_vehicles(staff_client, db):
    a, b, ca1, ca2, cb, (va, va2, vb) = two_members(db)
    page = text(staff_client.get(f"/cardeventview/add?_flt_0_member={a.id}"))
    assert title(page) == "カード異動の登録（M0001 株式会社山田運輸）"
    cards = options(page, "card")
    assert cards[0] == ("__None", True)  # nothing preselected
    assert {v for v, _ in cards[1:]} == {str(ca1.id), str(ca2.id)}
    assert {v for v, _ in options(page, "new_vehicle")[1:]} == {str(va.id), str(va2.id)}
    # what the form offers is also all it accepts: another member's card is refused
    response = staff_client.post(f"/cardeventview/add?_flt_0_member={a.id}",
                                 data={"card": str(cb.id), "kind": "cancel", "occurred_on": "2026/11/20"})
    assert response.status_code == 200 and db.session.scalar(
        select(CardEvent).where(CardEvent.card_id == cb.id, CardEvent.kind == "cancel")) is None


def test_forms_opened_from_the_menu_preselect_no_member_and_no_card(staff_client, db):
    two_members(db)
    for url, field in (("/cardeventview/add", "card"), ("/vehicleview/add", "member"), ("/cardview/add", "member"),
                       ("/cardview/add", "vehicle")):
        page = text(staff_client.get(url))
        assert options(page, field)[0] == ("__None", True), (url, field)
        assert not any(selected for _, selected in options(page, field)[1:]), (url, field)
    # a required picker left blank is refused with a Japanese message, nothing saved
    before = db.session.scalar(select(Vehicle.id).order_by(Vehicle.id.desc()))
    page = text(staff_client.post("/vehicleview/add", data={
        "member": "__None", "plate_region": "品川", "plate_class_number": "100", "plate_kana": "あ",
        "plate_serial": "77", "vehicle_class": "2"}))
    assert db.session.scalar(select(Vehicle.id).order_by(Vehicle.id.desc())) == before
    assert "入力してください" in page or "選択してください" in page


def test_card_page_offers_the_events_its_state_allows_and_an_edit_button(staff_client, db):
    a, b, ca1, ca2, cb, _ = two_members(db)
    page = text(staff_client.get(f"/cardview/show/{ca1.id}"))
    assert title(page) == "カードの詳細（カード 901100-0000-00001-1・品川 100 あ 12-34・M0001 株式会社山田運輸）"
    buttons = re.findall(r'id="record-button-\d+"><i class="fa [^"]+"></i> ([^<]+)</a>', page)
    assert buttons == ["編集", "紛失・盗難", "再発行", "車両入替", "解約", "更新"]
    lost = text(staff_client.get(f"/cardview/show/{cb.id}"))
    assert re.findall(r'id="record-button-\d+"><i class="fa [^"]+"></i> ([^<]+)</a>', lost) == ["編集", "再発行", "解約"]
    href = re.search(r'href="([^"]+)" class="btn btn-sm btn-default" id="record-button-\d+"><i class="fa [^"]+"></i> 紛失・盗難',
                     page).group(1).replace("&amp;", "&")
    form = text(staff_client.get(href))
    assert title(form) == "カード異動の登録（カード 901100-0000-00001-1・品川 100 あ 12-34・M0001 株式会社山田運輸）"
    assert ("loss", True) in options(form, "kind")
    assert 'id="card"' not in form  # the card is the page's: not a picker
    response = staff_client.post(href, data={"kind": "loss", "occurred_on": "R8.11.20"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cardview/show/{ca1.id}")
    db.session.expire_all()
    assert db.session.get(Card, ca1.id).status == LOST


def test_member_page_has_an_edit_button_that_returns_to_it(staff_client, db):
    a, *_ = two_members(db)
    page = text(staff_client.get(f"/memberview/show/{a.id}"))
    assert title(page) == "組合員の詳細（M0001 株式会社山田運輸）"
    href = re.search(r'href="([^"]+)" class="btn btn-sm btn-default" id="record-button-1"><i class="fa fa-edit"></i> 編集',
                     page).group(1).replace("&amp;", "&")
    assert href.startswith(f"/memberview/edit/{a.id}?next=")
    form = text(staff_client.get(href))
    assert title(form) == "組合員の編集（M0001 株式会社山田運輸）"
    assert f'href="/memberview/show/{a.id}"' in form  # 戻る goes back to the member, not FAB's history


def test_a_form_returns_to_the_page_that_opened_it(staff_client, db):
    a, *_ = two_members(db)
    member_page = f"/memberview/show/{a.id}"
    # opened from the member's page: the way back is put into the form's URL
    opened = staff_client.get(f"/vehicleview/add?_flt_0_member={a.id}", headers={"Referer": f"http://localhost{member_page}"})
    assert opened.status_code == 302
    form_url = opened.headers["Location"]
    assert "next=%2Fmemberview%2Fshow%2F" in form_url
    data = {"plate_region": "品川", "plate_class_number": "100", "plate_kana": "あ", "plate_serial": "55",
            "vehicle_class": "2"}
    saved = staff_client.post(form_url, data=data)
    assert saved.status_code == 302 and saved.headers["Location"] == member_page
    # the second vehicle the same way: the form is again for that member, and nothing else is preset
    again = text(staff_client.get(form_url))
    assert title(again) == "車両の登録（M0001 株式会社山田運輸）" and 'id="member"' not in again
    saved = staff_client.post(form_url, data={**data, "plate_serial": "56"})
    assert saved.headers["Location"] == member_page
    assert db.session.scalars(select(Vehicle.plate_serial).where(Vehicle.member_id == a.id)).all().count(56) == 1
    # an edit opened from a filtered list returns to that list with its filters
    vehicle = db.session.scalar(select(Vehicle).where(Vehicle.plate_serial == 55))
    listing = "/vehicleview/list/?_flt_0_plate_region=品川"
    opened = staff_client.get(f"/vehicleview/edit/{vehicle.id}", headers={"Referer": f"http://localhost{listing}"})
    saved = staff_client.post(opened.headers["Location"], data={**data, "member": str(a.id), "plate_serial": "57"})
    assert saved.status_code == 302 and saved.headers["Location"] == "/vehicleview/list/?_flt_0_plate_region=%E5%93%81%E5%B7%9D"


def test_only_a_path_of_this_site_is_followed(staff_client, db):
    a, *_ = two_members(db)
    data = {"plate_region": "品川", "plate_class_number": "100", "plate_kana": "あ", "plate_serial": "66",
            "vehicle_class": "2"}
    for i, bad in enumerate(("//evil.example/x", "https://evil.example/", "javascript:alert(1)",
                             "http://evil.example/memberview")):
        saved = staff_client.post(f"/vehicleview/add?_flt_0_member={a.id}&next={bad}", data={**data, "plate_serial": str(60 + i)})
        assert saved.status_code == 302 and saved.headers["Location"] == f"/memberview/show/{a.id}", bad


def test_card_number_as_printed_is_accepted_in_forms_and_search(staff_client, db):
    a, b, ca1, ca2, cb, (va, va2, vb) = two_members(db)
    page = text(staff_client.get("/cardview/add"))
    assert not re.search(r'<input[^>]*id="number"[^>]*maxlength', page)
    printed = "９０１１２１－００００－０００１１－１"
    response = staff_client.post("/cardview/add", data={
        "number": printed, "kind": "corporate", "issuer": "NEXCO", "member": str(a.id), "vehicle": str(va2.id),
        "valid_from": "2026/04/01", "registration": "fee"})
    assert response.status_code == 302, text(response)[:3000]
    assert db.session.scalar(select(Card).where(Card.number == "9011210000000111")) is not None
    # the reissue's new number typed as printed
    form = text(staff_client.get(f"/cardeventview/add?_flt_0_card={cb.id}&kind=reissue"))
    assert not re.search(r'<input[^>]*id="new_card_number"[^>]*maxlength', form)
    response = staff_client.post(f"/cardeventview/add?_flt_0_card={cb.id}",
                                 data={"kind": "reissue", "occurred_on": "2026/11/21", "new_card_number": "901100-0000-00004-5"})
    assert response.status_code == 302, text(response)[:3000]
    assert db.session.scalar(select(Card).where(Card.number == "9011000000000045")) is not None
    # list search: the printed number finds the card
    listing = text(staff_client.get("/cardview/list/?_flt_0_number=901100-0000-00002-9"))
    assert "901100-0000-00002-9" in listing and "901100-0000-00001-1" not in listing


def test_the_same_plate_twice_keeps_the_form_with_a_japanese_message(staff_client, db):
    a, *_ = two_members(db)
    data = {"member": str(a.id), "plate_region": "品川", "plate_class_number": "100", "plate_kana": "あ",
            "plate_serial": "12-34", "vehicle_class": "2"}
    response = staff_client.post("/vehicleview/add", data=data)
    page = text(response)
    assert response.status_code == 200 and "この車両番号（地名・分類番号・ひらがな・一連番号）の車両は既に登録されています" in page
    assert re.search(r'id="plate_serial"[^>]*value="1234"', page)  # the input is kept
    assert len(db.session.scalars(select(Vehicle).where(Vehicle.plate_serial == 1234)).all()) == 1


def delete_questions(page: str) -> list[str]:
    """The delete buttons' questions (JSON strings in the page's script)."""
    return [json.loads(q) for q in re.findall(r"execute_single_delete\('[^']+', (\"[^\"]*\")\)", page)]


def test_delete_confirmations_name_the_record(staff_client, db):
    two_members(db)
    questions = delete_questions(text(staff_client.get("/vehicleview/list/")))
    assert "「品川 100 あ 12-34 M0001 株式会社山田運輸」を削除します。よろしいですか？" in questions
    assert len(questions) == 3


def test_delete_confirmation_of_an_import_names_its_file_month_and_rows(staff_client, db):
    from app.models import ImportBatch
    from app.models.usage import ImportProfile

    profile = db.session.scalar(select(ImportProfile).limit(1))
    batch = ImportBatch(file_name="2026年10月分.csv", sha256="0" * 64, profile_id=profile.id, usage_month="2026-10",
                        row_count=1234, total_billed=0, flagged_count=0, status="active", imported_by="jimu")
    db.session.add(batch)
    db.session.commit()
    questions = delete_questions(text(staff_client.get("/importbatchview/list/")))
    assert questions == [f"取込#{batch.id}（2026年10月分.csv・2026年10月分・1,234件）の走行明細を削除します。"
                         "取込の記録は「削除済」として残ります。よろしいですか？"]


def test_who_did_it_reads_as_a_name_or_a_task_not_a_command(app, staff_client, db):
    """Issue 9 item 11: 登録者 / 取込者 / 操作履歴 show the person's name, or the command's task."""
    from app.extensions import appbuilder
    from app.labels import actor_label

    with app.test_request_context():
        assert actor_label("flask etc demo") == "デモデータの登録（コマンド）"
        assert actor_label("flask etc close（tanaka）") == "締め（コマンド・tanaka）"
        assert actor_label("flask etc something-new") == "自動処理（コマンド）"
        assert actor_label("nobody-known") == "nobody-known"
    user = appbuilder.sm.find_user(username="staff")
    user.first_name, user.last_name = "事務", "花子"
    db.session.commit()
    try:
        a, b, ca1, *_ = two_members(db)
        event = record(db, ca1, LOSS)
        event.entered_by = "staff"
        for other in db.session.scalars(select(CardEvent).where(CardEvent.id != event.id)):
            other.entered_by = "flask etc demo"
        db.session.commit()
        page = text(staff_client.get("/cardeventview/list/"))
        cells = [c.strip() for c in re.findall(r"<td>([^<]*)</td>", page)]
        assert "事務 花子" in cells and "デモデータの登録（コマンド）" in cells
        assert "flask etc" not in page
    finally:  # the test users keep their names for the other tests
        db.session.rollback()
        user = appbuilder.sm.find_user(username="staff")
        user.first_name, user.last_name = "staff", ""
        db.session.commit()

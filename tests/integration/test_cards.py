"""Cards and card events (カード異動) through app.services.cards and through the staff screens."""
import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.domain.card_lifecycle import (ACTIVE, ADD, CANCEL, CANCELLED, EXPIRED, ISSUE, LOSS, LOST, REISSUE,
                                       REISSUED, RENEWAL, VEHICLE_CHANGE)
from app.domain.errors import DomainError
from app.models import Card, CardEvent, Member, Vehicle
from app.services.actor import acting_as
from app.services.cards import apply_card_event, prepare_new_card

ACTOR = "tester-cards"
N1, N2, N3, N4 = "9011000000000011", "9011000000000029", "9011000000000037", "9011000000000045"
FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


def make_member(db, code="M0001", name="株式会社山田運輸", kana="ヤマダウンユ"):
    with acting_as(ACTOR):
        member = Member(code=code, name=name, kana=kana, payment_method="direct_debit", status="active")
        db.session.add(member)
        db.session.commit()
    return member


def make_vehicle(db, member, serial=1234, region="品川"):
    with acting_as(ACTOR):
        vehicle = Vehicle(member=member, plate_region=region, plate_class_number="100", plate_kana="あ",
                          plate_serial=serial, vehicle_class=2)
        db.session.add(vehicle)
        db.session.commit()
    return vehicle


def new_card(db, member, vehicle, number=N1, kind="corporate", valid_from=dt.date(2024, 4, 10), **extra):
    with acting_as(ACTOR):
        card = Card(number=number, kind=kind, issuer="NEXCO" if kind == "corporate" else "テスト信販",
                    member=member, vehicle=vehicle, valid_from=valid_from, **extra)
        event = prepare_new_card(db.session, card)
        db.session.commit()
    return card, event


def record(db, card, kind, occurred_on=dt.date(2026, 11, 10), **extra):
    with acting_as(ACTOR):
        event = CardEvent(card=card, kind=kind, occurred_on=occurred_on, **extra)
        apply_card_event(db.session, event)
        db.session.commit()
    return event


def count(db, model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture()
def member(db):
    return make_member(db)


@pytest.fixture()
def vehicle(db, member):
    return make_vehicle(db, member)


# ---- services -------------------------------------------------------------------------------------

def test_first_card_is_issued_and_the_second_is_added(db, member, vehicle):
    card, event = new_card(db, member, vehicle)
    db.session.expire_all()
    stored = db.session.get(Card, card.id)
    assert stored.number == N1
    assert stored.status == ACTIVE
    assert stored.issuer == "NEXCO"
    assert stored.valid_until == dt.date(2029, 4, 30)  # 5 years, to the end of the month
    events = db.session.scalars(select(CardEvent).where(CardEvent.card_id == card.id)).all()
    assert [(e.kind, e.member_id, e.occurred_on, e.new_vehicle_id) for e in events] == [
        (ISSUE, member.id, dt.date(2024, 4, 10), vehicle.id)]
    assert events[0].entered_by == ACTOR
    assert events[0].fee_billed is False and events[0].billed_month is None

    second_vehicle = make_vehicle(db, member, serial=5678)
    card2, event2 = new_card(db, member, second_vehicle, number=N2)
    db.session.expire_all()
    assert db.session.get(CardEvent, event2.id).kind == ADD
    assert count(db, CardEvent) == 2


def test_first_card_of_another_member_is_an_issue_again(db, member, vehicle):
    new_card(db, member, vehicle)
    other = make_member(db, code="M0002", name="株式会社東海", kana="トウカイ")
    _, event = new_card(db, other, make_vehicle(db, other, serial=99), number=N2)
    assert db.session.get(CardEvent, event.id).kind == ISSUE


def test_formatted_number_is_stored_as_digits(db, member, vehicle):
    card, _ = new_card(db, member, vehicle, number="９０１１００－００００－００００１－１")
    db.session.expire_all()
    assert db.session.get(Card, card.id).number == N1


def test_credit_card_needs_no_vehicle(db, member):
    card, event = new_card(db, member, None, number="49801234567890", kind="credit",
                           valid_until=dt.date(2029, 12, 31))
    assert db.session.get(Card, card.id).vehicle_id is None
    assert event.kind == ISSUE


def test_corporate_card_without_vehicle_is_refused(db, member):
    with acting_as(ACTOR), pytest.raises(DomainError) as error:
        prepare_new_card(db.session, Card(number=N1, kind="corporate", issuer="NEXCO", member=member))
    assert error.value.field == "vehicle"
    assert error.value.message == "コーポレートカードには車両が必要です（1台に1枚）。"
    db.session.rollback()
    assert count(db, Card) == 0 and count(db, CardEvent) == 0


def test_corporate_card_with_another_members_vehicle_is_refused(db, member):
    other = make_member(db, code="M0002", name="株式会社東海", kana="トウカイ")
    foreign = make_vehicle(db, other, serial=77)
    with acting_as(ACTOR), pytest.raises(DomainError, match="車両が別の組合員のものです。"):
        prepare_new_card(db.session, Card(number=N1, kind="corporate", member=member, vehicle=foreign))
    db.session.rollback()
    assert count(db, Card) == 0


def test_duplicate_number_is_refused(db, member, vehicle):
    new_card(db, member, vehicle)
    other_vehicle = make_vehicle(db, member, serial=5678)
    with acting_as(ACTOR), pytest.raises(DomainError) as error:
        prepare_new_card(db.session, Card(number="901100-0000-00001-1", kind="corporate", member=member,
                                          vehicle=other_vehicle))
    assert error.value.message == f"カード番号 {N1} は既に登録されています。"
    db.session.rollback()
    assert count(db, Card) == 1 and count(db, CardEvent) == 1


def test_valid_until_before_valid_from_is_refused(db, member, vehicle):
    with acting_as(ACTOR), pytest.raises(DomainError, match="有効期限が有効開始日より前です。"):
        prepare_new_card(db.session, Card(number=N1, kind="corporate", member=member, vehicle=vehicle,
                                          valid_from=dt.date(2026, 1, 1), valid_until=dt.date(2025, 1, 1)))
    db.session.rollback()
    assert count(db, Card) == 0


def test_loss_marks_the_card_lost(db, member, vehicle):
    card, _ = new_card(db, member, vehicle)
    event = record(db, card, LOSS, occurred_on=dt.date(2026, 11, 3))
    db.session.expire_all()
    stored = db.session.get(Card, card.id)
    assert (stored.status, stored.status_changed_on) == (LOST, dt.date(2026, 11, 3))
    stored_event = db.session.get(CardEvent, event.id)
    assert stored_event.kind == LOSS
    assert stored_event.member_id == member.id
    assert stored_event.old_vehicle_id == vehicle.id
    assert stored_event.new_card_id is None
    assert stored_event.entered_by == ACTOR
    assert stored_event.fee_billed is False


def test_reissue_after_loss_creates_a_linked_successor(db, member, vehicle):
    card, _ = new_card(db, member, vehicle)
    record(db, card, LOSS, occurred_on=dt.date(2026, 11, 3))
    event = record(db, card, REISSUE, occurred_on=dt.date(2026, 11, 12), new_card_number="901100-0000-00002-9")
    db.session.expire_all()
    old = db.session.get(Card, card.id)
    successor = db.session.scalar(select(Card).where(Card.number == N2))
    assert (old.status, old.status_changed_on) == (REISSUED, dt.date(2026, 11, 12))
    assert successor.replaces_card_id == old.id
    assert old.successors == [successor]
    assert successor.status == ACTIVE
    assert successor.member_id == member.id and successor.vehicle_id == vehicle.id
    assert successor.valid_from == dt.date(2026, 11, 12)
    assert successor.valid_until == old.valid_until == dt.date(2029, 4, 30)
    stored_event = db.session.get(CardEvent, event.id)
    assert stored_event.card_id == old.id and stored_event.new_card_id == successor.id
    assert stored_event.new_card_number == N2  # stored as digits (String(16); PostgreSQL enforces it)
    assert stored_event.entered_by == ACTOR and stored_event.fee_billed is False
    # the reissue is recorded on the old card only; the successor has no 'issue' event
    assert count(db, CardEvent, CardEvent.card_id == successor.id) == 0
    assert count(db, CardEvent) == 3


def test_reissue_to_an_existing_number_is_refused(db, member, vehicle):
    card, _ = new_card(db, member, vehicle)
    new_card(db, member, make_vehicle(db, member, serial=5678), number=N2)
    with acting_as(ACTOR), pytest.raises(DomainError, match="既に登録されています"):
        apply_card_event(db.session, CardEvent(card=card, kind=REISSUE, occurred_on=dt.date(2026, 11, 1),
                                               new_card_number=N2))
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Card, card.id).status == ACTIVE
    assert count(db, Card) == 2 and count(db, CardEvent) == 2


def test_vehicle_change_moves_the_card_to_the_new_vehicle(db, member, vehicle):
    card, _ = new_card(db, member, vehicle)
    truck = make_vehicle(db, member, serial=5678)
    event = record(db, card, VEHICLE_CHANGE, new_vehicle=truck)
    db.session.expire_all()
    stored = db.session.get(Card, card.id)
    assert stored.vehicle_id == truck.id
    assert stored.status == ACTIVE and stored.status_changed_on is None
    stored_event = db.session.get(CardEvent, event.id)
    assert (stored_event.old_vehicle_id, stored_event.new_vehicle_id) == (vehicle.id, truck.id)
    assert stored_event.new_card_id is None
    assert count(db, Card) == 1


def test_vehicle_change_with_a_new_number_creates_a_successor_on_the_new_vehicle(db, member, vehicle):
    card, _ = new_card(db, member, vehicle)
    truck = make_vehicle(db, member, serial=5678)
    event = record(db, card, VEHICLE_CHANGE, new_vehicle=truck, new_card_number=N3)
    db.session.expire_all()
    old = db.session.get(Card, card.id)
    successor = db.session.scalar(select(Card).where(Card.number == N3))
    assert old.status == REISSUED and old.vehicle_id == vehicle.id
    assert successor.vehicle_id == truck.id and successor.replaces_card_id == old.id
    assert successor.status == ACTIVE
    assert db.session.get(CardEvent, event.id).new_card_id == successor.id


def test_vehicle_change_to_another_members_vehicle_is_refused(db, member, vehicle):
    card, _ = new_card(db, member, vehicle)
    other = make_member(db, code="M0002", name="株式会社東海", kana="トウカイ")
    foreign = make_vehicle(db, other, serial=77)
    with acting_as(ACTOR), pytest.raises(DomainError, match="入替後の車両が別の組合員のものです。"):
        apply_card_event(db.session, CardEvent(card=card, kind=VEHICLE_CHANGE, occurred_on=dt.date(2026, 11, 1),
                                               new_vehicle=foreign))
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Card, card.id).vehicle_id == vehicle.id
    assert count(db, CardEvent) == 1


@pytest.mark.parametrize("first", [None, LOSS])
def test_cancel_from_active_or_lost(db, member, vehicle, first):
    card, _ = new_card(db, member, vehicle)
    if first:
        record(db, card, first, occurred_on=dt.date(2026, 11, 1))
    record(db, card, CANCEL, occurred_on=dt.date(2026, 11, 20))
    db.session.expire_all()
    stored = db.session.get(Card, card.id)
    assert (stored.status, stored.status_changed_on) == (CANCELLED, dt.date(2026, 11, 20))


def test_renewal_extends_valid_until_by_five_years(db, member, vehicle):
    card, _ = new_card(db, member, vehicle, valid_from=dt.date(2022, 3, 10))
    assert card.valid_until == dt.date(2027, 3, 31)
    record(db, card, RENEWAL, occurred_on=dt.date(2027, 2, 15))
    db.session.expire_all()
    stored = db.session.get(Card, card.id)
    assert stored.status == ACTIVE
    assert stored.valid_until == dt.date(2032, 3, 31)


def test_renewal_with_a_new_number_expires_the_old_card(db, member, vehicle):
    card, _ = new_card(db, member, vehicle, valid_from=dt.date(2022, 3, 10))
    record(db, card, RENEWAL, occurred_on=dt.date(2027, 2, 15), new_card_number=N4)
    db.session.expire_all()
    old = db.session.get(Card, card.id)
    successor = db.session.scalar(select(Card).where(Card.number == N4))
    assert old.status == EXPIRED and old.valid_until == dt.date(2027, 3, 31)
    assert successor.replaces_card_id == old.id
    assert (successor.valid_from, successor.valid_until) == (dt.date(2027, 2, 15), dt.date(2032, 3, 31))


@pytest.mark.parametrize("kind, extra", [
    (LOSS, {}), (CANCEL, {}), (RENEWAL, {}), (REISSUE, {"new_card_number": N4}),
])
def test_forbidden_transitions_on_a_cancelled_card_change_nothing(db, member, vehicle, kind, extra):
    card, _ = new_card(db, member, vehicle)
    record(db, card, CANCEL, occurred_on=dt.date(2026, 11, 1))
    before = (count(db, Card), count(db, CardEvent))
    with acting_as(ACTOR), pytest.raises(DomainError) as error:
        apply_card_event(db.session, CardEvent(card=card, kind=kind, occurred_on=dt.date(2026, 12, 1), **extra))
    assert error.value.message.startswith("解約のカードに「")
    assert card.status == CANCELLED  # untouched in memory too
    db.session.rollback()
    db.session.expire_all()
    stored = db.session.get(Card, card.id)
    assert (stored.status, stored.status_changed_on) == (CANCELLED, dt.date(2026, 11, 1))
    assert (count(db, Card), count(db, CardEvent)) == before


def test_forbidden_transition_leaves_nothing_behind_even_if_the_caller_commits(db, member, vehicle):
    card, _ = new_card(db, member, vehicle)
    record(db, card, LOSS)
    with acting_as(ACTOR), pytest.raises(DomainError, match="紛失・盗難のカードに「紛失・盗難」は登録できません。"):
        apply_card_event(db.session, CardEvent(card=card, kind=LOSS, occurred_on=dt.date(2026, 12, 1)))
    with acting_as(ACTOR):
        db.session.commit()
    assert count(db, CardEvent) == 2


def test_issue_cannot_be_recorded_as_an_event(db, member, vehicle):
    card, _ = new_card(db, member, vehicle)
    with acting_as(ACTOR), pytest.raises(DomainError, match="新規・追加発行はカードの登録で記録されます。"):
        apply_card_event(db.session, CardEvent(card=card, kind=ISSUE, occurred_on=dt.date(2026, 12, 1)))
    db.session.rollback()
    assert count(db, CardEvent) == 1


# ---- screens --------------------------------------------------------------------------------------

def _fields(html):
    return set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', html))


def test_card_add_form_fields(staff_client):
    html = staff_client.get("/cardview/add").get_data(as_text=True)
    assert {"number", "kind", "issuer", "member", "vehicle", "valid_from", "valid_until", "note"} <= _fields(html)
    assert "status" not in _fields(html)


def test_staff_adds_a_card_through_the_screen(staff_client, db, member, vehicle):
    response = staff_client.post("/cardview/add", data={
        "number": "901100-0000-00001-1", "kind": "corporate", "issuer": "", "member": str(member.id),
        "vehicle": str(vehicle.id), "valid_from": "2025-06-15", "valid_until": "", "note": "画面から"},
        follow_redirects=True)
    assert response.status_code == 200
    db.session.expire_all()
    card = db.session.scalar(select(Card).where(Card.number == N1))
    assert card is not None
    assert (card.kind, card.issuer, card.member_id, card.vehicle_id) == ("corporate", "NEXCO", member.id, vehicle.id)
    assert (card.valid_from, card.valid_until, card.status) == (dt.date(2025, 6, 15), dt.date(2030, 6, 30), ACTIVE)
    events = db.session.scalars(select(CardEvent).where(CardEvent.card_id == card.id)).all()
    assert [(e.kind, e.entered_by, e.fee_billed) for e in events] == [(ISSUE, "staff", False)]


def test_invalid_card_number_shows_the_japanese_error_and_saves_nothing(staff_client, db, member, vehicle):
    response = staff_client.post("/cardview/add", data={
        "number": "9011-ABCD-0000-0011", "kind": "corporate", "member": str(member.id),
        "vehicle": str(vehicle.id), "valid_from": "2025-06-15"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "カード番号「9011-ABCD-0000-0011」に数字以外の文字が含まれています。" in html
    assert 'value="9011-ABCD-0000-0011"' in html  # the form stays with the input
    db.session.expire_all()
    assert count(db, Card) == 0 and count(db, CardEvent) == 0


def test_short_corporate_number_shows_the_digit_count(staff_client, db, member, vehicle):
    response = staff_client.post("/cardview/add", data={
        "number": "901100000000001", "kind": "corporate", "member": str(member.id), "vehicle": str(vehicle.id)},
        follow_redirects=True)
    assert "カード番号は16桁の数字です（入力は15桁）。" in response.get_data(as_text=True)
    assert count(db, Card) == 0


def test_corporate_card_without_vehicle_on_the_screen_keeps_the_form(staff_client, db, member):
    response = staff_client.post("/cardview/add", data={
        "number": N1, "kind": "corporate", "member": str(member.id), "vehicle": "", "valid_from": "2025-06-15"},
        follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "コーポレートカードには車両が必要です（1台に1枚）。" in html
    assert f'value="{N1}"' in html
    db.session.expire_all()
    assert count(db, Card) == 0 and count(db, CardEvent) == 0


def test_card_event_form_fields(staff_client):
    html = staff_client.get("/cardeventview/add").get_data(as_text=True)
    assert {"card", "kind", "occurred_on", "new_card_number", "new_vehicle", "note"} <= _fields(html)
    assert 'value="issue"' not in html and 'value="add"' not in html  # recorded by card registration only


def test_staff_records_a_loss_through_the_screen(staff_client, db, member, vehicle):
    card, _ = new_card(db, member, vehicle)
    response = staff_client.post("/cardeventview/add", data={
        "card": str(card.id), "kind": LOSS, "occurred_on": "2026-11-03", "new_card_number": "",
        "new_vehicle": "", "note": "紛失届"}, follow_redirects=True)
    assert response.status_code == 200
    db.session.expire_all()
    stored = db.session.get(Card, card.id)
    assert (stored.status, stored.status_changed_on) == (LOST, dt.date(2026, 11, 3))
    event = db.session.scalar(select(CardEvent).where(CardEvent.kind == LOSS))
    assert (event.card_id, event.member_id, event.entered_by, event.fee_billed, event.note) == (
        card.id, member.id, "staff", False, "紛失届")


def test_staff_records_a_reissue_through_the_screen(staff_client, db, member, vehicle):
    card, _ = new_card(db, member, vehicle)
    staff_client.post("/cardeventview/add", data={
        "card": str(card.id), "kind": REISSUE, "occurred_on": "2026-11-05",
        "new_card_number": "901100-0000-00002-9".translate(FULL_WIDTH)}, follow_redirects=True)
    db.session.expire_all()
    assert db.session.scalar(select(CardEvent.new_card_number).where(CardEvent.kind == REISSUE)) == N2
    successor = db.session.scalar(select(Card).where(Card.number == N2))
    assert successor is not None and successor.replaces_card_id == card.id
    assert db.session.get(Card, card.id).status == REISSUED


def test_forbidden_event_on_the_screen_shows_the_error_and_saves_nothing(staff_client, db, member, vehicle):
    card, _ = new_card(db, member, vehicle)
    record(db, card, CANCEL, occurred_on=dt.date(2026, 11, 1))
    response = staff_client.post("/cardeventview/add", data={
        "card": str(card.id), "kind": LOSS, "occurred_on": "2026-11-03"}, follow_redirects=True)
    assert "解約のカードに「紛失・盗難」は登録できません。" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Card, card.id).status == CANCELLED
    assert count(db, CardEvent) == 2


def test_editing_a_card_cannot_change_its_status(staff_client, db, member, vehicle):
    card, _ = new_card(db, member, vehicle)
    html = staff_client.get(f"/cardview/edit/{card.id}").get_data(as_text=True)
    fields = _fields(html)
    assert "status" not in fields and "number" not in fields and "member" not in fields
    assert {"issuer", "valid_until", "note"} <= fields
    response = staff_client.post(f"/cardview/edit/{card.id}", data={
        "issuer": "NEXCO中日本", "valid_from": "2024-04-10", "valid_until": "2029-04-30", "note": "編集",
        "status": CANCELLED, "number": N4, "member": "999"}, follow_redirects=True)
    assert response.status_code == 200
    db.session.expire_all()
    stored = db.session.get(Card, card.id)
    assert (stored.issuer, stored.note) == ("NEXCO中日本", "編集")
    assert (stored.status, stored.number, stored.member_id) == (ACTIVE, N1, member.id)


def test_card_events_cannot_be_edited_or_deleted(staff_client, db, member, vehicle):
    _, event = new_card(db, member, vehicle)
    edit = staff_client.post(f"/cardeventview/edit/{event.id}", data={"kind": CANCEL})
    delete = staff_client.post(f"/cardeventview/delete/{event.id}")
    assert edit.status_code in (302, 403, 404, 405) and delete.status_code in (302, 403, 404, 405)
    db.session.expire_all()
    assert db.session.get(CardEvent, event.id).kind == ISSUE


def test_bad_new_card_number_on_the_event_screen_shows_the_japanese_error(staff_client, db, member, vehicle):
    card, _ = new_card(db, member, vehicle)
    response = staff_client.post("/cardeventview/add", data={
        "card": str(card.id), "kind": REISSUE, "occurred_on": "2026-11-05", "new_card_number": "901100-0000-0002-9"},
        follow_redirects=True)
    assert "カード番号は16桁の数字です（入力は15桁）。" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Card, card.id).status == ACTIVE
    assert count(db, Card) == 1 and count(db, CardEvent) == 1

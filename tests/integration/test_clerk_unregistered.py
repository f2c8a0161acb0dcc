"""Issue 9 item 5: 未登録カード — the owner suggested from the rows' plate, a warning before assigning a card
whose validity or vehicle does not fit the rows, and back to the list of remaining cards after each action."""
import datetime as dt
import re

from sqlalchemy import select

from app.models import Card, UsageRecord
from app.models.usage import FLAG_UNREGISTERED_CARD

from .test_cards import make_member, make_vehicle, new_card
from .test_clerk_usage_list import batch_of

UNKNOWN = "9011000000000099"


def text(response):
    return response.get_data(as_text=True)


def unknown_rows(db, plate):
    batch = batch_of(db, "unknown.csv", [(dt.datetime(2026, 10, 2, 9, 0), UNKNOWN, 1, FLAG_UNREGISTERED_CARD),
                                         (dt.datetime(2026, 10, 20, 9, 0), UNKNOWN, 1, FLAG_UNREGISTERED_CARD)])
    for row in db.session.scalars(select(UsageRecord).where(UsageRecord.batch_id == batch.id)):
        row.plate = plate
    db.session.commit()
    return batch


def test_registering_suggests_the_owner_from_the_plate(staff_client, db):
    a, b = make_member(db, "M0001", "株式会社山田運輸"), make_member(db, "M0002", "髙橋物流有限会社", "タカハシ")
    make_vehicle(db, a, 1234)
    vb = make_vehicle(db, b, 5678, "練馬")
    unknown_rows(db, "練馬 100 あ 56-78")
    listing = "/usage/unregistered/?month=2026-10"
    opened = staff_client.get(f"/cardview/add?number={UNKNOWN}", headers={"Referer": f"http://localhost{listing}"})
    page = text(staff_client.get(opened.headers["Location"]))
    assert "走行明細の車両番号 練馬 100 あ 56-78 から、M0002 髙橋物流有限会社 の車両と推定して選んであります" in page
    assert re.search(rf'<option selected value="{b.id}">', page) and re.search(rf'<option selected value="{vb.id}">', page)
    saved = staff_client.post(opened.headers["Location"], data={
        "number": UNKNOWN, "kind": "corporate", "issuer": "NEXCO", "member": str(b.id), "vehicle": str(vb.id),
        "valid_from": "2026/04/01", "registration": "registration_only"})
    assert saved.status_code == 302 and saved.headers["Location"] == listing  # back to the remaining cards
    assert db.session.scalar(select(Card).where(Card.number == UNKNOWN)).member_id == b.id


def test_assigning_a_card_that_does_not_fit_warns_first(staff_client, db):
    a = make_member(db, "M0001", "株式会社山田運輸")
    va = make_vehicle(db, a, 1234)
    card, _ = new_card(db, a, va, "9011000000000011", valid_from=dt.date(2026, 10, 15))
    unknown_rows(db, "練馬 100 あ 56-78")
    page = text(staff_client.post("/usage/unregistered/assign/", data={"number": UNKNOWN, "card_id": str(card.id)}))
    assert "有効開始日（2026/10/15）より前の走行があります（最初の走行 2026/10/02）" in page
    assert "の車両（品川 100 あ 12-34）は、明細の車両番号（練馬 100 あ 56-78）と違います" in page
    assert 'id="assign-confirmed"' in page
    assert db.session.scalar(select(UsageRecord.card_id).where(UsageRecord.card_number == UNKNOWN).limit(1)) is None
    done = staff_client.post("/usage/unregistered/assign/",
                             data={"number": UNKNOWN, "card_id": str(card.id), "confirmed": str(card.id)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/usage/unregistered/")
    db.session.expire_all()
    assert set(db.session.scalars(select(UsageRecord.card_id).where(UsageRecord.card_number == UNKNOWN))) == {card.id}

"""issue 8 items 14 and 15: a refused delete says why, in Japanese, on every view whose delete can
be refused; deleting a vehicle no longer detaches its cards, deleting an agency no longer detaches
its members. Nothing changes and nothing is audited when a delete is refused."""
import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.models import Agency, Card, Member, Vehicle
from app.models.audit import AuditLog
from app.services.actor import acting_as
from app.services.cards import prepare_new_card
from tests.integration.test_billing_screens import KNOWN, import_file


def flashes(page: str) -> list[str]:
    return [" ".join(re.sub(r"<[^>]+>|&times;", " ", m).split())
            for m in re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', page, re.S)]


@pytest.fixture()
def master(db, tmp_path):
    from app.services.profiles import ensure_shipped_profiles

    ensure_shipped_profiles()
    with acting_as("test-setup"):
        agency = Agency(code="A1", name="代理店一")
        member = Member(code="M0001", name="品川運送", kana="シナガワ", agency=agency)
        vehicle = Vehicle(member=member, plate_region="品川", plate_class_number="300", plate_kana="あ",
                          plate_serial=1234, vehicle_class=1)
        db.session.add_all([agency, member, vehicle])
        card = Card(number="9011234567890123", kind="corporate", issuer="NEXCO", member=member, vehicle=vehicle,
                    valid_from=dt.date(2026, 4, 1))
        prepare_new_card(db.session, card)
        used = Card(number=KNOWN, kind="credit", issuer="テスト信販", member=member, valid_from=dt.date(2026, 4, 1))
        prepare_new_card(db.session, used)
        lone = Agency(code="A2", name="使われていない代理店")
        db.session.add(lone)
        db.session.commit()
        ids = {"agency": agency.id, "member": member.id, "vehicle": vehicle.id, "card": card.id, "used": used.id,
               "lone": lone.id}
    import_file(tmp_path, [f"26/10/01,06:12,26/10/01,07:05,東京,厚木,1320,0,1320,1,品川 300 あ 12-34,{KNOWN},"])
    db.session.rollback()
    return ids


def _audit_count(db):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AuditLog))


@pytest.mark.parametrize("view, key, expected", [
    ("cardview", "used", "このカードにはカード異動・走行明細があるため削除できません。"
                         "使わなくなったカードは、カード異動（解約）で止めてください。"),
    ("vehicleview", "vehicle", "この車両にはETCカード・カード異動があるため削除できません。"
                               "先にカードを別の車両へ移す（カード異動の車両入替）か、カードを解約してください。"),
    ("agencyview", "agency", "この代理店には組合員があるため削除できません。先に所属する組合員の代理店を外してください。"),
    ("memberview", "member", "この組合員には車両・ETCカード・カード異動・走行明細があるため削除できません。"
                             "やめた組合員は、状態を「脱退」にしてください。"),
])
def test_a_refused_delete_says_why_and_changes_nothing(staff_client, db, master, view, key, expected):
    before = _audit_count(db)
    page = staff_client.post(f"/{view}/delete/{master[key]}", follow_redirects=True).get_data(as_text=True)
    assert expected in flashes(page), flashes(page)
    assert all(flashes(page)), flashes(page)  # no empty box
    assert _audit_count(db) == before
    vehicle_card = db.session.get(Card, master["card"])
    assert vehicle_card.vehicle_id == master["vehicle"]  # not detached
    assert db.session.get(Member, master["member"]).agency_id == master["agency"]


def test_an_unused_row_is_still_deleted_and_audited(staff_client, db, master):
    before = _audit_count(db)
    page = staff_client.post(f"/agencyview/delete/{master['lone']}", follow_redirects=True).get_data(as_text=True)
    assert any("削除" in text for text in flashes(page)), flashes(page)
    assert db.session.get(Agency, master["lone"]) is None
    assert _audit_count(db) == before + 1


def test_a_vehicle_without_cards_can_go(staff_client, db, master):
    with acting_as("test-setup"):
        spare = Vehicle(member_id=master["member"], plate_region="品川", plate_class_number="300", plate_kana="い",
                        plate_serial=9, vehicle_class=1)
        db.session.add(spare)
        db.session.commit()
        spare_id = spare.id
    staff_client.post(f"/vehicleview/delete/{spare_id}", follow_redirects=True)
    db.session.rollback()
    assert db.session.get(Vehicle, spare_id) is None

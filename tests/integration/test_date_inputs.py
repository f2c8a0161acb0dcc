"""Date fields of the back-office forms read Japanese dates and refuse what they cannot read
(issue 9 item 13): nothing becomes today's date silently."""
import datetime as dt

from sqlalchemy import select

from app.models import Member

MEMBER = {"code": "D0001", "name": "株式会社日付運輸", "kana": "ひづけうんゆ", "payment_method": "bank_transfer",
          "status": "active", "account_type": "", "address": "東京都千代田区1-1"}


def test_a_wareki_date_is_stored_as_that_date(staff_client, db):
    response = staff_client.post("/memberview/add", data={**MEMBER, "withdrawn_on": "令和9年4月1日"},
                                 follow_redirects=True)
    assert response.status_code == 200
    member = db.session.scalar(select(Member).where(Member.code == "D0001"))
    assert member is not None and member.withdrawn_on == dt.date(2027, 4, 1)
    page = staff_client.get(f"/memberview/edit/{member.id}").get_data(as_text=True)
    assert 'value="2027/04/01"' in page


def test_an_unreadable_date_is_refused_on_the_field_and_nothing_is_saved(staff_client, db):
    response = staff_client.post("/memberview/add", data={**MEMBER, "withdrawn_on": "来年の春"})
    page = response.get_data(as_text=True)
    assert "日付「来年の春」を読めません" in page
    assert db.session.scalar(select(Member).where(Member.code == "D0001")) is None


def test_the_date_box_shows_an_example_and_keeps_the_calendar(staff_client):
    page = staff_client.get("/memberview/add").get_data(as_text=True)
    assert 'placeholder="例: 2027/04/01・R9.4.1"' in page
    assert "appbuilder_date" in page  # the calendar stays as a help

"""Issue 9 item 8: the usage list in date order with page numbers (keyset paging kept), 車種 by name,
card numbers as printed; 要確認 on the import list follows the rows as they are resolved."""
import datetime as dt
import hashlib
import re

from sqlalchemy import select

from app.models import ImportBatch, UsageRecord
from app.models.usage import FLAG_UNREGISTERED_CARD, ImportProfile
from app.views.usage import PAGE_SIZE

from .test_billing import ACTOR, make_card, make_member

MONTH = "2026-10"


def text(response):
    return response.get_data(as_text=True)


def batch_of(db, name, rows):
    """rows: (exit_at, card or number, vehicle class, flags)."""
    profile = db.session.scalar(select(ImportProfile).where(ImportProfile.name == "tollbook-csv"))
    batch = ImportBatch(file_name=name, sha256=hashlib.sha256(name.encode()).hexdigest(), profile=profile,
                        usage_month=MONTH, imported_by=ACTOR, status="active", row_count=len(rows),
                        flagged_count=sum(1 for r in rows if r[3]))
    db.session.add(batch)
    db.session.flush()
    for line_no, (exit_at, card, vehicle_class, flags) in enumerate(rows, start=1):
        known = not isinstance(card, str)
        db.session.add(UsageRecord(batch_id=batch.id, line_no=line_no, usage_month=MONTH, exit_at=exit_at,
                                   card_number=card.number if known else card, card_id=card.id if known else None,
                                   member_id=card.member_id if known else None, road_operator="NEXCO東日本",
                                   amount_billed=1000 + line_no, vehicle_class=vehicle_class, flags=flags))
    db.session.commit()
    return batch


def shown_times(page: str) -> list[str]:
    return re.findall(r"<td>(2026/10/\d\d \d\d:\d\d)</td>", page)


def test_rows_in_date_order_across_files_with_page_numbers(staff_client, db):
    member = make_member(db, "M001", "株式会社山田運輸")
    card = make_card(db, member, "9011000000000011")
    start = dt.datetime(2026, 10, 1, 6, 0)
    # the second file holds the earlier trips: id order is not date order
    late = [(start + dt.timedelta(days=15, minutes=10 * i), card, 2, 0) for i in range(PAGE_SIZE + 10)]
    early = [(start + dt.timedelta(minutes=10 * i), card, 4, 0) for i in range(PAGE_SIZE)]
    batch_of(db, "late.csv", late)
    batch_of(db, "early.csv", early)
    expected = sorted(r[0] for r in late + early)
    seen = []
    page = text(staff_client.get(f"/usage/records/?month={MONTH}"))
    assert '<li id="page-number">1 / 3 ページ</li>' in page
    assert "901100-0000-00001-1" in page and "9011000000000011</a>" not in page  # as printed
    assert "中型車" in page and "<td>4</td>" not in page  # 車種 by name
    number = 1
    while True:
        seen += shown_times(page)
        found = re.search(r'href="([^"]+)" id="next-page"', page)
        if not found:
            break
        page = text(staff_client.get(found.group(1).replace("&amp;", "&")))
        number += 1
        assert f'<li id="page-number">{number} / 3 ページ</li>' in page
    assert seen == [f"{t:%Y/%m/%d %H:%M}" for t in expected]
    # back by keyset from the last page, and a jump by number
    previous = re.search(r'href="([^"]+)">前の50件', page).group(1).replace("&amp;", "&")
    assert shown_times(text(staff_client.get(previous))) == seen[PAGE_SIZE:2 * PAGE_SIZE]
    jumped = text(staff_client.get(f"/usage/records/?month={MONTH}&page=2"))
    assert shown_times(jumped) == seen[PAGE_SIZE:2 * PAGE_SIZE] and '<li id="page-number">2 / 3 ページ</li>' in jumped


def test_attention_count_on_imports_follows_resolved_rows(staff_client, db):
    member = make_member(db, "M001", "株式会社山田運輸")
    unknown = "9011000000000029"
    batch = batch_of(db, "unknown.csv", [(dt.datetime(2026, 10, 2, 9, 0), unknown, 1, FLAG_UNREGISTERED_CARD),
                                         (dt.datetime(2026, 10, 3, 9, 0), unknown, 1, FLAG_UNREGISTERED_CARD)])

    def attention():
        page = text(staff_client.get("/importbatchview/list/"))
        row = re.search(rf'#{batch.id}</a>.*?</tr>', page, re.S).group(0)
        return re.findall(r">\s*([\d,]+件)\s*<", row)

    assert attention()[-1] == "2件"
    make_card(db, member, unknown)  # registering the card links its rows and clears the flag
    from app.services.usage_rematch import rematch_unregistered

    rematch_unregistered(unknown)
    assert attention()[-1] == "0件"
    db.session.expire_all()
    assert db.session.get(ImportBatch, batch.id).flagged_count == 2  # what the import found is kept

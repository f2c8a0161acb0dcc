"""The usage statement's rows are cut into pages before rendering (app/documents/statement_pages.py)."""
import datetime as dt

from app.documents.data import CardInfo, UsageRow
from app.documents.statement_pages import Entry, lines_of, paginate, text_width

CARD = CardInfo(1, "1000010000000011", "************0011", "corporate", "品川 100 あ 10-00", 2, 0, 0, 0, 0, 0)
OTHER = CardInfo(2, "1000010000000029", "************0029", "corporate", "", 2, 0, 0, 0, 0, 0)


def row(card=CARD, entry="東京", exit_="厚木", kinds=""):
    return Entry("row", card, UsageRow(card.card_id, None, dt.datetime(2026, 10, 1, 9), entry, exit_, "NEXCO中日本", 2,
                                       1000, 0, 1000, kinds))


def test_text_width_counts_full_width_as_one_and_ascii_as_half():
    assert text_width("大井川焼津藤枝スマート") == 11
    assert text_width("りんくうJCT") == 5.5
    assert text_width("") == 0


def test_a_row_takes_as_many_lines_as_its_longest_wrapping_cell():
    assert lines_of(row()) == 1
    assert lines_of(row(entry="大井川焼津藤枝スマート")) == 1  # the longest name in the shipped IC master fits
    assert lines_of(row(exit_="首都高速道路 東京外環自動車道 三郷南")) == 2
    assert lines_of(row(kinds="深夜割引・休日割引・平日朝夕")) == 2
    assert lines_of(Entry("group", CARD)) == 1


def test_pages_hold_their_capacity_and_a_continued_card_is_headed_again():
    entries = [Entry("group", CARD), *[row() for _ in range(12)], Entry("subtotal", CARD, sums={}),
               Entry("group", OTHER), *[row(OTHER) for _ in range(3)], Entry("subtotal", OTHER, sums={})]
    pages = paginate(entries, first_page=8, page=10)
    assert [len(p) for p in pages] == [8, 10, 3]
    assert pages[1][0] == Entry("group", CARD, continued=True)
    assert [e.kind for e in pages[1]] == ["group", "row", "row", "row", "row", "row", "subtotal", "group", "row", "row"]
    assert pages[2][0] == Entry("group", OTHER, continued=True)
    assert sum(1 for p in pages for e in p if e.kind == "row") == 15


def test_a_card_heading_never_stands_alone_at_the_foot_of_a_page():
    entries = [Entry("group", CARD), *[row() for _ in range(6)], Entry("group", OTHER), row(OTHER)]
    pages = paginate(entries, first_page=9, page=10)
    assert pages[0][-1].kind == "row" and pages[1][0] == Entry("group", OTHER)

"""Searching the member and card lists as a clerk does (issue 9 item 14): 含む by default, every kana
form, and one search box over code, name, kana, card number and plate."""
import io
import json
import re

import pytest
from openpyxl import load_workbook

from tests.integration.test_cards import make_member, make_vehicle, new_card

YAMADA_CARD = "9011210000000011"
SATO_CARD = "9011210000000029"


@pytest.fixture()
def two_members(db):
    yamada = make_member(db, "M0001", "株式会社山田運輸", "ヤマダウンユ")
    sato = make_member(db, "M0002", "佐藤物流有限会社", "サトウブツリュウ")
    new_card(db, yamada, make_vehicle(db, yamada, serial=1234, region="品川"), number=YAMADA_CARD)
    new_card(db, sato, make_vehicle(db, sato, serial=5678, region="高崎"), number=SATO_CARD)
    return yamada, sato


def listed(client, path) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("words, found, not_found", [
    ("やまだ", "山田運輸", "佐藤物流"),            # hiragana finds the katakana kana
    ("ﾔﾏﾀﾞ", "山田運輸", "佐藤物流"),              # half-width katakana too
    ("M0002", "佐藤物流", "山田運輸"),             # code
    ("佐藤", "佐藤物流", "山田運輸"),              # name
    ("901121-0000-0000-11", "山田運輸", "佐藤物流"),  # a card number as printed
    ("12-34", "山田運輸", "佐藤物流"),             # the plate's 一連番号 as printed
    ("高崎 5678", "佐藤物流", "山田運輸"),         # every word must match
])
def test_the_member_list_search_box(staff_client, two_members, words, found, not_found):
    page = listed(staff_client, f"/memberview/list/?q={words}")
    assert found in page and not_found not in page


def test_nothing_found_when_one_word_matches_nothing(staff_client, two_members):
    page = listed(staff_client, "/memberview/list/?q=高崎 1234")
    assert "山田運輸" not in page and "佐藤物流" not in page


def test_the_card_list_search_box_finds_by_member_and_by_printed_number(staff_client, two_members):
    page = listed(staff_client, "/cardview/list/?q=さとう")
    assert "佐藤物流" in page and "山田運輸" not in page
    page = listed(staff_client, "/cardview/list/?q=９０１１２１－００００－００００－１１")  # full-width as printed
    assert "山田運輸" in page and "佐藤物流" not in page


def test_the_search_box_is_on_the_lists_and_the_export_follows_it(staff_client, two_members):
    page = listed(staff_client, "/memberview/list/")
    assert 'name="q"' in page and "コード・名前・フリガナ・カード番号・ナンバーで検索" in page
    response = staff_client.get("/memberview/export/?q=やまだ")
    sheet = load_workbook(io.BytesIO(response.data)).active
    codes = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True) if row and row[0]]
    assert "M0001" in codes and "M0002" not in codes


def test_text_filters_offer_contains_first_and_it_finds_every_kana_form(staff_client, two_members):
    page = listed(staff_client, "/memberview/list/")
    # FAB's search widget gets each column's filter names as JSON, in order: 含む must come first.
    kana_filters = re.search(r'"kana": (\[[^\]]*\])', page)
    assert kana_filters, "the kana column is searchable"
    assert json.loads(kana_filters.group(1))[0] == "含む"
    page = listed(staff_client, "/memberview/list/?_flt_0_kana=ﾀﾞｳﾝ")
    assert "山田運輸" in page and "佐藤物流" not in page

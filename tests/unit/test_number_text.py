"""How a typed number is read (app/domain/text.number_text): one reading for the 訂正額, the tariff form's
金額 and 率, the document search's amounts and the scheduled jobs' integer parameters."""
import pytest

from app.domain.text import digits_only, number_text, to_half_width_digits


@pytest.mark.parametrize("typed, read", [
    ("１，０００", "1000"),
    ("－１，０００円", "-1000"),
    ("−500", "-500"),          # U+2212 MINUS SIGN
    ("ー20", "-20"),           # the long vowel typed for a minus
    ("９．８％", "9.8%"),
    (" 1 000 ", "1000"),
    ("１　０００", "1000"),     # ideographic space
    ("+1,000", "+1000"),
    (None, ""),
    ("", ""),
    (660, "660"),
])
def test_number_text(typed, read):
    assert number_text(typed) == read


def test_digits_and_widths():
    assert to_half_width_digits("１２３４－５６") == "1234-56"
    assert digits_only("１２３４－５６ 78") == "12345678"

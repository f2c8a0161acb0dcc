"""ETC card numbers: digits only, 16 for corporate cards, 14–16 for credit cards."""
import pytest
from hypothesis import given, strategies as st

from app.domain.card_number import (CORPORATE, CREDIT, format_card_number, mask_card_number,
                                    normalize_card_number)
from app.domain.errors import DomainError

SIXTEEN = "9011234567890123"


@pytest.mark.parametrize("typed", [
    SIXTEEN,
    "901123-4567-89012-3",
    "9011 2345 6789 0123",
    "９０１１２３４５６７８９０１２３",          # full-width digits
    "９０１１－２３４５－６７８９－０１２３",    # full-width digits and hyphens
    "9011‐2345―6789ー0123",                   # the dashes people paste from Word / IME
    "  9011\u30002345 6789 0123  ",             # ideographic space
])
def test_corporate_number_is_normalised_to_16_digits(typed):
    assert normalize_card_number(typed, CORPORATE) == SIXTEEN


@pytest.mark.parametrize("length", [14, 15, 16])
def test_credit_card_numbers_have_14_to_16_digits(length):
    number = "4980123456789012"[:length]
    assert normalize_card_number(number, CREDIT) == number


@pytest.mark.parametrize("length", [13, 17])
def test_credit_card_numbers_outside_14_to_16_digits_are_refused(length):
    with pytest.raises(DomainError) as error:
        normalize_card_number("4" * length, CREDIT)
    assert error.value.message == f"カード番号は14〜16桁の数字です（入力は{length}桁）。"
    assert error.value.field == "number"


@pytest.mark.parametrize("length", [14, 15, 17])
def test_corporate_numbers_must_have_exactly_16_digits(length):
    with pytest.raises(DomainError) as error:
        normalize_card_number("9" * length, CORPORATE)
    assert error.value.message == f"カード番号は16桁の数字です（入力は{length}桁）。"


def test_default_kind_is_corporate():
    with pytest.raises(DomainError):
        normalize_card_number("4" * 15)


@pytest.mark.parametrize("typed", ["9011-2345-6789-012A", "9011２３４５6789O123", "ＡＢＣＤ"])
def test_letters_are_refused_with_a_japanese_message(typed):
    with pytest.raises(DomainError) as error:
        normalize_card_number(typed, CORPORATE)
    assert error.value.message == f"カード番号「{typed}」に数字以外の文字が含まれています。"
    assert error.value.field == "number"


@pytest.mark.parametrize("typed", ["", "   ", "--", None])
def test_empty_number_asks_for_input(typed):
    with pytest.raises(DomainError, match="カード番号を入力してください。"):
        normalize_card_number(typed, CORPORATE)


def test_domain_error_is_a_value_error_with_the_message():
    with pytest.raises(ValueError, match="数字以外"):
        normalize_card_number("12x", CREDIT)


def test_format_groups_sixteen_digits_as_printed_on_the_card():
    assert format_card_number(SIXTEEN) == "901123-4567-89012-3"
    assert format_card_number("49801234567890") == "49801234567890"  # 14-digit credit: as is


def test_mask_shows_only_the_last_four_digits():
    assert mask_card_number(SIXTEEN) == "************0123"
    assert mask_card_number("49801234567890") == "**********7890"


digits16 = st.text(alphabet="0123456789", min_size=16, max_size=16)
credit_digits = st.text(alphabet="0123456789", min_size=14, max_size=16)
_FULL = str.maketrans("0123456789-", "０１２３４５６７８９－")


@given(digits16)
def test_formatted_corporate_numbers_round_trip(number):
    assert normalize_card_number(format_card_number(number), CORPORATE) == number
    assert normalize_card_number(format_card_number(number).translate(_FULL), CORPORATE) == number


@given(credit_digits)
def test_normalize_is_idempotent(number):
    once = normalize_card_number(number.translate(_FULL), CREDIT)
    assert once == number
    assert normalize_card_number(once, CREDIT) == once


@given(st.text(min_size=1, max_size=24))
def test_normalize_either_returns_digits_of_allowed_length_or_raises_domain_error(text):
    try:
        result = normalize_card_number(text, CREDIT)
    except DomainError as error:
        assert error.field == "number"
        assert error.message.startswith("カード番号")
    else:
        assert result.isdigit() and result.isascii() and 14 <= len(result) <= 16
        assert normalize_card_number(result, CREDIT) == result

"""適格請求書発行事業者の登録番号: T + 法人番号 (13 digits with a check digit first)."""
import pytest

from app.domain.errors import DomainError
from app.domain.registration_number import corporate_number_check_digit, normalize_registration_number

VALID = "T7000012050002"  # 国税庁


@pytest.mark.parametrize("typed", [VALID, "t7000012050002", "Ｔ７０００ー０１２０ー５０００２", "T 7000 0120 50002",
                                   "T7000-0120-50002", "T1180301018771"])
def test_valid_numbers_are_normalised(typed):
    result = normalize_registration_number(typed)
    assert result.startswith("T") and len(result) == 14 and result[1:].isdigit()
    if "70000" in result:
        assert result == VALID


def test_check_digit_of_known_corporate_numbers():
    assert corporate_number_check_digit("000012050002") == 7
    assert corporate_number_check_digit("180301018771") == 1


@pytest.mark.parametrize("position", range(1, 14))
def test_changing_any_digit_breaks_the_check_digit(position):
    digits = list(VALID)
    digits[position] = str((int(digits[position]) + 1) % 10)
    changed = "".join(digits)
    with pytest.raises(DomainError) as error:
        normalize_registration_number(changed)
    assert error.value.message == f"登録番号「{changed}」のチェックデジットが一致しません。番号をご確認ください。"
    assert error.value.field == "registration_number"


def test_swapping_two_neighbouring_digits_is_caught():
    with pytest.raises(DomainError, match="チェックデジット"):
        normalize_registration_number("T7000012050020")


@pytest.mark.parametrize("typed", ["7000012050002", "T700001205000", "T70000120500021", "TX000012050002",
                                   "J7000012050002"])
def test_wrong_shapes_are_refused(typed):
    with pytest.raises(DomainError) as error:
        normalize_registration_number(typed)
    assert error.value.message == "登録番号は「T」に続く13桁の数字です（例: T7000012050002）。"


@pytest.mark.parametrize("typed", ["", "  ", None])
def test_empty_means_not_registered(typed):
    assert normalize_registration_number(typed) == ""

"""Bank accounts checked against the zengin-code master."""
import pytest

from app.domain.bank_account import (ACCOUNT_TYPES, BankAccount, lookup_bank, lookup_branch, make_bank_account,
                                     normalize_account_number, parse_account_type)
from app.domain.errors import DomainError


def test_names_come_from_the_zengin_master():
    account = make_bank_account("0001", "001", "普通", "1234567", "やまだうんゆ")
    assert account == BankAccount("0001", "みずほ", "001", "東京営業部", 1, "1234567", "ヤマダウンユ")


def test_full_width_codes_and_short_account_numbers():
    account = make_bank_account("０００１", "００１", 2, "１２３", "ﾔﾏﾀﾞ")
    assert (account.bank_code, account.branch_code) == ("0001", "001")
    assert account.account_number == "0000123"
    assert account.account_type == 2
    assert account.holder_kana == "ヤマダ"


def test_unknown_bank_is_refused():
    with pytest.raises(DomainError) as error:
        lookup_bank("9999")
    assert error.value.message == "銀行コード「9999」は全銀協の金融機関コードにありません。"
    assert error.value.field == "bank_code"


@pytest.mark.parametrize("typed", ["1", "00001", "ABCD", ""])
def test_bank_code_must_have_four_digits(typed):
    with pytest.raises(DomainError) as error:
        lookup_bank(typed)
    assert error.value.message == f"銀行コード「{typed}」は4桁の数字です。"


def test_unknown_branch_is_refused_naming_the_bank():
    with pytest.raises(DomainError) as error:
        lookup_branch(lookup_bank("0001"), "999")
    assert error.value.message == "支店コード「999」はみずほの支店にありません。"
    assert error.value.field == "branch_code"


@pytest.mark.parametrize("typed", ["1", "0001", "abc"])
def test_branch_code_must_have_three_digits(typed):
    with pytest.raises(DomainError, match="3桁の数字"):
        lookup_branch(lookup_bank("0001"), typed)


def test_make_bank_account_refuses_unknown_codes():
    with pytest.raises(DomainError) as error:
        make_bank_account("9999", "001", 1, "1", "ヤマダ")
    assert error.value.field == "bank_code"
    with pytest.raises(DomainError) as error:
        make_bank_account("0001", "999", 1, "1", "ヤマダ")
    assert error.value.field == "branch_code"


@pytest.mark.parametrize("typed, stored", [("1", "0000001"), ("1234567", "1234567"), ("０１２３", "0000123"),
                                           ("12-345", "0012345"), (1234, "0001234")])
def test_account_numbers_are_zero_padded_to_seven(typed, stored):
    assert normalize_account_number(typed) == stored


@pytest.mark.parametrize("typed", ["12345678", "", None, "12a"])
def test_bad_account_numbers(typed):
    with pytest.raises(DomainError) as error:
        normalize_account_number(typed)
    assert error.value.field == "account_number"
    assert "7桁以内の数字" in error.value.message


@pytest.mark.parametrize("typed, code", [("普通", 1), ("当座", 2), ("貯蓄", 4), ("その他", 9), ("普通預金", 1),
                                         ("当座預金", 2), ("貯蓄預金", 4), (1, 1), ("2", 2), ("４", 4), (9, 9)])
def test_account_types_by_code_or_name(typed, code):
    assert parse_account_type(typed) == code
    assert code in ACCOUNT_TYPES


@pytest.mark.parametrize("typed", [3, "0", "定期", "", None])
def test_unknown_account_types(typed):
    with pytest.raises(DomainError) as error:
        parse_account_type(typed)
    assert error.value.field == "account_type"
    assert "1 普通, 2 当座, 4 貯蓄, 9 その他" in error.value.message


def test_account_type_names():
    assert ACCOUNT_TYPES == {1: "普通", 2: "当座", 4: "貯蓄", 9: "その他"}


def test_holder_kana_is_required_and_must_be_kana():
    with pytest.raises(DomainError, match="口座名義カナを入力してください。"):
        make_bank_account("0001", "001", 1, "1", "")
    with pytest.raises(DomainError) as error:
        make_bank_account("0001", "001", 1, "1", "山田")
    assert error.value.field == "account_holder_kana"
    assert "使えない文字: 山田" in error.value.message

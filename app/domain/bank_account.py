"""Bank accounts for 口座振替 and 振込, checked against the zengin-code bank master.

Codes are those of 全銀協 (zengin-format.md §6, §7.1): bank 4 digits, branch 3 digits, account
number 7 digits (shorter numbers are zero-padded on the left, as banks print them). Names are
taken from the master so that nobody has to type them.
"""
from dataclasses import dataclass

import zengin_code

from .errors import DomainError
from .kana import normalize_kana
from .text import digits_only

# 預金種目 allowed on 口座振替 (種別91) and 総合振込 (種別21) data records (zengin-format.md §6).
ACCOUNT_TYPES = {1: "普通", 2: "当座", 4: "貯蓄", 9: "その他"}
_TYPE_BY_NAME = {name: code for code, name in ACCOUNT_TYPES.items()}
_TYPE_BY_NAME.update({"普通預金": 1, "当座預金": 2, "貯蓄預金": 4})


@dataclass(frozen=True)
class BankAccount:
    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str
    account_type: int
    account_number: str
    holder_kana: str


def parse_account_type(value) -> int:
    text = str(value if value is not None else "").strip()
    if text in _TYPE_BY_NAME:
        return _TYPE_BY_NAME[text]
    try:
        code = int(digits_only(text))
    except ValueError:
        code = None
    if code not in ACCOUNT_TYPES:
        raise DomainError(f"預金種目「{text}」は 1 普通, 2 当座, 4 貯蓄, 9 その他 のいずれかです。", "account_type")
    return code


def lookup_bank(bank_code: str):
    code = digits_only(bank_code)
    if len(code) != 4 or not code.isdigit():
        raise DomainError(f"銀行コード「{bank_code}」は4桁の数字です。", "bank_code")
    try:
        return zengin_code.Bank[code]
    except KeyError:
        raise DomainError(f"銀行コード「{code}」は全銀協の金融機関コードにありません。", "bank_code") from None


def lookup_branch(bank, branch_code: str):
    code = digits_only(branch_code)
    if len(code) != 3 or not code.isdigit():
        raise DomainError(f"支店コード「{branch_code}」は3桁の数字です。", "branch_code")
    try:
        return bank.branches[code]
    except KeyError:
        raise DomainError(f"支店コード「{code}」は{bank.name}の支店にありません。", "branch_code") from None


def normalize_account_number(value) -> str:
    number = digits_only(str(value or ""))
    if not number.isdigit() or not 1 <= len(number) <= 7:
        raise DomainError(f"口座番号「{value}」は7桁以内の数字です。", "account_number")
    return number.zfill(7)


def make_bank_account(bank_code, branch_code, account_type, account_number, holder_kana) -> BankAccount:
    bank = lookup_bank(bank_code)
    branch = lookup_branch(bank, branch_code)
    number = normalize_account_number(account_number)
    holder = normalize_kana(holder_kana, "account_holder_kana", "口座名義カナ")
    if not holder:
        raise DomainError("口座名義カナを入力してください。", "account_holder_kana")
    return BankAccount(bank.code, bank.name, branch.code, branch.name, parse_account_type(account_type),
                       number, holder)


def mask_account_number(number: str | None, shown: int = 3) -> str:
    """An account number on paper that goes by post: only the last `shown` digits ('1234567' → '****567'),
    enough for the member to recognise the account, too little to use it."""
    digits = digits_only(number or "")
    if not digits:
        return ""
    if len(digits) <= shown:
        return "*" * len(digits)
    return "*" * (len(digits) - shown) + digits[-shown:]


def bank_branch_names(bank_code: str | None, branch_code: str | None) -> tuple[str, str]:
    """The master's bank and branch names for codes ('' for a code the master does not know)."""
    bank = zengin_code.Bank.all.get(bank_code or "")
    if bank is None:
        return "", ""
    branch = bank.branches.get(branch_code or "")
    return bank.name, branch.name if branch is not None else ""

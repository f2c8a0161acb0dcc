"""適格請求書発行事業者の登録番号: "T" + 13 digits (etc-domain.md §7.1).

For a corporation the 13 digits are its 法人番号, whose first digit is a check digit
(法人番号の指定等に関する省令 第2条): 9 − (Σ Pn×Qn mod 9) over the other 12 digits, Pn the n-th digit
counted from the right, Qn = 1 for odd n and 2 for even n. Tollbook's operators are cooperatives and
companies, i.e. corporations, so the check digit is enforced.
"""
from .errors import DomainError
from .text import digits_only


def corporate_number_check_digit(base12: str) -> int:
    total = sum(int(d) * (1 if n % 2 else 2) for n, d in enumerate(reversed(base12), start=1))
    return 9 - total % 9


def normalize_registration_number(value: str) -> str:
    text = digits_only(value).upper()
    if not text:
        return ""
    if not text.startswith("T"):
        raise DomainError("登録番号は「T」に続く13桁の数字です（例: T7000012050002）。", "registration_number")
    digits = text[1:]
    if len(digits) != 13 or not digits.isdigit():
        raise DomainError("登録番号は「T」に続く13桁の数字です（例: T7000012050002）。", "registration_number")
    if corporate_number_check_digit(digits[1:]) != int(digits[0]):
        raise DomainError(f"登録番号「{text}」のチェックデジットが一致しません。番号をご確認ください。",
                          "registration_number")
    return "T" + digits

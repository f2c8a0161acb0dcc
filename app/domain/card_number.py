"""ETC card numbers.

ETCコーポレートカード numbers are 16 digits, printed `123456-7890-****○-△`; the 15th digit counts
reissues and renewals, the 16th is a check digit (etc-domain.md §4.3). The check digit algorithm is
not published (Luhn is only inferred), so it is not enforced. ETC credit cards of some brands have
14 (Diners) or 15 (Amex) digits; Tollbook stores every card as its digits only.
"""
from .errors import DomainError
from .text import digits_only

CORPORATE = "corporate"
CREDIT = "credit"
CARD_KINDS = {CORPORATE: "コーポレートカード", CREDIT: "クレジットカード"}


def normalize_card_number(value: str, kind: str = CORPORATE) -> str:
    number = digits_only(value)
    if not number:
        raise DomainError("カード番号を入力してください。", "number")
    if not number.isdigit():
        raise DomainError(f"カード番号「{value}」に数字以外の文字が含まれています。", "number")
    allowed = (16,) if kind == CORPORATE else (14, 15, 16)
    if len(number) not in allowed:
        need = "16桁" if kind == CORPORATE else "14〜16桁"
        raise DomainError(f"カード番号は{need}の数字です（入力は{len(number)}桁）。", "number")
    return number


def format_card_number(number: str) -> str:
    """The grouping printed on corporate cards: 123456-7890-12345-6."""
    if len(number) == 16:
        return f"{number[:6]}-{number[6:10]}-{number[10:15]}-{number[15]}"
    return number


def mask_card_number(number: str) -> str:
    """For lists seen by people who need only to recognise a card: ************3456."""
    return "*" * (len(number) - 4) + number[-4:]

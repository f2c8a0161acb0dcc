"""消込 (reconciliation) rules, pure: an invoice's payment state from its total and what was received, and
the invoices suggested for a transfer received (振込入金) by the payer's kana and the amount."""
import re
from dataclasses import dataclass

from .errors import DomainError
from .kana import to_zengin_kana

PAID, UNPAID, PARTLY_PAID, OVERPAID, NOTHING_DUE = "paid", "unpaid", "partly_paid", "overpaid", "nothing_due"
PAYMENT_STATES = {PAID: "入金済", UNPAID: "未入金", PARTLY_PAID: "一部入金", OVERPAID: "過入金", NOTHING_DUE: "請求なし"}


def payment_state(total: int, received: int) -> str:
    """paid / unpaid / partly paid / overpaid; an invoice of 0円 or a credit has nothing due."""
    if total <= 0:
        return NOTHING_DUE if received == 0 else OVERPAID
    if received == 0:
        return UNPAID
    if received < total:
        return PARTLY_PAID
    return PAID if received == total else OVERPAID


def balance_to_carry(total: int, received: int, carried: int = 0, written_off: int = 0) -> int:
    """What an invoice still has to carry into the member's next invoice: total − payments − what later invoices
    carried of it already (+ owed, − credit or 過入金). An approved write-off takes at most its amount off what is
    owed — a correction that raised the total after the approval carries the excess — and never turns into a
    credit: written off is what the member need not pay, not money the member is owed."""
    balance = total - received - carried
    if balance > 0:
        return max(balance - written_off, 0)
    return balance


_CORPORATE = re.compile(r"^[ｱ-ﾝﾞﾟ]{1,4}\)|\([ｱ-ﾝﾞﾟ]{1,4}\)?$|\([ｱ-ﾝﾞﾟ]{1,4}\)")


def payer_key(text: str) -> str:
    """A name reduced for comparison: the 全銀 half-width form (株式会社 → ｶ) etc.), without the 法人格
    abbreviation, spaces and punctuation. ｶ)ﾔﾏﾀﾞｳﾝﾕ, ヤマダウンユ（カ and カブシキガイシャ　ヤマダウンユ all give ﾔﾏﾀﾞｳﾝﾕ."""
    try:
        text = to_zengin_kana(text or "", charset="wide")
    except DomainError:
        return ""
    text = _CORPORATE.sub("", text)
    return re.sub(r"[ ()\-./,'+:?]", "", text)


@dataclass(frozen=True)
class Candidate:
    invoice_id: int
    names: tuple[str, ...]  # the member's kana and account holder kana
    outstanding: int


@dataclass(frozen=True)
class Suggestion:
    invoice_id: int
    reason: str
    score: int


def suggest(payer: str, amount: int, candidates: list[Candidate], limit: int = 5) -> list[Suggestion]:
    """Invoices to match a transfer with, best first: name and amount equal, then the name, then the amount."""
    key = payer_key(payer)
    found = []
    for candidate in candidates:
        keys = [k for k in (payer_key(name) for name in candidate.names) if k]
        name = bool(key) and any(k == key or (len(k) >= 3 and (k in key or key in k)) for k in keys)
        same_amount = candidate.outstanding == amount
        if name and same_amount:
            found.append(Suggestion(candidate.invoice_id, "名義・金額が一致", 3))
        elif name:
            found.append(Suggestion(candidate.invoice_id, "名義が一致（金額が違います）", 2))
        elif same_amount:
            found.append(Suggestion(candidate.invoice_id, "金額が一致（名義が違います）", 1))
    return sorted(found, key=lambda s: -s.score)[:limit]


AGEING_BUCKETS = ("期日前", "1〜30日", "31〜60日", "61〜90日", "91日以上")


def ageing_bucket(days_overdue: int) -> str:
    """未収の経過: days after the due date (振替日・支払期日), in the buckets of the 未収一覧."""
    if days_overdue <= 0:
        return AGEING_BUCKETS[0]
    if days_overdue <= 30:
        return AGEING_BUCKETS[1]
    if days_overdue <= 60:
        return AGEING_BUCKETS[2]
    if days_overdue <= 90:
        return AGEING_BUCKETS[3]
    return AGEING_BUCKETS[4]

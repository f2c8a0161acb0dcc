"""代理店手数料 (agency commissions), pure: effective-dated rules per agency, applied to one agency's month,
and the 源泉徴収 withheld when the agency is an individual.

Rule bases (`basis`):
- `usage_rate`: `rate` × the 通行料金 (tax included) of the agency's members' invoices of the month;
- `fee_rate`: `rate` × their 手数料 (tax included);
- `per_card`: `amount` yen × the cards in force of its members in the month.
Each rule gives one line, rounded down to the yen (切り捨て). A rule applies to a month when it is valid on
the month's first day (valid_from ≤ first day ≤ valid_to), like the tariff."""
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from .errors import DomainError

BASES = {"usage_rate": "利用額（通行料金）の率", "fee_rate": "手数料の率", "per_card": "カード1枚あたり（月額）"}


@dataclass(frozen=True)
class CommissionRule:
    agency_code: str
    basis: str
    valid_from: dt.date
    valid_to: dt.date | None = None
    rate: Decimal | None = None  # 0.05 = 5%
    amount: int | None = None  # yen per card

    def __post_init__(self):
        if self.basis not in BASES:
            raise DomainError(f"代理店手数料の計算方法「{self.basis}」は usage_rate, fee_rate, per_card のいずれかです。", "basis")
        if self.basis == "per_card":
            if self.amount is None or self.amount < 0:
                raise DomainError("カード1枚あたりの手数料（円）を0以上で入力してください。", "amount")
        elif self.rate is None or not Decimal(0) <= Decimal(self.rate) <= Decimal(1):
            raise DomainError("手数料の率は0〜1（5% なら 0.05）で入力してください。", "rate")
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise DomainError("適用終了日が適用開始日より前です。", "valid_to")

    def valid_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class AgencyMonth:
    """What one agency's members had in a month (from their issued invoices and cards in force)."""
    agency_code: str
    usage_total: int
    fee_total: int
    cards: int


@dataclass(frozen=True)
class CommissionLine:
    basis: str
    base: int  # yen or cards
    rate: Decimal | None
    amount_per_card: int | None
    commission: int

    def describe(self) -> str:
        if self.basis == "per_card":
            return f"カード {self.base:,}枚 × {self.amount_per_card:,}円 = {self.commission:,}円"
        percent = (Decimal(self.rate) * 100).normalize()
        return f"{BASES[self.basis]} {self.base:,}円 × {percent}% = {self.commission:,}円（円未満切り捨て）"


def commission_lines(month_first_day: dt.date, data: AgencyMonth, rules: list[CommissionRule]) -> list[CommissionLine]:
    lines = []
    for rule in rules:
        if rule.agency_code != data.agency_code or not rule.valid_on(month_first_day):
            continue
        if rule.basis == "per_card":
            lines.append(CommissionLine(rule.basis, data.cards, None, rule.amount, data.cards * rule.amount))
            continue
        base = data.usage_total if rule.basis == "usage_rate" else data.fee_total
        value = (Decimal(base) * Decimal(rule.rate)).to_integral_value(rounding=ROUND_DOWN)
        lines.append(CommissionLine(rule.basis, base, Decimal(rule.rate), None, max(int(value), 0)))
    return lines


WITHHOLDING_LIMIT = 1_000_000
WITHHOLDING_RATE = Decimal("0.1021")  # 10% 所得税 + 2.1% 復興特別所得税
WITHHOLDING_RATE_OVER = Decimal("0.2042")


def withholding(amount: int, individual: bool) -> int:
    """源泉徴収税額 on a commission paid to an individual (報酬・料金, 所得税法204条1項・205条1号 with the
    復興特別所得税): 10.21% up to 1,000,000円, 20.42% on the part above, yen fractions cut off. None for a
    company (法人への支払は源泉徴収なし)."""
    if not individual or amount <= 0:
        return 0
    if amount <= WITHHOLDING_LIMIT:
        tax = Decimal(amount) * WITHHOLDING_RATE
    else:
        tax = Decimal(WITHHOLDING_LIMIT) * WITHHOLDING_RATE + Decimal(amount - WITHHOLDING_LIMIT) * WITHHOLDING_RATE_OVER
    return int(tax.to_integral_value(rounding=ROUND_DOWN))

"""How much of the operator discounts a member receives (組合員割引).

Two models seen at cooperatives (etc-domain.md §6): a pass-through ratio of the discount the road
operator gave on the member's cards, or the cooperative's own table by the member's monthly usage
(中央経友会 passes back 1.0–9.8% by usage)."""
from dataclasses import dataclass
from decimal import Decimal

from .breakdown import Breakdown, percent
from .rounding import FLOOR, round_yen


def pass_through(operator_discount: int, ratio: Decimal, rounding: str = FLOOR) -> tuple[int, Breakdown]:
    amount = round_yen(Decimal(operator_discount) * ratio, rounding)
    breakdown = Breakdown([f"組合員割引 道路事業者割引 {operator_discount:,}円 × {percent(ratio)} = {amount:,}円"])
    return amount, breakdown


@dataclass(frozen=True)
class UsageTier:
    over: int  # applies when the member's monthly usage is more than this (yen)
    rate: Decimal


def tiered_rate(usage: int, tiers: list[UsageTier], rounding: str = FLOOR) -> tuple[int, Breakdown]:
    """The whole usage at the rate of the highest tier reached (not marginal: a table of rates)."""
    rate = Decimal(0)
    for tier in sorted(tiers, key=lambda t: t.over):
        if usage > tier.over:
            rate = tier.rate
    amount = round_yen(Decimal(usage) * rate, rounding)
    return amount, Breakdown([f"組合員割引 利用額 {usage:,}円 × {percent(rate)} = {amount:,}円"])

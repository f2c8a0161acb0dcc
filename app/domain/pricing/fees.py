"""手数料: the operator's own charges to its members (etc-domain.md §4.5, §6).

Percentage of usage (事務手数料, e.g. 8% at some credit-card cooperatives), a flat amount per card
per month, per member per month, per card event (issue 629円, reissue, loss 660円, …), and a
minimum charge. Amounts are tax-inclusive yen, as the cooperatives publish them."""
from decimal import Decimal

from .breakdown import Breakdown, percent
from .rounding import FLOOR, round_yen


def percentage_fee(base: int, rate: Decimal, label: str, rounding: str = FLOOR) -> tuple[int, Breakdown]:
    amount = round_yen(Decimal(base) * rate, rounding)
    return amount, Breakdown([f"{label} {base:,}円 × {percent(rate)} = {amount:,}円"])


def flat_fee(count: int, unit_amount: int, label: str, unit: str) -> tuple[int, Breakdown]:
    amount = count * unit_amount
    return amount, Breakdown([f"{label} {unit_amount:,}円 × {count}{unit} = {amount:,}円"])


def minimum_charge(charged: int, minimum: int, label: str) -> tuple[int, Breakdown]:
    """The top-up that brings `charged` to `minimum` (0 when already above)."""
    top_up = max(0, minimum - charged)
    text = (f"{label} {minimum:,}円 − 当月分の請求額 {charged:,}円 = {top_up:,}円" if top_up
            else f"{label} 最低請求額 {minimum:,}円 以上のため加算なし")
    return top_up, Breakdown([text])

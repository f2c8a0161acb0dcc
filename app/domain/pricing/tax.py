"""消費税: computed once per tax rate per invoice, never per line (インボイス制度; 消費税法施行令70条の10,
国税庁インボイスQ&A 問57; etc-domain.md §7.1). Toll amounts in ETC data are tax-inclusive at 10%, and
so are the fees Tollbook charges, so the tax is the included part: total × 10/110, rounded once.
関空橋税 and other 不課税 items are shown separately and carry no tax; a credit carried over from an
earlier invoice (繰越) carries none here either (its own invoice had it).

The rounding applies to the size of the tax: 切り捨て truncates toward zero for a credit too, so a
−46,640円 credit holds −4,240円 of tax (−4,240.0), and −46,650円 holds −4,240円 (−4,240.9…), never
−4,241円 — the same yen the positive invoice would show, with the sign turned."""
from dataclasses import dataclass
from decimal import Decimal

from .breakdown import CARRIED_OVER, NON_TAXABLE, TAXABLE_10, Charge
from .rounding import FLOOR, round_yen

RATES = {TAXABLE_10: Decimal("0.10"), NON_TAXABLE: Decimal(0), CARRIED_OVER: Decimal(0)}
_ORDER = {TAXABLE_10: 0, NON_TAXABLE: 1, CARRIED_OVER: 2}


@dataclass(frozen=True)
class TaxSubtotal:
    category: str
    total_including_tax: int
    tax: int


def included_tax(total: int, rate: Decimal, rounding: str = FLOOR) -> int:
    """The tax inside a tax-inclusive `total`, rounded on its size (toward zero for 切り捨て)."""
    if not rate or not total:
        return 0
    size = round_yen(Decimal(abs(total)) * rate / (1 + rate), rounding)
    return size if total > 0 else -size


def tax_subtotals(charges: list[Charge], rounding: str = FLOOR) -> list[TaxSubtotal]:
    totals: dict[str, int] = {}
    for charge in charges:
        totals[charge.tax_category] = totals.get(charge.tax_category, 0) + charge.amount
    subtotals = []
    for category in sorted(totals, key=lambda c: (_ORDER.get(c, 9), c)):
        rate = RATES.get(category)
        if rate is None:
            raise ValueError(f"unknown tax category {category!r}")
        total = totals[category]
        subtotals.append(TaxSubtotal(category, total, included_tax(total, rate, rounding)))
    return subtotals

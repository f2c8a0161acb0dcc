"""消費税: computed once per tax rate per invoice, never per line (インボイス制度; 消費税法施行令70条の10,
国税庁インボイスQ&A 問57; etc-domain.md §7.1). Toll amounts in ETC data are tax-inclusive at 10%, and
so are the fees Tollbook charges, so the tax is the included part: total × 10/110, rounded once.
関空橋税 and other 不課税 items are shown separately and carry no tax."""
from dataclasses import dataclass
from decimal import Decimal

from .breakdown import NON_TAXABLE, TAXABLE_10, Charge
from .rounding import FLOOR, round_yen

RATES = {TAXABLE_10: Decimal("0.10"), NON_TAXABLE: Decimal(0)}


@dataclass(frozen=True)
class TaxSubtotal:
    category: str
    total_including_tax: int
    tax: int


def tax_subtotals(charges: list[Charge], rounding: str = FLOOR) -> list[TaxSubtotal]:
    totals: dict[str, int] = {}
    for charge in charges:
        totals[charge.tax_category] = totals.get(charge.tax_category, 0) + charge.amount
    subtotals = []
    for category in sorted(totals, key=lambda c: (c != TAXABLE_10, c)):
        rate = RATES.get(category)
        if rate is None:
            raise ValueError(f"unknown tax category {category!r}")
        total = totals[category]
        tax = round_yen(Decimal(total) * rate / (1 + rate), rounding) if rate else 0
        subtotals.append(TaxSubtotal(category, total, tax))
    return subtotals

"""消費税: once per tax rate per invoice, on tax-inclusive totals; 不課税 (関空橋税) separate, no tax
(etc-domain.md §7.1)."""
from decimal import Decimal

import pytest

from app.domain.pricing.breakdown import NON_TAXABLE, TAXABLE_10, Charge, percent
from app.domain.pricing.rounding import CEILING, HALF_UP
from app.domain.pricing.tax import TaxSubtotal, tax_subtotals


def test_three_105_yen_lines_give_one_tax_figure_on_315():
    charges = [Charge("通行料金", 105), Charge("通行料金", 105), Charge("通行料金", 105)]
    # 315 × 10/110 = 28.63… → 28 (floor); per line it would be 9 × 3 = 27.
    assert tax_subtotals(charges) == [TaxSubtotal(TAXABLE_10, 315, 28)]


def test_tax_rounding_direction_is_the_issuers_choice():
    charges = [Charge("通行料金", 105)] * 3
    assert tax_subtotals(charges, HALF_UP)[0].tax == 29
    assert tax_subtotals(charges, CEILING)[0].tax == 29


def test_non_taxable_lines_carry_no_tax_and_are_shown_separately():
    charges = [Charge("関空橋税", 100, NON_TAXABLE), Charge("通行料金", 2_200), Charge("関空橋税", 100, NON_TAXABLE),
               Charge("組合員割引", -110)]
    assert tax_subtotals(charges) == [TaxSubtotal(TAXABLE_10, 2_090, 190), TaxSubtotal(NON_TAXABLE, 200, 0)]


def test_discounts_reduce_the_taxable_total_before_the_tax():
    charges = [Charge("通行料金", 40_000), Charge("車両単位割引", -7_500), Charge("組合員管理料", 660)]
    assert tax_subtotals(charges) == [TaxSubtotal(TAXABLE_10, 33_160, 3_014)]  # 3,014.54… → 3,014


def test_no_lines_no_subtotals():
    assert tax_subtotals([]) == []


def test_unknown_tax_category_is_refused():
    with pytest.raises(ValueError):
        tax_subtotals([Charge("軽減税率", 108, "8%")])


def test_percent_labels():
    assert [percent(Decimal(r)) for r in ("0.10", "0.098", "0", "1.0", "0.25")] == ["10%", "9.8%", "0%", "100%", "25%"]

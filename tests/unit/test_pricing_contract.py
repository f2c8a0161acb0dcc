"""NEXCO 契約単位割引: 10% when the monthly total is OVER 5,000,000円 and the average per vehicle is OVER
30,000円 (etc-domain.md §1.3); 5% for 割引対象一般有料道路 with the same thresholds."""
from decimal import Decimal

import pytest

from app.domain.pricing.contract import contract_discount
from app.domain.pricing.rounding import CEILING, FLOOR

TEN = Decimal("0.10")


def _discount(total, vehicles, rate=TEN, rounding=FLOOR):
    return contract_discount(total, vehicles, 5_000_000, 30_000, rate, rounding)[0]


@pytest.mark.parametrize("total, vehicles, expected", [
    (5_000_000, 100, 0),          # total exactly 5,000,000 is not "over" (average 50,000)
    (5_000_001, 100, 500_000),    # 500,000.1 → 500,000
    (6_000_000, 200, 0),          # average exactly 30,000 is not "over"
    (6_000_200, 200, 600_020),    # average 30,001
    (6_000_001, 200, 600_000),    # average 30,000.005 is over; 600,000.1 → 600,000
    (4_999_999, 10, 0),           # high average, total too small
    (9_000_000, 301, 0),          # total large, average 29,900.3
    (9_000_000, 0, 0),            # no vehicles: no average, no discount
])
def test_thresholds_are_strictly_over(total, vehicles, expected):
    assert _discount(total, vehicles) == expected


def test_rounding_and_the_5_percent_general_toll_road_rate():
    assert _discount(5_000_001, 100, rounding=CEILING) == 500_001
    assert _discount(6_000_010, 100, rate=Decimal("0.05")) == 300_000  # 300,000.5 → 300,000


def test_breakdown_says_why():
    _, none = contract_discount(5_000_000, 100, 5_000_000, 30_000, TEN)
    assert "契約単位割引なし" in str(none) and "5,000,000円超 かつ 30,000円超" in str(none)
    _, given = contract_discount(6_000_200, 200, 5_000_000, 30_000, TEN)
    assert str(given) == "契約単位割引 6,000,200円 × 10% = 600,020円"

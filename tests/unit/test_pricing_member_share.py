"""組合員割引: pass-through ratio of the operator discount, or the cooperative's own rate table
(中央経友会: 1.0–9.8% by the member's monthly usage), etc-domain.md §6."""
from decimal import Decimal

import pytest

from app.domain.pricing.member_share import UsageTier, pass_through, tiered_rate
from app.domain.pricing.rounding import CEILING, FLOOR, HALF_UP


@pytest.mark.parametrize("discount, ratio, rounding, expected", [
    (7500, "1.0", FLOOR, 7500),
    (7500, "0.8", FLOOR, 6000),
    (7500, "0", FLOOR, 0),
    (4501, "0.5", FLOOR, 2250),     # 2,250.5
    (4501, "0.5", HALF_UP, 2251),
    (4501, "0.5", CEILING, 2251),
    (999, "0.333", FLOOR, 332),     # 332.667
])
def test_pass_through(discount, ratio, rounding, expected):
    amount, breakdown = pass_through(discount, Decimal(ratio), rounding)
    assert amount == expected
    assert f"{discount:,}円" in str(breakdown)


def test_pass_through_breakdown():
    assert str(pass_through(7500, Decimal("0.8"))[1]) == "組合員割引 道路事業者割引 7,500円 × 80% = 6,000円"


# 1.0% over 0, 3.0% over 100,000, 5.5% over 300,000, 9.8% over 500,000 (a table in the style of §6)
TIERS = [UsageTier(0, Decimal("0.010")), UsageTier(100_000, Decimal("0.030")),
         UsageTier(300_000, Decimal("0.055")), UsageTier(500_000, Decimal("0.098"))]


@pytest.mark.parametrize("usage, expected", [
    (0, 0),
    (1, 0),               # 0.01
    (100_000, 1_000),     # not over 100,000: 1.0% of the whole
    (100_001, 3_000),     # 3.0% of the whole 100,001 = 3,000.03 (not marginal)
    (300_000, 9_000),
    (300_001, 16_500),    # 16,500.055
    (500_000, 27_500),
    (500_001, 49_000),    # 9.8% × 500,001 = 49,000.098
    (1_234_567, 120_987),  # 120,987.566
])
def test_table_rate_applies_to_the_whole_usage(usage, expected):
    assert tiered_rate(usage, TIERS)[0] == expected


def test_table_order_does_not_matter_and_rounding_applies():
    assert tiered_rate(500_001, list(reversed(TIERS)))[0] == 49_000
    assert tiered_rate(500_001, TIERS, CEILING)[0] == 49_001
    assert str(tiered_rate(500_001, TIERS)[1]) == "組合員割引 利用額 500,001円 × 9.8% = 49,000円"


def test_no_tier_reached_means_no_discount():
    assert tiered_rate(50_000, [UsageTier(100_000, Decimal("0.05"))])[0] == 0

"""手数料: percentage of usage, flat fees per card / member / event, minimum charge (etc-domain.md §4.5, §6)."""
from decimal import Decimal

import pytest

from app.domain.pricing.fees import flat_fee, minimum_charge, percentage_fee
from app.domain.pricing.rounding import CEILING, FLOOR, HALF_UP


@pytest.mark.parametrize("base, rate, rounding, expected", [
    (123_456, "0.02", FLOOR, 2_469),    # 2,469.12
    (123_456, "0.08", FLOOR, 9_876),    # 9,876.48 (8%: 高速情報協同組合, §6)
    (123_456, "0.08", HALF_UP, 9_876),
    (123_456, "0.08", CEILING, 9_877),
    (125, "0.02", HALF_UP, 3),          # 2.5
    (0, "0.02", FLOOR, 0),
])
def test_percentage_fee(base, rate, rounding, expected):
    assert percentage_fee(base, Decimal(rate), "事務手数料", rounding)[0] == expected


def test_percentage_fee_breakdown():
    assert str(percentage_fee(123_456, Decimal("0.02"), "事務手数料")[1]) == "事務手数料 123,456円 × 2% = 2,469円"


def test_flat_fees():
    amount, breakdown = flat_fee(3, 629, "年間カード手数料", "枚")
    assert amount == 1_887 and str(breakdown) == "年間カード手数料 629円 × 3枚 = 1,887円"
    assert flat_fee(1, 660, "組合員管理料", "件")[0] == 660
    assert flat_fee(0, 629, "年間カード手数料", "枚")[0] == 0


@pytest.mark.parametrize("charged, expected", [(800, 200), (999, 1), (1000, 0), (1500, 0), (0, 1000), (-300, 1300)])
def test_minimum_charge_tops_up(charged, expected):
    assert minimum_charge(charged, 1000, "最低請求額")[0] == expected


def test_minimum_charge_breakdown():
    assert str(minimum_charge(800, 1000, "最低請求額")[1]) == "最低請求額 1,000円 − 当月分の請求額 800円 = 200円"
    assert "加算なし" in str(minimum_charge(1000, 1000, "最低請求額")[1])

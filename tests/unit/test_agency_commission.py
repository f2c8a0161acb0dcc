"""代理店手数料: rules across an effective-date switch, rounding, withholding for individuals."""
import datetime as dt
from decimal import Decimal

import pytest

from app.domain.agency_commission import AgencyMonth, CommissionRule, commission_lines, withholding
from app.domain.errors import DomainError

RULES = [
    CommissionRule("A001", "usage_rate", dt.date(2026, 4, 1), dt.date(2026, 9, 30), rate=Decimal("0.02")),
    CommissionRule("A001", "usage_rate", dt.date(2026, 10, 1), rate=Decimal("0.015")),
    CommissionRule("A001", "per_card", dt.date(2026, 10, 1), amount=100),
    CommissionRule("A002", "fee_rate", dt.date(2026, 1, 1), rate=Decimal("0.1")),
]
DATA = AgencyMonth("A001", usage_total=123_457, fee_total=5_000, cards=3)


def test_rules_across_an_effective_date_switch():
    september = commission_lines(dt.date(2026, 9, 1), DATA, RULES)
    assert [(l.basis, l.commission) for l in september] == [("usage_rate", 2469)]  # 123,457 × 2% = 2,469.14
    october = commission_lines(dt.date(2026, 10, 1), DATA, RULES)
    assert [(l.basis, l.commission) for l in october] == [("usage_rate", 1851), ("per_card", 300)]  # 1,851.855
    assert october[0].describe() == "利用額（通行料金）の率 123,457円 × 1.5% = 1,851円（円未満切り捨て）"
    fees = commission_lines(dt.date(2026, 10, 1), AgencyMonth("A002", 0, 5_555, 0), RULES)
    assert [l.commission for l in fees] == [555]


def test_withholding_only_for_individuals():
    assert withholding(100_000, individual=False) == 0
    assert withholding(100_000, individual=True) == 10_210
    assert withholding(99_999, individual=True) == 10_209  # 10,209.8979 cut off
    assert withholding(1_500_000, individual=True) == 102_100 + 102_100  # 500,000 × 20.42%


def test_bad_rules_are_refused():
    with pytest.raises(DomainError, match="率"):
        CommissionRule("A001", "usage_rate", dt.date(2026, 1, 1), rate=Decimal("5"))
    with pytest.raises(DomainError, match="計算方法"):
        CommissionRule("A001", "percent", dt.date(2026, 1, 1), rate=Decimal("0.1"))

"""端数処理: floor（切り捨て）, half_up（四捨五入）, ceiling（切り上げ）, to 1円 or to a unit such as 10円."""
from decimal import Decimal

import pytest

from app.domain.pricing.rounding import CEILING, FLOOR, HALF_UP, ROUNDING_NAMES, round_yen


@pytest.mark.parametrize("value, floor, half_up, ceiling", [
    ("500.1", 500, 500, 501),
    ("500.5", 500, 501, 501),
    ("500.9", 500, 501, 501),
    ("4500.3", 4500, 4500, 4501),
    ("4499.8", 4499, 4500, 4500),
    ("7500", 7500, 7500, 7500),
    ("0.5", 0, 1, 1),
])
def test_modes_to_whole_yen(value, floor, half_up, ceiling):
    assert round_yen(Decimal(value), FLOOR) == floor
    assert round_yen(Decimal(value), HALF_UP) == half_up
    assert round_yen(Decimal(value), CEILING) == ceiling


def test_floor_is_the_default():
    assert round_yen(Decimal("28.63")) == 28


@pytest.mark.parametrize("value, expected", [(1234, 1230), (1235, 1240), (1005, 1010), (1004, 1000),
                                             ("1234.9", 1230), (5, 10), (4, 0)])
def test_half_up_to_10_yen_as_the_corporate_morning_evening_discount(value, expected):
    # 平日朝夕割引（コーポレート）は10円単位で四捨五入（etc-domain.md §2.3）
    assert round_yen(Decimal(str(value)), HALF_UP, unit=10) == expected


def test_floor_and_ceiling_to_10_yen():
    assert round_yen(Decimal(1239), FLOOR, unit=10) == 1230
    assert round_yen(Decimal(1231), CEILING, unit=10) == 1240
    assert round_yen(Decimal(1230), CEILING, unit=10) == 1230


def test_accepts_int_and_returns_int():
    result = round_yen(315, FLOOR)
    assert result == 315 and isinstance(result, int)


def test_floor_of_a_negative_amount_goes_down():
    # ROUND_FLOOR rounds towards minus infinity: callers round positive discounts and negate them.
    assert round_yen(Decimal("-28.6"), FLOOR) == -29


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError):
        round_yen(Decimal(1), "banker")


def test_every_mode_has_a_japanese_name():
    assert ROUNDING_NAMES == {FLOOR: "切り捨て", HALF_UP: "四捨五入", CEILING: "切り上げ"}

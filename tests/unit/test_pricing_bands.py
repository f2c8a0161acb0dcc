"""車両単位割引: marginal bands per card per month (etc-domain.md §1.2 NEXCO, §1.6 首都高・阪神)."""
from decimal import Decimal

import pytest

from app.domain.pricing.bands import Band, graduated_discount, parse_bands
from app.domain.pricing.rounding import CEILING, FLOOR, HALF_UP

NEXCO = parse_bands([[5000, "0"], [10000, "0.10"], [30000, "0.20"], [None, "0.30"]])
ETC2_COMMERCIAL = parse_bands([[5000, "0"], [10000, "0.20"], [30000, "0.30"], [None, "0.40"]])
SHUTOKO = parse_bands([[5000, "0"], [10000, "0.10"], [30000, "0.20"], [None, "0.25"]])
HANSHIN_2017 = parse_bands([[5000, "0"], [10000, "0.10"], [30000, "0.15"], [None, "0.20"]])


def _discount(amount, bands=NEXCO, rounding=FLOOR):
    return graduated_discount(amount, bands, rounding)[0]


# Exact values before rounding, worked by hand:
#   5,001 → 1 × 10% = 0.1;  10,000 → 5,000 × 10% = 500;  10,001 → 500 + 1 × 20% = 500.2
#   29,999 → 500 + 19,999 × 20% = 4,499.8;  30,000 → 500 + 4,000 = 4,500;  30,001 → 4,500 + 0.3 = 4,500.3
@pytest.mark.parametrize("amount, floor, half_up, ceiling", [
    (0, 0, 0, 0),
    (4999, 0, 0, 0),
    (5000, 0, 0, 0),
    (5001, 0, 0, 1),
    (9999, 499, 500, 500),    # 4,999 × 10% = 499.9
    (10000, 500, 500, 500),
    (10001, 500, 500, 501),   # 500.2
    (29999, 4499, 4500, 4500),
    (30000, 4500, 4500, 4500),
    (30001, 4500, 4500, 4501),  # 4,500.3
    (30005, 4501, 4502, 4502),  # 4,501.5
])
def test_nexco_band_edges(amount, floor, half_up, ceiling):
    assert _discount(amount, rounding=FLOOR) == floor
    assert _discount(amount, rounding=HALF_UP) == half_up
    assert _discount(amount, rounding=CEILING) == ceiling


def test_nexco_worked_example_40000_gives_7500():
    # 0 + 500 + 4,000 + 3,000 = 7,500円 (§1.2)
    discount, breakdown = graduated_discount(40000, NEXCO)
    assert discount == 7500
    assert breakdown.steps == [
        "5,001〜10,000円の 5,000円 × 10% = 500.00円",
        "10,001〜30,000円の 20,000円 × 20% = 4,000.00円",
        "30,001〜円の 10,000円 × 30% = 3,000.00円",
        "車両単位割引 7,500円（40,000円に対して）",
    ]


def test_bands_are_marginal_not_a_whole_amount_rate():
    assert _discount(100000) == 500 + 4000 + 21000  # not 30,000
    assert _discount(30001, rounding=CEILING) < 30001 * Decimal("0.2")


@pytest.mark.parametrize("amount, expected", [
    (5000, 0), (10000, 1000), (10001, 1000), (30000, 7000), (30001, 7000), (40000, 11000),
])
def test_etc2_commercial_bands(amount, expected):
    # 20/30/40%: 40,000 → 0 + 1,000 + 6,000 + 4,000 = 11,000; 10,001 → 1,000.3; 30,001 → 7,000.4
    assert _discount(amount, ETC2_COMMERCIAL) == expected


def test_etc2_commercial_ceiling_at_edges():
    assert _discount(10001, ETC2_COMMERCIAL, CEILING) == 1001
    assert _discount(30001, ETC2_COMMERCIAL, CEILING) == 7001


@pytest.mark.parametrize("amount, floor, half_up", [
    (10000, 500, 500), (30000, 4500, 4500), (30002, 4500, 4501),  # 4,500.5
    (40000, 7000, 7000),  # 500 + 4,000 + 2,500
])
def test_shutoko_shaped_bands(amount, floor, half_up):
    assert _discount(amount, SHUTOKO, FLOOR) == floor
    assert _discount(amount, SHUTOKO, HALF_UP) == half_up


def test_hanshin_2017_bands():
    # 阪神圏 10/15/20%: 40,000 → 500 + 3,000 + 2,000 = 5,500
    assert _discount(40000, HANSHIN_2017) == 5500


def test_rounded_once_per_card_not_per_band():
    # 0.5 + 0.5 = 1.0 → 1円; rounding each band down first would give 0 + 0.
    bands = parse_bands([[1, "0.5"], [2, "0.5"], [None, "0"]])
    assert _discount(2, bands) == 1
    # NEXCO 30,005: 500 + 4,000 + 1.5 = 4,501.5 → 4,501 (floor) / 4,502 (half up), computed on the sum.
    assert (_discount(30005, rounding=FLOOR), _discount(30005, rounding=HALF_UP)) == (4501, 4502)


def test_negative_or_zero_amount_gives_no_discount():
    assert _discount(-1000) == 0
    assert _discount(0) == 0


def test_parse_bands_accepts_yaml_rows():
    assert NEXCO[1] == Band(10000, Decimal("0.10"))
    assert NEXCO[-1] == Band(None, Decimal("0.30"))


@pytest.mark.parametrize("rows, message", [
    ([[10000, "0.1"], [5000, "0.2"], [None, "0.3"]], "小さい順"),
    ([[5000, "0.1"], [5000, "0.2"], [None, "0.3"]], "小さい順"),
    ([[5000, "0.1"], [10000, "0.2"]], "上限なし"),
    ([[None, "0.1"], [5000, "0.2"], [None, "0.3"]], "上限なし"),
    ([[5000, "0"], [None, "1.5"]], "0〜1"),
    ([[5000, "-0.1"], [None, "0.1"]], "0〜1"),
    ([[0, "0"], [None, "0.1"]], "小さい順"),
])
def test_parse_bands_refuses_bad_tables(rows, message):
    with pytest.raises(ValueError, match=message):
        parse_bands(rows)

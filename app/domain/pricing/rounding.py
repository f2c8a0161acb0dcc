"""端数処理: 切り捨て (floor, the default), 四捨五入 (half up) and 切り上げ (ceiling), to whole yen
or to a unit (平日朝夕割引 corporate rounds half up to 10円, etc-domain.md §1.4 / §2.3)."""
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

FLOOR, HALF_UP, CEILING = "floor", "half_up", "ceiling"
ROUNDING_NAMES = {FLOOR: "切り捨て", HALF_UP: "四捨五入", CEILING: "切り上げ"}
_MODES = {FLOOR: ROUND_FLOOR, HALF_UP: ROUND_HALF_UP, CEILING: ROUND_CEILING}


def round_yen(value: Decimal, mode: str = FLOOR, unit: int = 1) -> int:
    if mode not in _MODES:
        raise ValueError(f"unknown rounding {mode!r}")
    if not isinstance(value, Decimal):
        value = Decimal(value)
    units = (value / unit).quantize(Decimal(1), rounding=_MODES[mode])
    return int(units) * unit

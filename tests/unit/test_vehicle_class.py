import pytest

from app.domain.errors import DomainError
from app.domain.vehicle_class import VEHICLE_CLASSES, parse_vehicle_class


def test_five_classes_with_nexco_numbers():
    assert VEHICLE_CLASSES == {1: "普通車", 2: "大型車", 3: "特大車", 4: "中型車", 5: "軽自動車等"}


@pytest.mark.parametrize("typed, code", [
    (1, 1), ("2", 2), ("03", 3), (" 04 ", 4), ("05", 5), ("普通", 1), ("大型", 2), ("特大", 3), ("中型", 4),
    ("軽", 5), ("軽自動車", 5), ("普通車", 1), ("大型車", 2), ("特大車", 3), ("中型車", 4), ("軽自動車等", 5),
])
def test_codes_and_names(typed, code):
    assert parse_vehicle_class(typed) == code


@pytest.mark.parametrize("typed", [0, 6, "六", "", None, "小型", "1.5"])
def test_unknown_classes(typed):
    with pytest.raises(DomainError) as error:
        parse_vehicle_class(typed)
    assert error.value.field == "vehicle_class"
    assert error.value.message.endswith("は 1 普通, 2 大型, 3 特大, 4 中型, 5 軽 のいずれかです。")

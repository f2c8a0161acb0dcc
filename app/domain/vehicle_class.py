"""料金車種区分: the five toll classes and their NEXCO numbers (etc-domain.md §5)."""
from .errors import DomainError

VEHICLE_CLASSES = {1: "普通車", 2: "大型車", 3: "特大車", 4: "中型車", 5: "軽自動車等"}
_BY_NAME = {name: code for code, name in VEHICLE_CLASSES.items()}
_BY_NAME.update({"普通": 1, "大型": 2, "特大": 3, "中型": 4, "軽": 5, "軽自動車": 5})


def parse_vehicle_class(value) -> int:
    """Accept 1..5, '01'..'05' (operator data) or the Japanese name."""
    text = str(value if value is not None else "").strip()
    if text in _BY_NAME:
        return _BY_NAME[text]
    try:
        code = int(text)
    except ValueError:
        code = None
    if code not in VEHICLE_CLASSES:
        raise DomainError(f"車種「{text}」は 1 普通, 2 大型, 3 特大, 4 中型, 5 軽 のいずれかです。", "vehicle_class")
    return code

"""How values look on the member documents (PDF): yen with thousands separators, signed amounts,
card numbers masked but for the last four digits. Pure: used inside render worker processes."""
from app.domain.card_number import mask_card_number
from app.domain.pricing.breakdown import CARRIED_OVER, NON_TAXABLE, TAXABLE_10
from app.domain.vehicle_class import VEHICLE_CLASSES

# The tax column of a line: a carried credit (繰越) is neither taxed here nor 不課税 (pricing/tax.py).
TAX_LABELS = {TAXABLE_10: "10%", NON_TAXABLE: "不課税", CARRIED_OVER: "対象外"}


def amount(value: int | None) -> str:
    """12345 → '12,345'; -6000 → '-6,000' (a discount or credit); None → ''."""
    if value is None:
        return ""
    return f"{int(value):,}"


def yen(value: int | None) -> str:
    """12345 → '12,345円'."""
    return "" if value is None else f"{amount(value)}円"


def yen_mark(value: int | None) -> str:
    """The amount box of an invoice: '¥12,345-' is how Japanese invoices close an amount so that no
    digit can be added; a credit reads '-¥6,000-'."""
    if value is None:
        return ""
    sign = "-" if value < 0 else ""
    return f"{sign}¥{abs(int(value)):,}-"


def masked_card(number: str | None) -> str:
    """'1000010000000011' → '************0011' (domain rule: only the last 4 digits are shown)."""
    return mask_card_number(number) if number else ""


def vehicle_class_name(code: int | None) -> str:
    return VEHICLE_CLASSES.get(code, "") if code else ""


def tax_label(category: str) -> str:
    return TAX_LABELS.get(category, category)

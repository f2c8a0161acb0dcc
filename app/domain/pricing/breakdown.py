from dataclasses import dataclass, field

TAXABLE_10 = "10%"
NON_TAXABLE = "不課税"


@dataclass(frozen=True)
class Charge:
    """One line of an invoice: what, how much (integer yen; negative for a discount), which tax
    rate it falls under, and the rule that made it."""

    description: str
    amount: int
    tax_category: str = TAXABLE_10
    rule_id: str = ""
    card_id: int | None = None
    kind: str = "fee"  # usage, operator_discount, member_discount, fee, rebate, adjustment, carried_over


@dataclass
class Breakdown:
    """Human-readable steps of a calculation, e.g. '5,001〜10,000円 × 10% = 500円'."""

    steps: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.steps.append(text)

    def __str__(self) -> str:
        return "\n".join(self.steps)


def percent(rate) -> str:
    """Decimal('0.10') → '10%', Decimal('0.098') → '9.8%'."""
    value = (rate * 100).normalize()
    return f"{value:f}%"

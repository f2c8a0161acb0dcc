from dataclasses import dataclass, field
from functools import lru_cache

TAXABLE_10 = "10%"
NON_TAXABLE = "不課税"
# A credit of an earlier invoice carried into this one (前月繰越（貸方）): not a sale of this month, so
# it carries no consumption tax here (the credit invoice it came from already had its own, negative,
# tax) and is not 不課税 either: it is shown apart from both.
CARRIED_OVER = "繰越"


@dataclass(frozen=True)
class Charge:
    """One line of an invoice: what, how much (integer yen; negative for a discount), which tax
    rate it falls under, and the rule that made it."""

    description: str
    amount: int
    tax_category: str = TAXABLE_10
    rule_id: str = ""
    card_id: int | None = None
    # usage, non_taxable, operator_discount, member_discount, fee, rebate, adjustment, carried_over
    kind: str = "fee"


@dataclass
class Breakdown:
    """Human-readable steps of a calculation, e.g. '5,001〜10,000円 × 10% = 500円'."""

    steps: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.steps.append(text)

    def __str__(self) -> str:
        return "\n".join(self.steps)


@lru_cache(maxsize=256)
def percent(rate) -> str:
    """Decimal('0.10') → '10%', Decimal('0.098') → '9.8%'."""
    value = (rate * 100).normalize()
    return f"{value:f}%"

"""member_discount — how much of the operators' discounts a member receives (組合員割引).

Two methods seen at cooperatives (etc-domain.md §6):
- `pass_through` with `ratio`: that share of each 車両単位割引 the road operator gave on the
  member's cards (one line per card and vehicle_discount rule). The first pass_through rule (by id)
  whose scope takes the card decides; with none, the whole discount stays with the cooperative.
- `table` with `tiers`: the cooperative's own table by the member's monthly usage (中央経友会
  passes back 1.0–9.8%): the whole usage at the rate of the highest tier reached (not marginal)."""
from decimal import Decimal

from ..card_number import format_card_number
from ..errors import DomainError
from .breakdown import TAXABLE_10, Charge
from .member_share import UsageTier, pass_through, tiered_rate
from .rule_type import InvoiceDraft, RuleType, check_rate

METHODS = ("pass_through", "table")


def member_tiers(rule) -> list[UsageTier]:
    return [UsageTier(int(over), Decimal(str(rate))) for over, rate in rule.params.get("tiers") or []]


class MemberDiscount(RuleType):
    name = "member_discount"
    title = "組合員への割引還元"
    required = ("method",)
    optional = ("ratio", "tiers")
    order = 30

    @classmethod
    def check(cls, params, where):
        super().check(params, where)
        method = params["method"]
        if method not in METHODS:
            raise DomainError(f"{where}: method は pass_through か table です。")
        if "ratio" in params:
            check_rate(params, "ratio", where)
        if method == "pass_through" and "ratio" not in params:
            raise DomainError(f"{where}: pass_through には ratio が必要です。")
        if method == "table":
            tiers = [UsageTier(int(over), Decimal(str(rate))) for over, rate in params.get("tiers") or []]
            if not tiers:
                raise DomainError(f"{where}: table には tiers（[利用額, 割引率] の表）が必要です。")
            if any(not Decimal(0) <= tier.rate <= Decimal(1) for tier in tiers):
                raise DomainError(f"{where}: tiers の割引率は 0〜1 の小数です（9.8% は 0.098）。")

    def apply(self, invoice: InvoiceDraft) -> None:
        rule = self.rule
        if rule.params["method"] == "pass_through":
            passed_on = invoice.passed_on
            ratio = rule.decimal("ratio")
            for index, given in enumerate(invoice.operator_discounts):
                if index in passed_on or not self.matches_card(given.card_kind):
                    continue
                passed_on.add(index)
                amount, steps = pass_through(given.amount, ratio, rule.rounding)
                if amount:
                    invoice.add(Charge(f"{given.label} {format_card_number(given.card_number)}", -amount, TAXABLE_10,
                                       f"{given.rule_id}+{rule.rule_id}", given.card_id, "member_discount"),
                                f"{given.breakdown}\n{steps}")
            return
        base = sum(u.amount_billed for u in invoice.usages if self.matches_card(u.card_kind))
        amount, steps = tiered_rate(base, member_tiers(rule), rule.rounding)
        if amount:
            invoice.add(Charge(rule.label, -amount, TAXABLE_10, rule.rule_id, None, "member_discount"), steps)

"""usage_fee — 事務手数料: `rate` of the member's taxable tolls on the rule's cards (8% at some
credit-card cooperatives, etc-domain.md §6). 不課税 amounts (関空橋税) are not in the base."""
from .breakdown import TAXABLE_10, Charge
from .fees import percentage_fee
from .rule_type import InvoiceDraft, RuleType, check_rate


class UsageFee(RuleType):
    name = "usage_fee"
    title = "事務手数料（利用額の％）"
    required = ("rate",)
    order = 40

    @classmethod
    def check(cls, params, where):
        super().check(params, where)
        check_rate(params, "rate", where)

    def apply(self, invoice: InvoiceDraft) -> None:
        rule = self.rule
        base = sum(u.amount_billed for u in invoice.usages if self.matches_card(u.card_kind))
        amount, steps = percentage_fee(base, rule.decimal("rate"), rule.label, rule.rounding)
        if amount:
            invoice.add(Charge(rule.label, amount, TAXABLE_10, rule.rule_id), steps)

"""card_monthly_fee — カード管理料: `amount` per card in force in the month (cards_in_force.py)."""
from .breakdown import TAXABLE_10, Charge
from .fees import flat_fee
from .rule_type import InvoiceDraft, RuleType, check_yen


class CardMonthlyFee(RuleType):
    name = "card_monthly_fee"
    title = "カード管理料（1枚・月）"
    required = ("amount",)
    order = 41

    @classmethod
    def check(cls, params, where):
        super().check(params, where)
        check_yen(params, "amount", where)

    def apply(self, invoice: InvoiceDraft) -> None:
        count = sum(1 for _, _, kind in invoice.cards if self.matches_card(kind))
        if count:
            amount, steps = flat_fee(count, self.rule.params["amount"], self.rule.label, "枚")
            invoice.add(Charge(self.rule.label, amount, TAXABLE_10, self.rule.rule_id), steps)

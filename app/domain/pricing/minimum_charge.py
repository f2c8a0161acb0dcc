"""minimum_charge — 最低請求額: when the month's own charges (tolls, discounts, fees, 不課税) are
below `amount`, the difference is added. Corrections of earlier invoices and carried credits are
not the month's own charges: they come after the minimum and are never absorbed by it (a
−50,000円 correction stays a −50,000円 credit)."""
from .breakdown import TAXABLE_10, Charge
from .fees import minimum_charge
from .rule_type import InvoiceDraft, RuleType, check_yen


class MinimumCharge(RuleType):
    name = "minimum_charge"
    title = "最低請求額"
    required = ("amount",)
    order = 70

    @classmethod
    def check(cls, params, where):
        super().check(params, where)
        check_yen(params, "amount", where)

    def apply(self, invoice: InvoiceDraft) -> None:
        top_up, steps = minimum_charge(invoice.own_charges(), self.rule.params["amount"], self.rule.label)
        if top_up:
            invoice.add(Charge(self.rule.label, top_up, TAXABLE_10, self.rule.rule_id), steps)

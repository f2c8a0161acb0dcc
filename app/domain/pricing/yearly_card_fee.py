"""yearly_card_fee — 年間カード手数料: in `month` only (April at most cooperatives, etc-domain.md §6),
`amount` per card in force in that month (cards_in_force.py: a card lost or cancelled before the
month's first day is not charged)."""
from ..errors import DomainError
from .breakdown import TAXABLE_10, Charge
from .fees import flat_fee
from .rule_type import InvoiceDraft, RuleType, check_yen


class YearlyCardFee(RuleType):
    name = "yearly_card_fee"
    title = "年間カード手数料"
    required = ("month", "amount")
    order = 43

    @classmethod
    def check(cls, params, where):
        super().check(params, where)
        check_yen(params, "amount", where)
        month = params["month"]
        if isinstance(month, bool) or month not in range(1, 13):
            raise DomainError(f"{where}: month は 1〜12 です。")

    def apply(self, invoice: InvoiceDraft) -> None:
        if int(invoice.month[5:7]) != self.rule.params["month"]:
            return
        count = sum(1 for _, _, kind in invoice.cards if self.matches_card(kind))
        if count:
            amount, steps = flat_fee(count, self.rule.params["amount"], self.rule.label, "枚")
            invoice.add(Charge(self.rule.label, amount, TAXABLE_10, self.rule.rule_id), steps)

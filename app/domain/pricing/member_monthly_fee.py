"""member_monthly_fee — 組合員管理料: `amount` per member per month (navi.or.jp 660円, etc-domain.md §6)."""
from .breakdown import TAXABLE_10, Charge
from .fees import flat_fee
from .rule_type import InvoiceDraft, RuleType, check_yen


class MemberMonthlyFee(RuleType):
    name = "member_monthly_fee"
    title = "組合員管理料（1組合員・月）"
    required = ("amount",)
    order = 42

    @classmethod
    def check(cls, params, where):
        super().check(params, where)
        check_yen(params, "amount", where)

    def apply(self, invoice: InvoiceDraft) -> None:
        amount, steps = flat_fee(1, self.rule.params["amount"], self.rule.label, "件")
        invoice.add(Charge(self.rule.label, amount, TAXABLE_10, self.rule.rule_id), steps)

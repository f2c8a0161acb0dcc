"""event_fee — カード異動手数料: `amount` for each billable card event of kind `event` (issue 629円,
loss 660円, … etc-domain.md §4.5, §6). Which events a month bills: billable_events.py."""
from ..card_lifecycle import EVENT_KINDS
from ..card_number import format_card_number
from ..errors import DomainError
from .breakdown import TAXABLE_10, Charge
from .rule_type import InvoiceDraft, RuleType, check_yen


class EventFee(RuleType):
    name = "event_fee"
    title = "カード異動手数料"
    required = ("event", "amount")
    order = 44

    @classmethod
    def check(cls, params, where):
        super().check(params, where)
        check_yen(params, "amount", where)
        if params["event"] not in EVENT_KINDS:
            raise DomainError(f"{where}: event は {', '.join(EVENT_KINDS)} のいずれかです。")

    def apply(self, invoice: InvoiceDraft) -> None:
        rule = self.rule
        amount = rule.params["amount"]
        for event in invoice.events:
            if event.kind != rule.params["event"] or not self.matches_card(event.card_kind):
                continue
            name = EVENT_KINDS[event.kind]
            invoice.add(Charge(f"{rule.label}（{name} {format_card_number(event.card_number)}）", amount, TAXABLE_10,
                               rule.rule_id, event.card_id, "fee"), f"{name} 1件 × {amount:,}円")

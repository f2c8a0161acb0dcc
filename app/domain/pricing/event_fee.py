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
                               rule.rule_id, event.card_id, "fee"),
                        f"{name} 1件 × {amount:,}円" + together(event, invoice.events))

    @classmethod
    def explain(cls, params) -> str:
        name = EVENT_KINDS.get(params.get("event"), params.get("event"))
        return (f"「{name}」の届出1件ごとに {int(params.get('amount', 0)):,}円。同じカードに届出が続くとき"
                "（紛失・盗難のあとの再発行など）は、届出ごとにそれぞれの手数料を請求します"
                "（例: 紛失・盗難手数料 ＋ カード再発行手数料）。")


def together(event, events) -> str:
    """Fees charged together are explained (issue 9 item 17): a loss and its reissue on the same card are
    two notifications (紛失届, 再発行申込書), each with its own fee (etc-domain.md §6: a cooperative charges 660円
    亡失手数料 and 629円 for the reissue)."""
    others = [EVENT_KINDS[e.kind] for e in events if e.card_id == event.card_id and e is not event]
    if not others:
        return ""
    return (f"（同じカードの「{'」「'.join(dict.fromkeys(others))}」と合わせて請求: 届出ごとに手数料がかかります）")

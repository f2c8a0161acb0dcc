"""One member's invoice for one month, from its usage and the tariff valid that month.

`calculate_invoice` runs the steps in one order (docs/tariff.md, 計算の順序): the card's tolls, then
each rule of the tariff by its type's `order` (pricing/*.py: 不課税 → 車両単位割引 → 組合員割引 →
契約単位割引の還元 → 手数料 → 最低請求額), then corrections of earlier invoices and carried credits,
then consumption tax once per rate. Every line carries the rule it came from and the printable steps
of its calculation. Pure: same input, same lines, whatever the order of usages, cards and events.
"""
from dataclasses import dataclass, field

from .card_number import format_card_number
from .member_month import (CardEventFee, CardUsage, CarriedCredit, Line, MemberMonth,  # noqa: F401 (re-exported)
                           NonTaxableUsage)
from .pricing.breakdown import CARRIED_OVER, NON_TAXABLE, TAXABLE_10, Charge
from .pricing.contract_discount import allocate_pro_rata, contract_share_line  # noqa: F401 (re-exported)
from .pricing.rule_type import InvoiceDraft, rule_types
from .pricing.tax import TaxSubtotal, tax_subtotals

CARRIED_LABEL = "前月繰越（貸方）"
UNPAID_LABEL = "前月未収額"


@dataclass
class InvoiceResult:
    lines: list[Line]
    subtotals: list[TaxSubtotal]
    operator_discount: int  # what the road operators gave on this member's cards (for the margin)
    band_discounts: dict = field(default_factory=dict)  # InvoiceDraft.band_discounts

    @property
    def total(self) -> int:
        return sum(line.charge.amount for line in self.lines)

    @property
    def is_credit(self) -> bool:
        """A total below zero: issued as a credit (no debit), carried to the member's next invoice."""
        return self.total < 0

    def amount_of(self, kind: str) -> int:
        return sum(line.charge.amount for line in self.lines if line.charge.kind == kind)

    def totals(self) -> dict:
        """The invoice's columns: 通行料金 (不課税 included), 割引 (positive), 手数料, 訂正・繰越, per-rate
        subtotals and the total. usage − discount + fee + adjustment = total."""
        usage = discount = fee = adjustment = 0
        for line in self.lines:
            kind, amount = line.charge.kind, line.charge.amount
            if kind in ("usage", "non_taxable"):
                usage += amount
            elif kind == "member_discount":
                discount -= amount
            elif kind in ("adjustment", "carried_over"):
                adjustment += amount
            else:
                fee += amount
        by_category = {s.category: s for s in self.subtotals}
        ten = by_category.get(TAXABLE_10)
        none = by_category.get(NON_TAXABLE)
        return dict(usage_total=usage, discount_total=discount, fee_total=fee, adjustment_total=adjustment,
                    taxable_total=ten.total_including_tax if ten else 0, tax_amount=ten.tax if ten else 0,
                    non_taxable_total=none.total_including_tax if none else 0, total=self.total,
                    operator_discount_total=self.operator_discount)


def _usage_key(usage: CardUsage) -> tuple:
    """A total order on usages, so that equal card numbers never leave the result to the input order."""
    return (usage.card_number, usage.road_operator or "", usage.card_id, usage.card_kind, usage.amount_billed,
            usage.discount_base, usage.rows, usage.etc2_commercial, usage.general_toll_base, usage.public_corp_base)


def _usage_lines(invoice: InvoiceDraft) -> None:
    """通行料金: one line per card, the taxable tolls of all its operators."""
    by_card: dict[tuple, int] = {}
    before_by_card: dict[tuple, int | None] = {}
    for usage in invoice.usages:
        key = (usage.card_id, usage.card_number, usage.card_kind)
        by_card[key] = by_card.get(key, 0) + usage.amount_billed
        if usage.amount_before_discount is None or before_by_card.get(key, 0) is None:
            before_by_card[key] = None
        else:
            before_by_card[key] = before_by_card.get(key, 0) + usage.amount_before_discount
    with_tax = {n.card_id for n in invoice.member.non_taxable}
    for (card_id, number, kind), amount in sorted(by_card.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2])):
        if not amount and card_id in with_tax:
            continue  # the card's only rows were 不課税: their line is in the 不課税 section
        before = before_by_card.get((card_id, number, kind))
        steps = (f"割引前料金 {before:,}円 − 道路事業者の時間帯割引等 {before - amount:,}円 = 通行料金 {amount:,}円"
                 if before is not None else f"走行明細の通行料金合計 {amount:,}円")
        invoice.add(Charge(f"通行料金 {format_card_number(number)}", amount, TAXABLE_10, "usage", card_id, "usage"),
                    steps)


def _adjustment_lines(invoice: InvoiceDraft) -> None:
    for adjustment in invoice.member.adjustments:
        invoice.lines.append(Line(adjustment, "前月以前の請求書の訂正"))


def carried_label(amount: int) -> str:
    """前月繰越（貸方） for a credit, 前月未収額 for an unpaid balance (one name per sign, everywhere)."""
    return CARRIED_LABEL if amount < 0 else UNPAID_LABEL


def carried_invoice_id(rule_id: str | None) -> int | None:
    """The invoice whose balance a 前月未収額 / 前月繰越（貸方） line carries (its rule id carried:<invoice id>,
    written by _carried_lines), else None."""
    if rule_id and rule_id.startswith("carried:"):
        return int(rule_id.split(":", 1)[1])
    return None


def _carried_lines(invoice: InvoiceDraft) -> None:
    """Balances of earlier invoices, until settled: credits and unpaid amounts alike, each carried whole and
    outside this invoice's tax; if this invoice ends below zero, it becomes the credit carried next (so a
    balance is never lost or counted twice)."""
    for credit in sorted(invoice.member.carried_credits, key=lambda c: (c.month, c.number, c.invoice_id)):
        what = "貸方" if credit.amount < 0 else "未収額"
        invoice.add(Charge(f"{carried_label(credit.amount)}（請求書 {credit.number}）", credit.amount, CARRIED_OVER,
                           f"carried:{credit.invoice_id}", None, "carried_over"),
                    f"{credit.month[:4]}年{int(credit.month[5:7])}月分 請求書 {credit.number} の{what} "
                    f"{credit.amount:,}円 を繰り越し（消費税はその請求書で計算済み）")


_STEPS = ((0, "usage", _usage_lines), (36, "contract_share", contract_share_line),
          (80, "adjustment", _adjustment_lines), (85, "carried_over", _carried_lines))


def calculate_invoice(member: MemberMonth, rules: list) -> InvoiceResult:
    """`rules` are those valid in member.month (tariff.rules_for)."""
    types = rule_types()
    in_scope = [r for r in rules if r.scope.matches_member(member.member_code, member.member_group,
                                                           member.agency_code)]
    invoice = InvoiceDraft(member, sorted(member.usages, key=_usage_key),
                           sorted(member.active_cards, key=lambda c: (c[1], c[0], c[2])),
                           sorted(member.events, key=lambda e: (e.card_number, e.kind, e.event_id)))
    steps = [(order, name, "", step) for order, name, step in _STEPS]
    for rule in in_scope:
        kind = types[rule.type]
        steps.append((kind.order, rule.type, rule.rule_id, kind(rule).apply))
    for _, _, _, step in sorted(steps, key=lambda s: s[:3]):
        step(invoice)
    operator_discount = sum(d.amount for d in invoice.operator_discounts)
    return InvoiceResult(invoice.lines, tax_subtotals([line.charge for line in invoice.lines]), operator_discount,
                         invoice.band_discounts)

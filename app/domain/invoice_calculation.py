"""One member's invoice for one month, from its usage and the tariff valid that month.

Order (architecture.md, "The month as data flows"): usage per card → operator discounts (as the
road operator computes them, per card, per operator) → the member's share of them → fees (usage
based, per card, per member, per card event, yearly) → minimum charge → consumption tax once per
rate. Every line carries the rule it came from and the printable steps of its calculation.
"""
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from .card_lifecycle import EVENT_KINDS
from .card_number import format_card_number
from .pricing.bands import graduated_discount, parse_bands_cached
from .pricing.breakdown import TAXABLE_10, Breakdown, Charge
from .pricing.fees import flat_fee, minimum_charge, percentage_fee
from .pricing.member_share import pass_through, tiered_rate
from .pricing.tax import TaxSubtotal, tax_subtotals
from .tariff import Rule, member_tiers


@dataclass(frozen=True)
class CardUsage:
    """A card's month with one road operator: what the operator billed, and the base its 車両単位割引
    is computed on (billed amounts after 深夜・休日 discounts, without 車両不一致 rows; §1.4)."""

    card_id: int
    card_number: str
    card_kind: str
    road_operator: str
    amount_billed: int
    discount_base: int
    rows: int
    etc2_commercial: bool = False
    amount_before_discount: int | None = None  # 割引前料金 as reported (深夜・休日 etc. not yet taken off)


@dataclass(frozen=True)
class CardEventFee:
    event_id: int
    kind: str
    card_id: int
    card_number: str
    card_kind: str


@dataclass
class MemberMonth:
    member_code: str
    member_group: str | None
    agency_code: str | None
    month: str  # YYYY-MM
    usages: list[CardUsage] = field(default_factory=list)
    active_cards: list[tuple[int, str, str]] = field(default_factory=list)  # (card id, number, kind)
    events: list[CardEventFee] = field(default_factory=list)
    contract_discount_share: int = 0  # this member's part of the operator's 契約単位割引 to pass on
    adjustments: list[Charge] = field(default_factory=list)  # corrections billed this month


@dataclass(frozen=True)
class Line:
    charge: Charge
    breakdown: str


@dataclass
class InvoiceResult:
    lines: list[Line]
    subtotals: list[TaxSubtotal]
    operator_discount: int  # what the road operators gave on this member's cards (for the margin)

    @property
    def total(self) -> int:
        return sum(line.charge.amount for line in self.lines)

    def amount_of(self, kind: str) -> int:
        return sum(line.charge.amount for line in self.lines if line.charge.kind == kind)


def _operator_matches(rule: Rule, road_operator: str) -> bool:
    wanted = rule.params.get("road_operator")
    return not wanted or (road_operator or "").startswith(str(wanted))


def _as_date(value) -> dt.date | None:
    """etc2_valid_to as written in the tariff: a date (YAML), '2025-03-31' or '2025/03/31'."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).replace("/", "-"))


def _usage_key(usage: CardUsage) -> tuple:
    """A total order on usages, so that equal card numbers never leave the result to the input order."""
    return (usage.card_number, usage.road_operator or "", usage.card_id, usage.card_kind, usage.amount_billed,
            usage.discount_base, usage.rows, usage.etc2_commercial)


def _vehicle_discount_groups(rule: Rule, usages: list[CardUsage]) -> list[CardUsage]:
    """The amounts the rule's bands apply to: per card, over every row of the rule's road operator.

    A rule for road_operator "NEXCO" sums a card's NEXCO東日本/中日本/西日本 rows before the bands
    (NEXCO 3社 compute together, 首都高 separately: etc-domain.md §1.4). A rule without road_operator
    applies to every row, still per card and per operator the row names."""
    wanted = rule.params.get("road_operator")
    sums: dict[tuple, list] = {}  # key → [billed, base, rows, etc2 commercial]; one CardUsage per key at the end
    for usage in usages:
        if not _operator_matches(rule, usage.road_operator) or not rule.scope.matches_card(usage.card_kind):
            continue
        operator = str(wanted) if wanted else (usage.road_operator or "")
        key = (usage.card_number, usage.card_id, usage.card_kind, operator)
        acc = sums.get(key)
        if acc is None:
            sums[key] = [usage.amount_billed, usage.discount_base, usage.rows, usage.etc2_commercial]
        else:
            acc[0] += usage.amount_billed
            acc[1] += usage.discount_base
            acc[2] += usage.rows
            acc[3] = acc[3] or usage.etc2_commercial
    return [CardUsage(key[1], key[0], key[2], key[3], *sums[key]) for key in sorted(sums)]


def vehicle_discount_for(usage: CardUsage, rule: Rule, month: str) -> tuple[int, Breakdown]:
    bands = rule.params["bands"]
    etc2_until = _as_date(rule.params.get("etc2_valid_to"))
    first_day = dt.date(int(month[:4]), int(month[5:7]), 1)
    if usage.etc2_commercial and rule.params.get("etc2_commercial_bands") and (
            etc2_until is None or first_day <= etc2_until):
        bands = rule.params["etc2_commercial_bands"]  # ETC2.0 事業用 +10% while the measure runs (§1.2)
    return graduated_discount(usage.discount_base, parse_bands_cached(bands), rule.rounding)


def calculate_invoice(member: MemberMonth, rules: list[Rule]) -> InvoiceResult:
    """`rules` are those valid in member.month (tariff.rules_for). Pure: same input, same lines,
    whatever the order of usages, cards and events."""
    lines: list[Line] = []
    in_scope = sorted((r for r in rules if r.scope.matches_member(member.member_code, member.member_group,
                                                                  member.agency_code)),
                      key=lambda r: (r.type, r.rule_id, r.valid_from))
    usages = sorted(member.usages, key=_usage_key)
    events = sorted(member.events, key=lambda e: (e.card_number, e.kind, e.event_id))
    cards = sorted(member.active_cards, key=lambda c: c[1])

    by_card: dict[tuple, int] = {}
    before_by_card: dict[tuple, int | None] = {}
    for usage in usages:
        key = (usage.card_id, usage.card_number, usage.card_kind)
        by_card[key] = by_card.get(key, 0) + usage.amount_billed
        if usage.amount_before_discount is None or before_by_card.get(key, 0) is None:
            before_by_card[key] = None
        else:
            before_by_card[key] = before_by_card.get(key, 0) + usage.amount_before_discount
    for (card_id, number, kind), amount in sorted(by_card.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2])):
        before = before_by_card.get((card_id, number, kind))
        steps = (f"割引前料金 {before:,}円 − 道路事業者の時間帯割引等 {before - amount:,}円 = 通行料金 {amount:,}円"
                 if before is not None else f"走行明細の通行料金合計 {amount:,}円")
        lines.append(Line(Charge(f"通行料金 {format_card_number(number)}", amount, TAXABLE_10, "usage", card_id,
                                 "usage"), steps))

    operator_discount = 0
    for rule in (r for r in in_scope if r.type == "vehicle_discount"):
        for usage in _vehicle_discount_groups(rule, usages):
            discount, steps = vehicle_discount_for(usage, rule, member.month)
            if not discount:
                continue
            operator_discount += discount
            share_rule = next((r for r in in_scope if r.type == "member_discount"
                               and r.params["method"] == "pass_through" and r.scope.matches_card(usage.card_kind)),
                              None)
            if share_rule is None:
                continue
            passed, share_steps = pass_through(discount, share_rule.decimal("ratio"), share_rule.rounding)
            if passed:
                lines.append(Line(Charge(f"{rule.label} {format_card_number(usage.card_number)}", -passed,
                                         TAXABLE_10, f"{rule.rule_id}+{share_rule.rule_id}", usage.card_id,
                                         "member_discount"), f"{steps}\n{share_steps}"))
    if member.contract_discount_share:
        lines.append(Line(Charge("契約単位割引の還元", -member.contract_discount_share, TAXABLE_10, "contract_share",
                                 None, "member_discount"),
                          f"道路事業者の契約単位割引を利用額で按分 {member.contract_discount_share:,}円"))
    for rule in (r for r in in_scope if r.type == "member_discount" and r.params["method"] == "table"):
        base = sum(u.amount_billed for u in usages if rule.scope.matches_card(u.card_kind))
        amount, steps = tiered_rate(base, member_tiers(rule), rule.rounding)
        if amount:
            lines.append(Line(Charge(rule.label, -amount, TAXABLE_10, rule.rule_id, None, "member_discount"),
                              str(steps)))

    for rule in (r for r in in_scope if r.type == "usage_fee"):
        base = sum(u.amount_billed for u in usages if rule.scope.matches_card(u.card_kind))
        amount, steps = percentage_fee(base, rule.decimal("rate"), rule.label, rule.rounding)
        if amount:
            lines.append(Line(Charge(rule.label, amount, TAXABLE_10, rule.rule_id), str(steps)))
    for rule in (r for r in in_scope if r.type == "card_monthly_fee"):
        count = sum(1 for _, _, kind in cards if rule.scope.matches_card(kind))
        if count:
            amount, steps = flat_fee(count, rule.params["amount"], rule.label, "枚")
            lines.append(Line(Charge(rule.label, amount, TAXABLE_10, rule.rule_id), str(steps)))
    for rule in (r for r in in_scope if r.type == "member_monthly_fee"):
        amount, steps = flat_fee(1, rule.params["amount"], rule.label, "件")
        lines.append(Line(Charge(rule.label, amount, TAXABLE_10, rule.rule_id), str(steps)))
    for rule in (r for r in in_scope if r.type == "yearly_card_fee"):
        if int(member.month[5:7]) == rule.params["month"]:
            count = sum(1 for _, _, kind in cards if rule.scope.matches_card(kind))
            if count:
                amount, steps = flat_fee(count, rule.params["amount"], rule.label, "枚")
                lines.append(Line(Charge(rule.label, amount, TAXABLE_10, rule.rule_id), str(steps)))
    for event in events:
        for rule in (r for r in in_scope if r.type == "event_fee" and r.params["event"] == event.kind
                     and r.scope.matches_card(event.card_kind)):
            amount = rule.params["amount"]
            lines.append(Line(Charge(f"{rule.label}（{EVENT_KINDS[event.kind]} {format_card_number(event.card_number)}）",
                                     amount, TAXABLE_10, rule.rule_id, event.card_id, "fee"),
                              f"{EVENT_KINDS[event.kind]} 1件 × {amount:,}円"))
    for adjustment in member.adjustments:
        lines.append(Line(adjustment, "前月以前の請求書の訂正"))

    charged = sum(line.charge.amount for line in lines)
    for rule in (r for r in in_scope if r.type == "minimum_charge"):
        top_up, steps = minimum_charge(charged, rule.params["amount"], rule.label)
        if top_up:
            lines.append(Line(Charge(rule.label, top_up, TAXABLE_10, rule.rule_id), str(steps)))
    return InvoiceResult(lines, tax_subtotals([line.charge for line in lines]), operator_discount)


def allocate_pro_rata(total: int, weights: dict) -> dict:
    """Split `total` yen by weight, each share floored; the remainder stays with the operator."""
    whole = sum(weights.values())
    if not total or not whole:
        return {key: 0 for key in weights}
    return {key: int(Decimal(total) * weight // whole) for key, weight in weights.items()}

"""vehicle_discount — 車両単位割引 (the road operator's, per card per month): marginal bands on the
card's discount base of one road operator and one road category (etc-domain.md §1.2, §1.4).

- `road_operator` (prefix): NEXCO sums a card's NEXCO東日本/中日本/西日本 rows before the bands
  (NEXCO 3社 compute together, 首都高 separately). Without it the rule applies to every row, per
  card and per operator the row names.
- `road_category`: expressway (高速国道, default), general_toll (割引対象一般有料道路), public_corp
  (公社道路). NEXCO computes 高速国道 and 一般有料道路 apart, each with its own monthly total (§1.1).
- `etc2_commercial_bands` while `etc2_valid_to` lasts: ETC2.0 事業用 +10% (§1.2).

The discount is the operator's; how much the member receives is member_discount's business."""
import datetime as dt

from ..member_month import EXPRESSWAY, ROAD_CATEGORIES, CardUsage
from .bands import graduated_discount, parse_bands, parse_bands_cached
from .road_category import RoadCategoryParam
from .rule_type import InvoiceDraft, OperatorDiscount, RuleType, parse_date


def band_key(rule_id: str, group: CardUsage) -> tuple:
    """What a group's 車両単位割引 depends on besides the rule and the month."""
    return (rule_id, group.card_id, group.road_operator, group.discount_base, group.etc2_commercial)


class VehicleDiscount(RoadCategoryParam, RuleType):
    name = "vehicle_discount"
    title = "車両単位割引（道路事業者）"
    required = ("bands",)
    optional = ("road_operator", "road_category", "etc2_commercial_bands", "etc2_valid_to")
    order = 20

    def __init__(self, rule):
        super().__init__(rule)
        self._bands_by: dict[tuple, tuple] = {}  # (month, ETC2.0 事業用) → parsed bands

    @classmethod
    def check(cls, params, where):
        super().check(params, where)
        parse_bands(params["bands"])
        if params.get("etc2_commercial_bands"):
            parse_bands(params["etc2_commercial_bands"])
        parse_date(params.get("etc2_valid_to"), where)
        cls.check_road_category(params, where)

    def groups(self, usages: list[CardUsage]) -> list[CardUsage]:
        """The amounts the bands apply to: per card, over every row of the rule's road operator and
        card scope (NEXCO 3社 summed), the base being the rule's road category."""
        wanted = self.rule.params.get("road_operator")
        base_of = CardUsage.base_getter(self.category)  # hoisted: this loop runs over every usage of the month
        prefix = str(wanted) if wanted else None
        card_kinds: dict[str, bool] = {}
        sums: dict[tuple, list] = {}  # key → [billed, base, rows, etc2 commercial]
        for usage in usages:
            kind = usage.card_kind
            takes_kind = card_kinds.get(kind)
            if takes_kind is None:
                takes_kind = card_kinds[kind] = self.matches_card(kind)
            if not takes_kind:
                continue
            if prefix is None:
                operator = usage.road_operator or ""
            elif (usage.road_operator or "").startswith(prefix):  # operator_matches, inlined for this loop
                operator = prefix
            else:
                continue
            key = (usage.card_number, usage.card_id, kind, operator)
            acc = sums.get(key)
            if acc is None:
                acc = sums[key] = [0, 0, 0, False]
            acc[0] += usage.amount_billed
            acc[1] += base_of(usage)
            acc[2] += usage.rows
            acc[3] = acc[3] or usage.etc2_commercial
        return [CardUsage(key[1], key[0], key[2], key[3], *sums[key]) for key in sorted(sums)]

    def bands_for(self, month: str, etc2_commercial: bool) -> tuple:
        """The parsed bands a group takes in `month`: ETC2.0 事業用 +10% while the measure runs (§1.2).
        Worked out once per month and ETC2.0 flag (the draft asks once per card)."""
        key = (month, bool(etc2_commercial))
        bands = self._bands_by.get(key)
        if bands is None:
            params = self.rule.params
            rows = params["bands"]
            etc2_until = parse_date(params.get("etc2_valid_to"), self.rule.rule_id)
            first_day = dt.date(int(month[:4]), int(month[5:7]), 1)
            if etc2_commercial and params.get("etc2_commercial_bands") and (
                    etc2_until is None or first_day <= etc2_until):
                rows = params["etc2_commercial_bands"]
            bands = self._bands_by[key] = parse_bands_cached(rows)
        return bands

    def discount(self, usage: CardUsage, month: str, explain_zero: bool = True):
        """(discount, Breakdown) for one group of `groups()` in `month` (`explain_zero=False`: the
        breakdown is None when the discount is 0)."""
        discount, steps = graduated_discount(usage.discount_base, self.bands_for(month, usage.etc2_commercial),
                                             self.rule.rounding, explain_zero)
        if steps is not None and self.category != EXPRESSWAY:
            steps.steps.insert(0, f"{ROAD_CATEGORIES[self.category]}の割引対象額 {usage.discount_base:,}円")
        return discount, steps

    def apply(self, invoice: InvoiceDraft) -> None:
        computed = invoice.band_discounts.setdefault(self.rule.rule_id, [])
        for usage in self.groups(invoice.usages):
            discount, steps = self.discount(usage, invoice.month, explain_zero=False)
            computed.append((usage, discount))
            if discount:
                invoice.operator_discounts.append(OperatorDiscount(
                    self.rule.rule_id, self.rule.label, usage.card_id, usage.card_number, usage.card_kind, discount,
                    str(steps)))

"""contract_discount — NEXCO 契約単位割引 (etc-domain.md §1.3): a further `rate` of the contract
holder's monthly total of one road operator and road category when that total is over
`threshold_total` AND the average per vehicle is over `threshold_average` (高速国道 10%,
割引対象一般有料道路 5%, both 5,000,000円 / 30,000円).

For a cooperative the cooperative is the contract holder, so this is computed over all members'
cards together (`contract_shares`), and passed on only as a member_discount pass_through rule says:
split by each member's discount base of that operator and category, then × the member's ratio.

The average's denominator: the cards with a positive discount base of the rule's operator, category
and card scope that month (Hanshin's wording, "当月において利用した自動車1台当たり"; NEXCO's is not
published, etc-domain.md open question 4). A card whose only rows are 車両不一致 has no base and does
not lower the average."""
from dataclasses import dataclass
from decimal import Decimal

from ..member_month import ROAD_CATEGORIES, CardUsage
from .breakdown import TAXABLE_10, Breakdown, Charge
from .contract import contract_discount
from .member_share import pass_through
from .road_category import RoadCategoryParam
from .rule_type import InvoiceDraft, RuleType, check_rate, check_yen


@dataclass(frozen=True)
class ContractResult:
    rule_id: str
    road_operator: str
    base: int  # the contract holder's total (Σ discount bases)
    vehicles: int  # cards with a positive base (the average's denominator)
    discount: int
    breakdown: str


def allocate_pro_rata(total: int, weights: dict) -> dict:
    """Split `total` yen by weight, each share floored; the remainder stays with the operator."""
    whole = sum(weights.values())
    if not total or not whole:
        return {key: 0 for key in weights}
    return {key: int(Decimal(total) * weight // whole) for key, weight in weights.items()}


class ContractDiscount(RoadCategoryParam, RuleType):
    name = "contract_discount"
    title = "契約単位割引（道路事業者）"
    required = ("threshold_total", "threshold_average", "rate")
    optional = ("road_operator", "road_category")
    order = 35

    @classmethod
    def check(cls, params, where):
        super().check(params, where)
        check_rate(params, "rate", where)
        check_yen(params, "threshold_total", where)
        check_yen(params, "threshold_average", where)
        cls.check_road_category(params, where)

    def bases(self, usages: list[CardUsage]):
        """(usage, base) for the usages the rule takes: `takes` and `base_for` with the rule's
        parameters read once (these loops run over every usage of the month)."""
        wanted = self.rule.params.get("road_operator")
        prefix = str(wanted) if wanted else ""
        base_of = CardUsage.base_getter(self.category)
        card_kinds: dict[str, bool] = {}
        for usage in usages:
            takes_kind = card_kinds.get(usage.card_kind)
            if takes_kind is None:
                takes_kind = card_kinds[usage.card_kind] = self.matches_card(usage.card_kind)
            # operator_matches, inlined for this loop
            if takes_kind and (not prefix or (usage.road_operator or "").startswith(prefix)):
                yield usage, base_of(usage)

    def compute(self, usages: list[CardUsage]) -> ContractResult:
        """The contract holder's discount over `usages` (every member's)."""
        per_card: dict[int, int] = {}
        for usage, base in self.bases(usages):
            per_card[usage.card_id] = per_card.get(usage.card_id, 0) + base
        return self.result(per_card)

    def result(self, per_card: dict[int, int]) -> ContractResult:
        """The discount from the contract holder's discount base per card."""
        rule = self.rule
        total = sum(per_card.values())
        vehicles = sum(1 for base in per_card.values() if base > 0)
        discount, steps = contract_discount(total, vehicles, rule.params["threshold_total"],
                                            rule.params["threshold_average"], rule.decimal("rate"), rule.rounding)
        steps.steps.insert(0, f"{ROAD_CATEGORIES[self.category]}の割引対象額 合計 {total:,}円、"
                              f"対象額のあるカード {vehicles:,}枚")
        return ContractResult(rule.rule_id, str(rule.params.get("road_operator") or ""), total, vehicles, discount,
                              str(steps))

    def apply(self, invoice: InvoiceDraft) -> None:
        """Nothing per member: the share arrives computed (contract_shares) and is one line, written
        once for all contract rules by the invoice calculation."""


def contract_shares(rules, usages_by_member: dict, scope_of: dict) -> tuple[list[ContractResult], dict]:
    """Every contract_discount rule over all members' usages; each member's share to pass on.

    usages_by_member: member key → [CardUsage]; scope_of: member key → (code, group, agency) for the
    member_discount pass_through rule that applies to the member. Returns (results, {member: share})."""
    from .member_discount import MemberDiscount

    pass_rules = sorted((r for r in rules if r.type == MemberDiscount.name and r.params["method"] == "pass_through"),
                        key=lambda r: r.rule_id)
    results, shares = [], {}
    for rule in sorted((r for r in rules if r.type == ContractDiscount.name), key=lambda r: r.rule_id):
        kind = ContractDiscount(rule)
        per_card: dict[int, int] = {}
        weights = {}  # member → its discount base (the share's weight)
        for member, usages in usages_by_member.items():  # one pass for both: every usage of the month
            weight = 0
            for usage, base in kind.bases(usages):
                per_card[usage.card_id] = per_card.get(usage.card_id, 0) + base
                weight += base
            if weight:
                weights[member] = weight
        result = kind.result(per_card)
        results.append(result)
        if not result.discount or not pass_rules:
            continue
        for member, share in sorted(allocate_pro_rata(result.discount, weights).items(), key=lambda kv: str(kv[0])):
            code, group, agency = scope_of[member]
            share_rule = next((r for r in pass_rules if r.scope.matches_member(code, group, agency)), None)
            if share_rule is None or not share:
                continue
            passed, _ = pass_through(share, share_rule.decimal("ratio"), share_rule.rounding)
            if passed:
                shares[member] = shares.get(member, 0) + passed
    return results, shares


def contract_share_line(invoice: InvoiceDraft) -> None:
    share = invoice.member.contract_discount_share
    if share:
        invoice.add(Charge("契約単位割引の還元", -share, TAXABLE_10, "contract_share", None, "member_discount"),
                    Breakdown([f"道路事業者の契約単位割引を割引対象額で按分 {share:,}円"]))

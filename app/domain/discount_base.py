"""Which part of a card's usage rows the road operator's discounts are computed on (割引対象額), which
part is 不課税, and what the member is billed as tolls: etc-domain.md §1.1, §1.4, §2.3, §7.1.

Per row (or group of rows that agree on every field below but the amounts):
- 不課税 (non_taxable_usage rules, first matching rule by id): that part leaves the tolls, every
  discount base and every % fee base, and becomes a 不課税 line.
- 道路区分: amount_general_toll (一般有料道路) and amount_public_corp (公社道路) where the file
  separates them; the rest of the row is 高速国道 (a row that does not separate them is wholly its
  operator's ordinary category).
- Out of every discount base: 車両不一致 (備考 contains 車両不一致, or the nexco-fixed 大口・多頻度割引摘要
  is 02) and 摘要 01 (対象外) — the operator gives no discount on them (§1.1).
- 平日朝夕 (peak_time): the ≤100 km part of the trip is out of the 大口・多頻度 base (§1.4), even in
  a month with fewer than 5 such trips. With the trip's distance (trip_km) the part is
  amount × min(100, km) ÷ km, the yen below one 切り捨て (so the base keeps the fraction); without
  a distance the whole trip is taken as ≤100 km (the data marks it 朝夕 and says no more).

Rows are merged on all their other fields before anything is rounded, so the result does not depend
on the order of the rows or on how they were split across files or pre-summed by the database."""
from dataclasses import dataclass, replace
from decimal import ROUND_FLOOR, Decimal
from typing import NamedTuple

from .member_month import CardUsage, NonTaxableUsage

MISMATCH_TEXT = "車両不一致"
# nexco-fixed 大口・多頻度割引摘要 (profile nexco-fixed.yaml, stored in 備考): 00 通常, 01 対象外, 02 車両不一致.
SUMMARY_CODES_OUT = {"01": "対象外", "02": "車両不一致"}
PEAK_KM_LIMIT = 100


def is_etc2_commercial(is_etc2: bool | None, is_commercial: bool | None) -> bool:
    """ETC2.0 事業用車両: an ETC2.0 unit in a vehicle registered 事業用 (green/black plates); only
    these keep the +10% since April 2019 (etc-domain.md §1.2)."""
    return bool(is_etc2 and is_commercial)


@dataclass(frozen=True)
class UsageGroup:
    """Usage rows of one member's card that agree on every field but the amounts and the count."""

    member_id: int
    card_id: int
    card_number: str
    card_kind: str
    road_operator: str | None
    amount_billed: int
    rows: int = 1
    remarks: str | None = None
    peak_time: bool = False
    trip_km: Decimal | None = None
    amount_general_toll: int = 0
    amount_public_corp: int = 0
    amount_before_discount: int | None = None
    etc2_commercial: bool = False
    entry_ic: str | None = None  # only for rows gathered one by one (non_taxable_usage by IC)
    exit_ic: str | None = None

    def key(self) -> tuple:
        return (self.member_id, self.card_id, self.card_number, self.card_kind, self.road_operator or "",
                self.remarks or "", self.peak_time, None if self.trip_km is None else Decimal(self.trip_km),
                self.etc2_commercial, self.entry_ic or "", self.exit_ic or "")


def merge(groups) -> list[UsageGroup]:
    """Identical rows summed (the order of the result does not matter: everything after sums)."""
    merged: dict[tuple, UsageGroup] = {}
    for group in groups:
        key = group.key()
        known = merged.get(key)
        if known is None:
            merged[key] = group
            continue
        before = (None if known.amount_before_discount is None or group.amount_before_discount is None
                  else known.amount_before_discount + group.amount_before_discount)
        merged[key] = replace(known, amount_billed=known.amount_billed + group.amount_billed,
                              rows=known.rows + group.rows,
                              amount_general_toll=(known.amount_general_toll or 0) + (group.amount_general_toll or 0),
                              amount_public_corp=(known.amount_public_corp or 0) + (group.amount_public_corp or 0),
                              amount_before_discount=before)
    return list(merged.values())


def excluded_reason(group: UsageGroup) -> str | None:
    """Why the operator gives no discount on these rows at all, or None."""
    remarks = (group.remarks or "").strip()
    if MISMATCH_TEXT in remarks:
        return MISMATCH_TEXT
    return SUMMARY_CODES_OUT.get(remarks)


def peak_part(amount: int, group: UsageGroup) -> int:
    """The ≤100 km part of a 平日朝夕 trip's amount (0 for other rows)."""
    if not group.peak_time or not amount:
        return 0
    km = Decimal(group.trip_km) if group.trip_km is not None else None
    if km is None or km <= PEAK_KM_LIMIT:
        return amount
    return int((Decimal(amount) * PEAK_KM_LIMIT / km).to_integral_value(rounding=ROUND_FLOOR))


class RowResult(NamedTuple):
    """One merged group: taxable tolls, 不課税 part (and its rule), discount base per road category.
    (A NamedTuple: one per usage group of the month, made and dropped at once.)"""

    taxable: int
    non_taxable: int
    non_taxable_rule: str | None
    expressway_base: int
    general_toll_base: int
    public_corp_base: int


def classify(group: UsageGroup, non_taxable_rules=()) -> RowResult:
    """`non_taxable_rules`: NonTaxableUsage rule types, in id order."""
    non_taxable, rule_id = 0, None
    for kind in non_taxable_rules:
        if kind.matches(group):
            non_taxable, rule_id = kind.part_of(group), kind.rule.rule_id
            break
    general, public = group.amount_general_toll or 0, group.amount_public_corp or 0
    expressway = group.amount_billed - general - public
    if non_taxable:  # the 不課税 part comes out of the row's ordinary category first
        left = non_taxable
        parts = []
        for amount in (expressway, general, public):
            taken = min(max(amount, 0), left)
            parts.append(amount - taken)
            left -= taken
    else:
        parts = [expressway, general, public]
    if group.remarks and excluded_reason(group):
        bases = [0, 0, 0]
    elif group.peak_time:
        bases = [amount - peak_part(amount, group) for amount in parts]
    else:
        bases = parts
    return RowResult(group.amount_billed - non_taxable, non_taxable, rule_id, *bases)


@dataclass
class MemberUsage:
    usages: list[CardUsage]
    non_taxable: list[NonTaxableUsage]


def member_usages(groups, non_taxable_rules=()) -> dict[int, MemberUsage]:
    """Per member: CardUsage per card × road operator, and NonTaxableUsage per card × rule."""
    kinds = sorted(non_taxable_rules, key=lambda k: k.rule.rule_id)
    cards: dict[tuple, list] = {}
    taxes: dict[tuple, list] = {}
    for group in merge(groups):
        result = classify(group, kinds)
        key = (group.member_id, group.card_id, group.card_number, group.card_kind, group.road_operator or "")
        acc = cards.get(key)
        if acc is None:
            acc = cards[key] = [0, 0, 0, False, 0, 0, 0]
        acc[0] += result.taxable
        acc[1] += result.expressway_base
        acc[2] += group.rows
        acc[3] = acc[3] or group.etc2_commercial
        if group.amount_before_discount is None or acc[4] is None:
            acc[4] = None
        else:
            acc[4] += group.amount_before_discount - result.non_taxable
        acc[5] += result.general_toll_base
        acc[6] += result.public_corp_base
        if result.non_taxable_rule is not None:
            tax = taxes.setdefault((group.member_id, group.card_id, group.card_number, group.card_kind,
                                    result.non_taxable_rule), [0, 0])
            tax[0] += result.non_taxable
            tax[1] += group.rows
    out: dict[int, MemberUsage] = {}
    for (member_id, card_id, number, kind, operator), (billed, base, rows, etc2, before, general, public) in \
            sorted(cards.items()):
        out.setdefault(member_id, MemberUsage([], [])).usages.append(
            CardUsage(card_id, number, kind, operator, billed, base, rows, etc2, before, general, public))
    for (member_id, card_id, number, kind, rule_id), (amount, rows) in sorted(taxes.items()):
        out.setdefault(member_id, MemberUsage([], [])).non_taxable.append(
            NonTaxableUsage(card_id, number, kind, rule_id, amount, rows))
    return out

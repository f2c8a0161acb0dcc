"""What one member's month is made of, as the invoice calculation reads it (pure data).

The billing service gathers these from the database; everything that decides money about them is
in app/domain: which rows form which discount base (discount_base.py), which cards are in force
(cards_in_force.py), which card events bill (billable_events.py), and the tariff's rule types
(pricing/)."""
from dataclasses import dataclass, field
from operator import attrgetter
from typing import NamedTuple

from .pricing.breakdown import Charge

EXPRESSWAY, GENERAL_TOLL, PUBLIC_CORP = "expressway", "general_toll", "public_corp"
# 道路区分: NEXCO computes 高速国道 and 割引対象一般有料道路 apart (etc-domain.md §1.1); 公社道路 are
# not NEXCO's discount roads at all. A row that does not separate them is wholly of its operator's
# ordinary category (高速国道 for NEXCO).
ROAD_CATEGORIES = {EXPRESSWAY: "高速国道", GENERAL_TOLL: "一般有料道路", PUBLIC_CORP: "公社道路"}


class CardUsage(NamedTuple):
    """A card's month with one road operator: the taxable tolls billed, and the discount base of
    each road category (billed amounts after 深夜・休日 discounts, without the rows and parts the
    road operator leaves out: 車両不一致, 摘要 01/02, the ≤100 km part of a 平日朝夕 trip, 不課税;
    etc-domain.md §1.4). discount_base is the 高速国道 (ordinary) one.

    Immutable, and a NamedTuple rather than a frozen dataclass: a month has one per card and road
    operator (≈150,000 at 1,000,000 usage rows), and a frozen dataclass costs five times as much to make."""

    card_id: int
    card_number: str
    card_kind: str
    road_operator: str
    amount_billed: int
    discount_base: int
    rows: int
    etc2_commercial: bool = False
    amount_before_discount: int | None = None  # 割引前料金 as reported (深夜・休日 etc. not yet taken off)
    general_toll_base: int = 0
    public_corp_base: int = 0

    def base_for(self, category: str) -> int:
        return getattr(self, _BASE_FIELDS.get(category, "discount_base"))

    @staticmethod
    def base_getter(category: str):
        """usage → its base of `category`, as one C call (for loops over every usage of the month)."""
        return attrgetter(_BASE_FIELDS.get(category, "discount_base"))


_BASE_FIELDS = {GENERAL_TOLL: "general_toll_base", PUBLIC_CORP: "public_corp_base"}  # else discount_base


@dataclass(frozen=True)
class NonTaxableUsage:
    """The 不課税 part of a card's rows that one non_taxable_usage rule recognised (関空橋税)."""

    card_id: int
    card_number: str
    card_kind: str
    rule_id: str
    amount: int
    rows: int


@dataclass(frozen=True)
class CardEventFee:
    event_id: int
    kind: str
    card_id: int
    card_number: str
    card_kind: str


@dataclass(frozen=True)
class CarriedCredit:
    """A balance of an earlier invoice of this member not yet carried, carried into this invoice outside
    its tax (the tax was computed on that invoice): a credit (its total below zero) as 前月繰越（貸方）, or
    what stayed unpaid after its due date (issue 11) as 前月未収額."""

    invoice_id: int
    number: str
    month: str
    amount: int  # negative: a credit; positive: an unpaid balance


@dataclass
class MemberMonth:
    member_code: str
    member_group: str | None
    agency_code: str | None
    month: str  # YYYY-MM
    usages: list[CardUsage] = field(default_factory=list)
    active_cards: list[tuple[int, str, str]] = field(default_factory=list)  # cards in force: (id, number, kind)
    events: list[CardEventFee] = field(default_factory=list)
    contract_discount_share: int = 0  # this member's part of the operator's 契約単位割引 to pass on
    adjustments: list[Charge] = field(default_factory=list)  # corrections billed this month
    non_taxable: list[NonTaxableUsage] = field(default_factory=list)
    carried_credits: list[CarriedCredit] = field(default_factory=list)


@dataclass(frozen=True)
class Line:
    charge: Charge
    breakdown: str

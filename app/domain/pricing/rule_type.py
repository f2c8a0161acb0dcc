"""The shape every tariff rule type has (Lago's charge models are the model): one class per type, in
its own module of this package, with

- `name`, `title`: the `type:` written in the tariff and its Japanese name;
- `required`, `optional`: its parameters (anything else is refused, so a misspelt key is caught);
- `check(params, where)`: its parameter check, raising DomainError in Japanese naming the rule;
- `apply(invoice)`: what it adds to one member's invoice (lines with a printable breakdown);
- `order`: where it stands in the calculation (docs/tariff.md, 計算の順序).

Adding a type is adding one module here (and its tests): `rule_types()` finds every subclass in the
package. Types never import the database; they read the member's month and the invoice so far."""
from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import ClassVar

from ..errors import DomainError
from ..member_month import Line
from .breakdown import Charge

# Keys of a version, not of the rule type: `ended: true` says the rule really stops after this version's
# valid_to (a gap before a later version is then intended; app.services.tariff._gaps).
VERSION_KEYS = ("ended",)


@dataclass(frozen=True)
class OperatorDiscount:
    """A discount the road operator gives on one card (車両単位割引), computed by a vehicle_discount
    rule; member_discount decides how much of it the member receives."""

    rule_id: str
    label: str
    card_id: int
    card_number: str
    card_kind: str
    amount: int
    breakdown: str


@dataclass
class InvoiceDraft:
    """One member's invoice while the rules run: the month (inputs in a fixed order), the lines so
    far and what the operators' discounts were."""

    member: object  # MemberMonth
    usages: list
    cards: list
    events: list
    lines: list = field(default_factory=list)
    operator_discounts: list[OperatorDiscount] = field(default_factory=list)
    passed_on: set = field(default_factory=set)  # operator_discounts (by index) a pass_through rule took
    # Every group a vehicle_discount rule computed, zero discounts included: rule id → [(group, discount)].
    # The draft stores them for the operator check instead of grouping the month's usage and running the
    # bands a second time (app/services/billing/review.computed_discounts).
    band_discounts: dict = field(default_factory=dict)

    @property
    def month(self) -> str:
        return self.member.month

    def add(self, charge: Charge, breakdown) -> None:
        self.lines.append(Line(charge, str(breakdown)))

    def own_charges(self) -> int:
        """The month's own charges: everything but corrections of earlier invoices and carried credits
        (最低請求額 looks at these only, so a credit is never absorbed by it)."""
        return sum(line.charge.amount for line in self.lines if line.charge.kind not in ("adjustment", "carried_over"))


class RuleType:
    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    required: ClassVar[tuple[str, ...]] = ()
    optional: ClassVar[tuple[str, ...]] = ()
    order: ClassVar[int] = 50

    def __init__(self, rule):
        self.rule = rule

    # ── the parameter check ─────────────────────────────────────────────────────────────────

    @classmethod
    def explain(cls, params) -> str:
        """What the rule does, in a sentence for the tariff screen ('' when the title says it all)."""
        return ""

    @classmethod
    def check(cls, params: dict, where: str) -> None:
        """Required present, nothing unknown; subclasses add their own checks after super()."""
        for key in cls.required:
            if params.get(key) in (None, ""):
                raise DomainError(f"{where}: {key} がありません。")
        unknown = sorted(set(params) - set(cls.required) - set(cls.optional) - set(VERSION_KEYS))
        if unknown:
            known = ", ".join((*cls.required, *cls.optional)) or "なし"
            raise DomainError(f"{where}: {cls.name} に「{'、'.join(unknown)}」は書けません（使える項目: {known}）。")

    # ── applying it ─────────────────────────────────────────────────────────────────────────

    def apply(self, invoice: InvoiceDraft) -> None:
        raise NotImplementedError

    def matches_card(self, card_kind: str) -> bool:
        return self.rule.scope.matches_card(card_kind)


# ── shared parameter checks ─────────────────────────────────────────────────────────────────

def check_rate(params: dict, key: str, where: str, what: str = "率") -> Decimal:
    try:
        value = Decimal(str(params[key]))
    except (InvalidOperation, ValueError):
        raise DomainError(f"{where}: {what}は小数で書いてください（10% は 0.10、8% は 0.08）。") from None
    if not Decimal(0) <= value <= Decimal(1):
        raise DomainError(f"{where}: {key} は 0〜1 の小数です（10% は 0.10）。")
    return value


def check_yen(params: dict, key: str, where: str) -> int:
    value = params.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DomainError(f"{where}: {key} は0以上の整数（円）です。")
    return value


def parse_date(value, where: str) -> dt.date | None:
    """A date as written in the tariff: a date (YAML), '2025-03-31' or '2025/03/31'."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).replace("/", "-"))
    except ValueError:
        raise DomainError(f"{where}: 日付「{value}」は 2026-04-01 の形で書いてください。") from None


def operator_matches(wanted, road_operator: str | None) -> bool:
    """`road_operator` of a rule is a prefix: NEXCO matches NEXCO東日本/中日本/西日本."""
    return not wanted or (road_operator or "").startswith(str(wanted))


_TYPES: dict[str, type[RuleType]] | None = None


def rule_types() -> dict[str, type[RuleType]]:
    """Every rule type in this package, by `name`, in calculation order."""
    global _TYPES
    if _TYPES is None:
        package = importlib.import_module(__package__)
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{__package__}.{module.name}")
        found = {}
        stack = list(RuleType.__subclasses__())
        while stack:
            cls = stack.pop()
            stack.extend(cls.__subclasses__())
            if cls.name:
                found[cls.name] = cls
        _TYPES = dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))
    return _TYPES

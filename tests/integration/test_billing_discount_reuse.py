"""The operator check's discounts the draft stores (billing_discount) reuse what the members' invoice
calculations computed instead of grouping the month's usage a second time (issue 7 Speed). Whatever the
month looks like — a card whose rows belong to two members (moved during the month), a vehicle_discount
rule scoped to some members only, ETC2.0 cards, 一般有料道路 bases — the rows must be exactly those computed
from scratch over the month's usage, in the same order. Pure (no database): computed_discounts takes
plain values."""
from pathlib import Path

import yaml
from hypothesis import given, settings, strategies as st

from app.domain.invoice_calculation import CardUsage, MemberMonth, calculate_invoice
from app.domain.tariff import parse_rule, parse_tariff, rules_for
from app.services.billing.review import computed_discounts

MONTH = "2026-10"
DEFAULT_TARIFF = parse_tariff(yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "app" / "tariffs" / "default.yaml").read_text(encoding="utf-8")))
# A 首都高 rule for one member group only: the other members' calculations never run it.
SCOPED = parse_rule({"id": "shutoko_east_only", "type": "vehicle_discount", "label": "首都高（東部のみ）",
                     "road_operator": "首都高", "valid_from": "2020-01-01", "scope": {"member_group": "東部"},
                     "bands": [[3000, "0"], [20000, "0.10"], [None, "0.20"]]})
RULES = rules_for(DEFAULT_TARIFF, MONTH) + [SCOPED]
OPERATORS = ["NEXCO東日本", "NEXCO中日本", "首都高速道路", "阪神高速道路", None]
GROUPS = {1: "東部", 2: "西部", 3: None}


@st.composite
def months(draw):
    """(member id, CardUsage) rows: up to 6 cards, each used by one member, or by two (moved)."""
    rows = []
    for card_id in range(1, draw(st.integers(1, 6)) + 1):
        kind = draw(st.sampled_from(["corporate", "corporate", "credit"]))
        etc2 = kind == "corporate" and draw(st.booleans())
        owners = draw(st.lists(st.sampled_from(list(GROUPS)), min_size=1, max_size=2, unique=True))
        for member_id in owners:
            for operator in draw(st.lists(st.sampled_from(OPERATORS), min_size=1, max_size=3, unique=True)):
                billed = draw(st.integers(0, 80_000))
                base = draw(st.integers(0, billed))
                rows.append((member_id, CardUsage(card_id, f"{card_id:016d}", kind, operator, billed, base,
                                                  draw(st.integers(1, 50)), etc2, None,
                                                  draw(st.sampled_from([0, 0, 12_000])), 0)))
    return sorted(rows, key=lambda r: (r[0], r[1].card_id, r[1].road_operator or ""))


def _band_discounts(rows) -> dict:
    """What the draft passes: each member's calculation's band_discounts."""
    by_member: dict[int, list] = {}
    for member_id, usage in rows:
        by_member.setdefault(member_id, []).append(usage)
    return {member_id: calculate_invoice(MemberMonth(f"M{member_id}", GROUPS[member_id], None, MONTH, usages),
                                         RULES).band_discounts
            for member_id, usages in by_member.items()}


@settings(max_examples=150, deadline=None)
@given(months())
def test_stored_discounts_are_those_computed_from_the_months_usage(rows):
    assert computed_discounts(MONTH, RULES, rows, _band_discounts(rows)) == computed_discounts(MONTH, RULES, rows)


def test_a_card_moved_between_members_is_one_group_of_the_month():
    card = lambda amount: CardUsage(7, "0000000000000007", "corporate", "NEXCO東日本", amount, amount, 10)  # noqa: E731
    rows = [(1, card(8_000)), (2, card(8_000))]
    found = [d for d in computed_discounts(MONTH, RULES, rows, _band_discounts(rows)) if d.rule_id == "nexco_vehicle"]
    # 16,000円 on one card in the month: 5,000 × 10% + 6,000 × 20% = 1,700円 (each member alone: 300円); the
    # row names the member of the card's last rows, as before the reuse
    assert [(d.card_id, d.discount_base, d.discount, d.member_id) for d in found] == [(7, 16_000, 1_700, 2)]

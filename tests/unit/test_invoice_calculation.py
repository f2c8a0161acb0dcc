"""One member's invoice for one month: hand-computed invoices with the shipped tariff, scopes, and
properties (totals are the sum of lines, tax once per rate, no dependence on row order, recomputing
gives the same numbers, discounts never exceed a card's usage)."""
import copy
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from app.domain.card_lifecycle import EVENT_KINDS
from app.domain.invoice_calculation import CardEventFee, CardUsage, MemberMonth, allocate_pro_rata, calculate_invoice
from app.domain.pricing.vehicle_discount import VehicleDiscount
from app.domain.pricing.breakdown import NON_TAXABLE, TAXABLE_10, Charge
from app.domain.pricing.tax import TaxSubtotal
from app.domain.tariff import parse_rule, parse_tariff, rules_for

DEFAULT_TARIFF = parse_tariff(yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "app" / "tariffs" / "default.yaml").read_text(encoding="utf-8")))
NEXCO_BANDS = [[5000, "0"], [10000, "0.10"], [30000, "0.20"], [None, "0.30"]]

A, B, C = "1111112222333334", "1111112222444445", "5555666677778888"
CARDS = [(1, A, "corporate"), (2, B, "corporate"), (3, C, "credit")]


def _usage(card, operator, amount, base=None, etc2=False, rows=1):
    card_id, number, kind = card
    return CardUsage(card_id, number, kind, operator, amount, amount if base is None else base, rows, etc2)


def _member(month="2026-04", usages=(), events=(), cards=CARDS, **extra):
    return MemberMonth("0001", extra.pop("member_group", "東部"), extra.pop("agency_code", None), month,
                       list(usages), list(cards), list(events), **extra)


def _typical(month="2026-04"):
    return _member(month, usages=[
        _usage(CARDS[0], "NEXCO東日本", 40_000, etc2=True),
        _usage(CARDS[0], "首都高速道路", 12_000, etc2=True),
        _usage(CARDS[1], "NEXCO中日本", 8_000),
        _usage(CARDS[1], "NEXCO西日本", 4_000),
        _usage(CARDS[2], None, 10_000),  # ETC利用照会 CSV: no operator
    ], events=[CardEventFee(11, "loss", 3, C, "credit"), CardEventFee(10, "issue", 2, B, "corporate")])


def _amounts(result):
    return [(line.charge.description, line.charge.amount) for line in result.lines]


def _rules(*data):
    return [parse_rule(item, i) for i, item in enumerate(data)]


# ── a whole invoice, by hand ─────────────────────────────────────────────────

def test_typical_april_invoice_with_the_default_tariff():
    result = calculate_invoice(_typical(), rules_for(DEFAULT_TARIFF, "2026-04"))
    assert _amounts(result) == [
        ("通行料金 111111-2222-33333-4", 52_000),
        ("通行料金 111111-2222-44444-5", 12_000),
        ("通行料金 555566-6677-77888-8", 10_000),
        ("NEXCO 車両単位割引 111111-2222-33333-4", -7_500),  # 40,000: 0 + 500 + 4,000 + 3,000 (ETC2.0 +10% ended)
        ("NEXCO 車両単位割引 111111-2222-44444-5", -900),    # 中日本 8,000 + 西日本 4,000 = 12,000: 500 + 400
        ("首都高 車両単位割引 111111-2222-33333-4", -900),    # 12,000: 500 + 400
        ("事務手数料（クレジットカード）", 200),                # 10,000 × 2%
        ("組合員管理料", 660),
        ("年間カード手数料", 1_887),                          # 3 cards × 629 in April
        ("カード発行手数料（新規発行 111111-2222-44444-5）", 629),
        ("紛失・盗難手数料（紛失・盗難 555566-6677-77888-8）", 660),
    ]
    assert result.total == 68_736
    assert result.subtotals == [TaxSubtotal(TAXABLE_10, 68_736, 6_248)]  # 687,360 / 110 = 6,248.7…
    assert result.operator_discount == 9_300
    assert (result.amount_of("usage"), result.amount_of("member_discount")) == (74_000, -9_300)
    assert result.lines[3].charge.rule_id == "nexco_vehicle+member_pass_through"
    assert result.lines[3].charge.card_id == 1
    assert "30,001〜円の 10,000円 × 30% = 3,000.00円" in result.lines[3].breakdown
    assert "組合員割引 道路事業者割引 7,500円 × 100% = 7,500円" in result.lines[3].breakdown


def test_the_same_member_in_march_2025_gets_the_etc2_commercial_bands_and_no_yearly_fee():
    result = calculate_invoice(_typical("2025-03"), rules_for(DEFAULT_TARIFF, "2025-03"))
    discounts = [amount for _, amount in _amounts(result) if amount < 0]
    assert discounts == [-11_000, -900, -900]  # 40,000 at 20/30/40%: 1,000 + 6,000 + 4,000
    assert result.total == 74_000 - 12_800 + 200 + 660 + 629 + 660 == 63_349
    assert result.subtotals[0].tax == 5_759  # 633,490 / 110 = 5,759.0…


# ── 車両単位割引 ──────────────────────────────────────────────────────────────

def test_etc2_valid_to_written_as_text_is_compared_as_a_date():
    rule = parse_rule({"id": "v", "type": "vehicle_discount", "bands": NEXCO_BANDS, "etc2_valid_to": "2025/03/31",
                       "etc2_commercial_bands": [[5000, "0"], [10000, "0.20"], [30000, "0.30"], [None, "0.40"]]})
    usage = _usage(CARDS[0], "NEXCO", 40_000, etc2=True)
    kind = VehicleDiscount(rule)
    assert kind.discount(usage, "2025-03")[0] == 11_000
    assert kind.discount(usage, "2025-04")[0] == 7_500
    assert kind.discount(_usage(CARDS[0], "NEXCO", 40_000), "2025-03")[0] == 7_500


def test_discount_is_on_the_discount_base_not_the_billed_amount():
    # 車両不一致 rows are billed but excluded from the base (etc-domain.md §1.4).
    result = calculate_invoice(_member(usages=[_usage(CARDS[0], "NEXCO", 40_000, base=30_000)]),
                               rules_for(DEFAULT_TARIFF, "2026-10"))
    assert ("NEXCO 車両単位割引 111111-2222-33333-4", -4_500) in _amounts(result)


def test_nexco_companies_are_summed_per_card_and_shutoko_is_separate():
    usages = [_usage(CARDS[0], "NEXCO東日本", 6_000), _usage(CARDS[0], "NEXCO西日本", 6_000),
              _usage(CARDS[0], "首都高速道路", 6_000)]
    result = calculate_invoice(_member("2026-10", usages), rules_for(DEFAULT_TARIFF, "2026-10"))
    # NEXCO 12,000 → 500 + 400 = 900 (not 100 + 100); 首都高 6,000 → 100
    assert [a for _, a in _amounts(result) if a < 0] == [-900, -100]


def test_rows_without_operator_get_no_discount_from_the_default_tariff():
    corporate_without_operator = _usage(CARDS[0], None, 40_000)
    result = calculate_invoice(_member("2026-10", [corporate_without_operator]), rules_for(DEFAULT_TARIFF, "2026-10"))
    assert result.operator_discount == 0 and result.amount_of("member_discount") == 0


def test_a_rule_without_road_operator_applies_to_every_row():
    rules = _rules({"id": "all", "type": "vehicle_discount", "bands": NEXCO_BANDS},
                   {"id": "share", "type": "member_discount", "method": "pass_through", "ratio": "1"})
    result = calculate_invoice(_member("2026-10", [_usage(CARDS[0], None, 40_000), _usage(CARDS[1], "", 10_000),
                                                   _usage(CARDS[2], "首都高速道路", 10_000)]), rules)
    assert result.operator_discount == 7_500 + 500 + 500


def test_credit_cards_get_no_corporate_discount():
    result = calculate_invoice(_member("2026-10", [_usage(CARDS[2], "NEXCO", 40_000)]),
                               rules_for(DEFAULT_TARIFF, "2026-10"))
    assert result.operator_discount == 0


# ── 組合員への還元 ────────────────────────────────────────────────────────────

def test_pass_through_ratio_keeps_the_cooperatives_margin():
    rules = _rules({"id": "v", "type": "vehicle_discount", "bands": NEXCO_BANDS},
                   {"id": "share", "type": "member_discount", "method": "pass_through", "ratio": "0.8"})
    result = calculate_invoice(_member("2026-10", [_usage(CARDS[0], "NEXCO", 40_001)]), rules)
    # 7,500.3 → 7,500; 80% → 6,000 to the member, 1,500 stays with the cooperative
    assert (result.operator_discount, result.amount_of("member_discount")) == (7_500, -6_000)


def test_without_a_pass_through_rule_the_member_gets_no_vehicle_discount():
    result = calculate_invoice(_member("2026-10", [_usage(CARDS[0], "NEXCO", 40_000)]),
                               _rules({"id": "v", "type": "vehicle_discount", "bands": NEXCO_BANDS}))
    assert (result.operator_discount, result.amount_of("member_discount"), result.total) == (7_500, 0, 40_000)


def test_pass_through_scoped_to_a_card_kind_applies_to_those_cards_only():
    rules = _rules({"id": "v", "type": "vehicle_discount", "bands": NEXCO_BANDS},
                   {"id": "share", "type": "member_discount", "method": "pass_through", "ratio": "1",
                    "scope": {"card_kind": "credit"}})
    result = calculate_invoice(_member("2026-10", [_usage(CARDS[0], "NEXCO", 40_000),
                                                   _usage(CARDS[2], "NEXCO", 10_000)]), rules)
    assert [a for _, a in _amounts(result) if a < 0] == [-500]


def test_usage_table_discount():
    rules = _rules({"id": "table", "type": "member_discount", "label": "組合員割引（利用額）", "method": "table",
                    "tiers": [[0, "0.01"], [100000, "0.03"], [500000, "0.098"]]})
    result = calculate_invoice(_member("2026-10", [_usage(CARDS[0], "NEXCO", 60_000),
                                                   _usage(CARDS[1], "首都高速道路", 40_001)]), rules)
    assert ("組合員割引（利用額）", -3_000) in _amounts(result)  # 100,001 × 3% = 3,000.03


def test_contract_discount_share_is_a_member_discount_line():  # computed for the cooperative, passed in
    result = calculate_invoice(_member("2026-10", [_usage(CARDS[0], "NEXCO", 40_000)],
                                       contract_discount_share=1_234), [])
    assert _amounts(result)[-1] == ("契約単位割引の還元", -1_234)
    assert result.amount_of("member_discount") == -1_234


# ── fees, scopes, minimum, tax categories ─────────────────────────────────────

def test_yearly_card_fee_only_in_its_month():
    assert "年間カード手数料" not in dict(_amounts(calculate_invoice(_member("2026-05"), rules_for(DEFAULT_TARIFF, "2026-05"))))
    assert dict(_amounts(calculate_invoice(_member("2026-04"), rules_for(DEFAULT_TARIFF, "2026-04"))))["年間カード手数料"] == 1_887


def test_card_monthly_fee_counts_the_cards_of_its_kind():
    rules = _rules({"id": "card", "type": "card_monthly_fee", "label": "カード管理料", "amount": 110,
                    "scope": {"card_kind": "corporate"}})
    assert _amounts(calculate_invoice(_member("2026-10"), rules)) == [("カード管理料", 220)]


@pytest.mark.parametrize("scope, applies", [
    ({}, True), ({"member_group": "東部"}, True), ({"member_group": "西部"}, False),
    ({"member_code": "0001"}, True), ({"member_code": "0002"}, False),
    ({"agency_code": "A1"}, True), ({"agency_code": "A2"}, False),
])
def test_member_scopes(scope, applies):
    rules = _rules({"id": "fee", "type": "member_monthly_fee", "label": "組合員管理料", "amount": 660, "scope": scope})
    result = calculate_invoice(_member("2026-10", agency_code="A1"), rules)
    assert result.total == (660 if applies else 0)


def test_card_kind_scope_on_usage_fee():
    rules = rules_for(DEFAULT_TARIFF, "2026-10")
    usages = [_usage(CARDS[0], "NEXCO", 100_000), _usage(CARDS[2], None, 12_345)]
    assert dict(_amounts(calculate_invoice(_member("2026-10", usages), rules)))["事務手数料（クレジットカード）"] == 246


def test_minimum_charge_tops_up_after_everything_else():
    rules = _rules({"id": "fee", "type": "member_monthly_fee", "label": "組合員管理料", "amount": 660},
                   {"id": "min", "type": "minimum_charge", "label": "最低請求額", "amount": 1_000})
    result = calculate_invoice(_member("2026-10"), rules)
    assert _amounts(result) == [("組合員管理料", 660), ("最低請求額", 340)]
    assert "最低請求額 1,000円 − 当月分の請求額 660円 = 340円" in result.lines[-1].breakdown


def test_non_taxable_adjustments_are_a_separate_subtotal():
    adjustments = [Charge("関空橋税", 100, NON_TAXABLE, "adj", None, "adjustment"),
                   Charge("通行料金の訂正", 105, TAXABLE_10, "adj", None, "adjustment")]
    result = calculate_invoice(_member("2026-10", [_usage(CARDS[0], "NEXCO", 105), _usage(CARDS[1], "NEXCO", 105)],
                                       adjustments=adjustments), [])
    assert result.subtotals == [TaxSubtotal(TAXABLE_10, 315, 28), TaxSubtotal(NON_TAXABLE, 100, 0)]
    assert result.total == 415


def test_event_fees_follow_the_event_kind():
    events = [CardEventFee(i, kind, 1, A, "corporate") for i, kind in enumerate(EVENT_KINDS)]
    result = calculate_invoice(_member("2026-10", events=events, cards=[]), rules_for(DEFAULT_TARIFF, "2026-10"))
    fees = [amount for _, amount in _amounts(result)][1:]  # after the member fee
    assert sorted(fees) == [629] * 5 + [660]  # cancel has no fee


# ── allocate_pro_rata ─────────────────────────────────────────────────────────

def test_allocate_pro_rata_floors_each_share():
    assert allocate_pro_rata(1_000, {"a": 1, "b": 1, "c": 1}) == {"a": 333, "b": 333, "c": 333}
    assert allocate_pro_rata(600_020, {"0001": 4_000_000, "0002": 2_000_200}) == {"0001": 400_000, "0002": 200_020}
    assert allocate_pro_rata(1_000, {"a": 2, "b": 1}) == {"a": 666, "b": 333}  # 1円 stays with the cooperative
    assert allocate_pro_rata(100, {"a": Decimal("1.5"), "b": Decimal("0.5")}) == {"a": 75, "b": 25}


def test_allocate_pro_rata_with_nothing_to_share():
    assert allocate_pro_rata(0, {"a": 10}) == {"a": 0}
    assert allocate_pro_rata(100, {"a": 0, "b": 0}) == {"a": 0, "b": 0}
    assert allocate_pro_rata(100, {}) == {}


# ── properties ────────────────────────────────────────────────────────────────

OPERATORS = ["NEXCO", "NEXCO東日本", "NEXCO中日本", "NEXCO西日本", "首都高速道路", "阪神高速", "", None]
MONTHS = ["2025-03", "2025-04", "2026-04", "2026-09", "2026-10"]
PROPERTY_TARIFF = DEFAULT_TARIFF + _rules(
    {"id": "min", "type": "minimum_charge", "label": "最低請求額", "amount": 1_000},
    {"id": "card_fee", "type": "card_monthly_fee", "label": "カード管理料", "amount": 110,
     "scope": {"card_kind": "corporate"}})


@st.composite
def member_months(draw):
    numbers = draw(st.lists(st.text("0123456789", min_size=16, max_size=16), min_size=0, max_size=6, unique=True))
    cards = [(i + 1, number, draw(st.sampled_from(["corporate", "credit"]))) for i, number in enumerate(numbers)]
    usages = []
    for card in cards:
        etc2 = draw(st.booleans())
        for operator in draw(st.lists(st.sampled_from(OPERATORS), max_size=4)):
            amount = draw(st.integers(0, 300_000))
            base = draw(st.integers(0, amount))
            usages.append(_usage(card, operator, amount, base, etc2, draw(st.integers(1, 80))))
    events = []
    if cards:
        for event_id, kind in enumerate(draw(st.lists(st.sampled_from(list(EVENT_KINDS)), max_size=5))):
            card_id, number, card_kind = draw(st.sampled_from(cards))
            events.append(CardEventFee(event_id + 100, kind, card_id, number, card_kind))
    adjustments = [Charge(f"訂正{i}", amount, category, "adj", None, "adjustment")
                   for i, (amount, category) in enumerate(draw(st.lists(
                       st.tuples(st.integers(-5_000, 5_000), st.sampled_from([TAXABLE_10, NON_TAXABLE])),
                       max_size=3)))]
    active = draw(st.lists(st.sampled_from(cards), unique=True)) if cards else []
    return MemberMonth("0001", draw(st.sampled_from([None, "東部"])), None, draw(st.sampled_from(MONTHS)),
                       usages, active, events, draw(st.integers(0, 5_000)), adjustments)


def _calculate(member):
    return calculate_invoice(member, rules_for(PROPERTY_TARIFF, member.month))


@settings(max_examples=200, deadline=None)
@given(member_months())
def test_totals_are_the_sum_of_lines_and_tax_is_once_per_rate(member):
    result = _calculate(member)
    assert result.total == sum(line.charge.amount for line in result.lines)
    assert sum(s.total_including_tax for s in result.subtotals) == result.total
    categories = [s.category for s in result.subtotals]
    assert len(categories) == len(set(categories))
    assert set(categories) == {line.charge.tax_category for line in result.lines}
    for subtotal in result.subtotals:
        lines = [line.charge.amount for line in result.lines if line.charge.tax_category == subtotal.category]
        assert subtotal.total_including_tax == sum(lines)
        # 切り捨て toward zero, for a credit too (−4,240.9 → −4,240)
        expected = (Decimal(subtotal.total_including_tax) * 10 / 110).to_integral_value(rounding="ROUND_DOWN")
        assert subtotal.tax == (int(expected) if subtotal.category == TAXABLE_10 else 0)


@settings(max_examples=200, deadline=None)
@given(member_months(), st.randoms(use_true_random=False))
def test_results_never_depend_on_row_order(member, rnd):
    shuffled = copy.deepcopy(member)
    for items in (shuffled.usages, shuffled.events, shuffled.active_cards):
        rnd.shuffle(items)
    first, second = _calculate(member), _calculate(shuffled)
    assert first.lines == second.lines
    assert first.subtotals == second.subtotals
    assert first.operator_discount == second.operator_discount


@settings(max_examples=100, deadline=None)
@given(member_months())
def test_recomputing_a_draft_gives_identical_numbers(member):
    before = copy.deepcopy(member)
    first, second = _calculate(member), _calculate(member)
    assert (first.lines, first.subtotals, first.operator_discount) == (
        second.lines, second.subtotals, second.operator_discount)
    assert member == before  # the input is not changed


@settings(max_examples=200, deadline=None)
@given(member_months())
def test_discounts_never_exceed_a_cards_usage(member):
    result = _calculate(member)
    usage = {line.charge.card_id: line.charge.amount for line in result.lines if line.charge.kind == "usage"}
    base = {}
    for u in member.usages:
        base[u.card_id] = base.get(u.card_id, 0) + u.discount_base
    for card_id in usage:
        discount = -sum(line.charge.amount for line in result.lines
                        if line.charge.kind == "member_discount" and line.charge.card_id == card_id)
        assert 0 <= discount <= base[card_id] <= usage[card_id]
    assert 0 <= result.operator_discount <= sum(base.values())
    assert -result.amount_of("member_discount") <= result.operator_discount + member.contract_discount_share


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000_000),
       st.dictionaries(st.text(min_size=1, max_size=4), st.integers(0, 50_000_000), max_size=20))
def test_allocate_pro_rata_never_gives_more_than_the_total(total, weights):
    shares = allocate_pro_rata(total, weights)
    assert set(shares) == set(weights)
    whole = sum(weights.values())
    assert sum(shares.values()) <= total
    for key, share in shares.items():
        assert share >= 0
        if whole:
            assert share * whole <= total * weights[key] < (share + 1) * whole  # the floor of its proportion
    if whole:
        assert total - sum(shares.values()) < max(1, len([w for w in weights.values() if w]))


def test_the_usage_line_shows_the_amount_before_the_operators_time_discounts():
    usage = CardUsage(1, "9011000000000011", "corporate", "NEXCO中日本", 3200, 3200, 1, False, 4560)
    result = calculate_invoice(MemberMonth("M1", None, None, "2026-10", usages=[usage]), [])
    line = result.lines[0]
    assert line.charge.amount == 3200
    assert line.breakdown == "割引前料金 4,560円 − 道路事業者の時間帯割引等 1,360円 = 通行料金 3,200円"


def test_a_loss_and_its_reissue_on_one_card_are_explained_as_charged_together():
    """Issue 9 item 17: 660 + 629 on the same card, each line saying why both are there."""
    events = [CardEventFee(1, "loss", 1, A, "corporate"), CardEventFee(2, "reissue", 1, A, "corporate"),
              CardEventFee(3, "vehicle_change", 2, B, "corporate")]
    result = calculate_invoice(_member("2026-10", events=events, cards=[]), rules_for(DEFAULT_TARIFF, "2026-10"))
    fees = {line.charge.amount: line.breakdown for line in result.lines if line.charge.rule_id.startswith("fee_")}
    assert fees[660] == "紛失・盗難 1件 × 660円（同じカードの「再発行」と合わせて請求: 届出ごとに手数料がかかります）"
    reissue = next(l.breakdown for l in result.lines if l.charge.rule_id == "fee_reissue")
    change = next(l.breakdown for l in result.lines if l.charge.rule_id == "fee_vehicle_change")
    assert reissue == "再発行 1件 × 629円（同じカードの「紛失・盗難」と合わせて請求: 届出ごとに手数料がかかります）"
    assert change == "車両入替 1件 × 629円"  # alone on its card: nothing to explain


def test_event_fee_rule_explains_itself():
    from app.domain.pricing.event_fee import EventFee

    text = EventFee.explain({"event": "reissue", "amount": 629})
    assert text.startswith("「再発行」の届出1件ごとに 629円。") and "紛失・盗難手数料 ＋ カード再発行手数料" in text

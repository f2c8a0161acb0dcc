"""Issue 7 items 5 and 7: what part of the usage rows forms each discount base (車両不一致, 摘要 01/02,
平日朝夕 ≤100 km part, 不課税), 高速国道 / 一般有料道路 / 公社道路 apart, and 関空橋税 as 不課税.
Hand-computed; then properties: independent of row order and of how rows are split across files."""
import random
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from app.domain.discount_base import UsageGroup, classify, is_etc2_commercial, member_usages
from app.domain.invoice_calculation import MemberMonth, calculate_invoice
from app.domain.pricing.breakdown import NON_TAXABLE, TAXABLE_10
from app.domain.pricing.non_taxable_usage import NonTaxableUsage
from app.domain.pricing.tax import TaxSubtotal
from app.domain.tariff import parse_rule, parse_tariff, rules_for

DEFAULT_TARIFF = parse_tariff(yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "app" / "tariffs" / "default.yaml").read_text(encoding="utf-8")))
A = "1111112222333334"
KANKU_IC = parse_rule({"id": "kanku", "type": "non_taxable_usage", "label": "関空橋税", "match": {"ic": ["関西空港"]},
                       "amount_per_row": 100})
KANKU_REMARKS = parse_rule({"id": "kanku", "type": "non_taxable_usage", "label": "関空橋税",
                            "match": {"remarks": ["関空橋税"]}})


def _row(amount, **extra):
    return UsageGroup(**{"member_id": 1, "card_id": 1, "card_number": A, "card_kind": "corporate",
                         "road_operator": "NEXCO西日本", "amount_billed": amount, **extra})


def _one(rows, rules=()):
    [usage] = member_usages(rows, [NonTaxableUsage(r) for r in rules])[1].usages
    return usage


# ── exclusions ──────────────────────────────────────────────────────────────

@pytest.mark.parametrize("remarks, base", [
    (None, 10_000), ("00", 10_000),
    ("01", 0),            # 摘要 01 対象外 (was in the base before issue 7)
    ("02", 0),            # 摘要 02 車両不一致
    ("車両不一致", 0), ("確定;車両不一致", 0),
    ("確定;休日割引", 10_000),
])
def test_summary_codes_and_mismatch_leave_the_base(remarks, base):
    usage = _one([_row(10_000, remarks=remarks)])
    assert (usage.amount_billed, usage.discount_base) == (10_000, base)


@pytest.mark.parametrize("km, base", [
    (None, 0),                 # 朝夕 without a distance: taken as ≤100 km, all out
    (Decimal("80.0"), 0),      # ≤100 km: the whole trip
    (Decimal("100"), 0),
    (Decimal("150"), 1_000),   # 3,000 × 100/150 = 2,000 out → 1,000 stays
    (Decimal("130.7"), 705),   # 3,000 × 100/130.7 = 2,295.33… → 2,295 out (切り捨て) → 705 stays
])
def test_the_peak_time_part_up_to_100_km_leaves_the_base(km, base):
    usage = _one([_row(3_000, peak_time=True, trip_km=km)])
    assert (usage.amount_billed, usage.discount_base) == (3_000, base)


def test_a_peak_time_trip_counts_in_the_base_only_beyond_100_km_in_a_month_with_other_rows():
    usage = _one([_row(40_000), _row(3_000, peak_time=True, trip_km=Decimal(150)), _row(5_000, remarks="02")])
    # billed 48,000; base 40,000 + 1,000 = 41,000
    assert (usage.amount_billed, usage.discount_base, usage.rows) == (48_000, 41_000, 3)


# ── 高速国道 / 一般有料道路 / 公社道路 ────────────────────────────────────────────────

def test_road_categories_are_kept_apart():
    usage = _one([_row(50_000, amount_general_toll=15_000, amount_public_corp=5_000, road_operator="NEXCO")])
    assert (usage.amount_billed, usage.discount_base, usage.general_toll_base, usage.public_corp_base) == (
        50_000, 30_000, 15_000, 5_000)


def test_nexco_fixed_invoice_bands_per_category_and_no_discount_on_public_corporation_roads():
    usages = member_usages([_row(50_000, amount_general_toll=15_000, amount_public_corp=5_000,
                                 road_operator="NEXCO")])[1].usages
    result = calculate_invoice(MemberMonth("0001", None, None, "2026-10", usages, [(1, A, "corporate")]),
                               rules_for(DEFAULT_TARIFF, "2026-10"))
    discounts = [(line.charge.description, line.charge.amount) for line in result.lines if line.charge.amount < 0]
    # 高速国道 30,000 → 500 + 4,000 = 4,500; 一般有料道路 15,000 → 500 + 1,000 = 1,500; 公社道路 5,000 → none.
    # (Summed as one 50,000 it would have been 500 + 4,000 + 6,000 = 10,500.)
    assert discounts == [("NEXCO 車両単位割引 111111-2222-33333-4", -4_500),
                         ("NEXCO 車両単位割引（一般有料道路） 111111-2222-33333-4", -1_500)]
    assert result.operator_discount == 6_000
    assert "一般有料道路の割引対象額 15,000円" in result.lines[2].breakdown


def test_a_row_that_does_not_separate_categories_is_all_expressway():
    usage = _one([_row(12_000, road_operator="NEXCO中日本")])
    assert (usage.discount_base, usage.general_toll_base, usage.public_corp_base) == (12_000, 0, 0)


def test_exclusions_apply_to_every_category():
    usage = _one([_row(50_000, amount_general_toll=15_000, amount_public_corp=5_000, remarks="01")])
    assert (usage.discount_base, usage.general_toll_base, usage.public_corp_base) == (0, 0, 0)
    usage = _one([_row(6_000, amount_general_toll=3_000, peak_time=True, trip_km=Decimal(200))])
    # half of each category is the ≤100 km part: 3,000 − 1,500 and 3,000 − 1,500
    assert (usage.discount_base, usage.general_toll_base) == (1_500, 1_500)


# ── 不課税 (関空橋税) ────────────────────────────────────────────────────────────

def test_a_row_recognised_by_remarks_is_wholly_non_taxable():
    members = member_usages([_row(40_000), _row(100, remarks="関空橋税")], [NonTaxableUsage(KANKU_REMARKS)])
    [usage], [tax] = members[1].usages, members[1].non_taxable
    assert (usage.amount_billed, usage.discount_base, usage.rows) == (40_000, 40_000, 2)
    assert (tax.rule_id, tax.amount, tax.rows, tax.card_id) == ("kanku", 100, 1, 1)


def test_a_toll_gate_row_recognised_by_ic_gives_its_amount_per_row():
    # 関西国際空港料金所: toll 800 + 関空橋税 100 in one row; two such rows
    members = member_usages([_row(900, exit_ic="関西空港"), _row(900, entry_ic="関西空港"), _row(5_000)],
                            [NonTaxableUsage(KANKU_IC)])
    [usage], [tax] = members[1].usages, members[1].non_taxable
    assert (usage.amount_billed, usage.discount_base) == (6_600, 6_600)
    assert (tax.amount, tax.rows) == (200, 2)


def test_non_taxable_is_its_own_section_and_in_no_base():
    rules = rules_for(DEFAULT_TARIFF, "2026-10") + [KANKU_REMARKS, parse_rule(
        {"id": "all_fee", "type": "usage_fee", "label": "事務手数料", "rate": "0.02"})]
    members = member_usages([_row(40_000), _row(100, remarks="関空橋税"), _row(100, remarks="関空橋税")],
                            [NonTaxableUsage(KANKU_REMARKS)])
    member = MemberMonth("0001", None, None, "2026-10", members[1].usages, [], non_taxable=members[1].non_taxable)
    result = calculate_invoice(member, rules)
    lines = [(line.charge.description, line.charge.amount, line.charge.tax_category) for line in result.lines]
    assert lines == [
        ("通行料金 111111-2222-33333-4", 40_000, TAXABLE_10),
        ("関空橋税 111111-2222-33333-4", 200, NON_TAXABLE),
        ("NEXCO 車両単位割引 111111-2222-33333-4", -7_500, TAXABLE_10),  # on 40,000, not 40,200
        ("事務手数料", 800, TAXABLE_10),                                   # 2% of 40,000, not of 40,200
        ("組合員管理料", 660, TAXABLE_10),
    ]
    # 10%: 40,000 − 7,500 + 800 + 660 = 33,960 → tax 3,087 (3,087.27…); 不課税 200, no tax
    assert result.subtotals == [TaxSubtotal(TAXABLE_10, 33_960, 3_087), TaxSubtotal(NON_TAXABLE, 200, 0)]
    assert result.totals()["usage_total"] == 40_200 and result.totals()["non_taxable_total"] == 200


def test_the_non_taxable_rule_checks_its_match():
    from app.domain.errors import DomainError

    for bad, message in [({"match": {}}, "match には ic, road_operator, remarks"),
                         ({"match": {"column": ["x"]}}, "match の「column」は使えません"),
                         ({"match": {"ic": "関西空港"}}, "match の ic は文字の一覧です"),
                         ({"match": {"ic": ["関西空港"]}, "amount_per_row": -1}, "amount_per_row は0以上の整数")]:
        with pytest.raises(DomainError, match=message):
            parse_rule({"id": "k", "type": "non_taxable_usage", **bad})


def test_etc2_commercial_needs_both():
    assert [is_etc2_commercial(*p) for p in [(True, True), (True, False), (False, True), (None, True)]] == [
        True, False, False, False]


def test_classify_reports_each_part():
    result = classify(_row(900, exit_ic="関西空港", peak_time=True, trip_km=Decimal(50)), [NonTaxableUsage(KANKU_IC)])
    assert (result.taxable, result.non_taxable, result.non_taxable_rule, result.expressway_base) == (800, 100, "kanku", 0)


# ── properties ──────────────────────────────────────────────────────────────

@st.composite
def usage_rows(draw):
    rows = []
    for _ in range(draw(st.integers(0, 25))):
        amount = draw(st.integers(0, 60_000))
        general = draw(st.integers(0, amount))
        public = draw(st.integers(0, amount - general))
        rows.append(UsageGroup(
            member_id=draw(st.sampled_from([1, 2])), card_id=draw(st.sampled_from([1, 2, 3])),
            card_number="", card_kind="corporate",
            road_operator=draw(st.sampled_from(["NEXCO", "NEXCO東日本", "首都高速道路", None])),
            amount_billed=amount, remarks=draw(st.sampled_from([None, "00", "01", "02", "確定;車両不一致", "関空橋税"])),
            peak_time=draw(st.booleans()), trip_km=draw(st.sampled_from([None, Decimal(40), Decimal(150), Decimal("123.4")])),
            amount_general_toll=general, amount_public_corp=public,
            amount_before_discount=draw(st.sampled_from([None, amount + 500])),
            exit_ic=draw(st.sampled_from([None, "関西空港", "吹田"]))))
    return [r.__class__(**{**r.__dict__, "card_number": f"{r.card_id:016d}"}) for r in rows]


def _summed(rows):
    """What the database's GROUP BY does with a file: identical rows summed."""
    groups = {}
    for row in rows:
        key = row.key()
        if key in groups:
            old = groups[key]
            before = (None if old.amount_before_discount is None or row.amount_before_discount is None
                      else old.amount_before_discount + row.amount_before_discount)
            groups[key] = old.__class__(**{**old.__dict__, "amount_billed": old.amount_billed + row.amount_billed,
                                           "rows": old.rows + row.rows,
                                           "amount_general_toll": old.amount_general_toll + row.amount_general_toll,
                                           "amount_public_corp": old.amount_public_corp + row.amount_public_corp,
                                           "amount_before_discount": before})
        else:
            groups[key] = row
    return list(groups.values())


KINDS = [NonTaxableUsage(KANKU_IC), NonTaxableUsage(parse_rule({"id": "z", "type": "non_taxable_usage",
                                                                "match": {"remarks": ["関空橋税"]}}))]


@settings(max_examples=200, deadline=None)
@given(usage_rows(), st.randoms(use_true_random=False), st.integers(1, 4))
def test_results_independent_of_row_order_and_of_how_rows_are_split_across_files(rows, rnd, files):
    expected = member_usages(rows, KINDS)
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    assert member_usages(shuffled, KINDS) == expected
    parts = [[] for _ in range(files)]
    for row in shuffled:
        parts[rnd.randrange(files)].append(row)
    assert member_usages([g for part in parts for g in _summed(part)], KINDS) == expected


@settings(max_examples=200, deadline=None)
@given(usage_rows())
def test_nothing_is_lost_between_tolls_and_non_taxable(rows):
    result = member_usages(rows, KINDS)
    billed = sum(r.amount_billed for r in rows)
    assert sum(u.amount_billed for m in result.values() for u in m.usages) + sum(
        n.amount for m in result.values() for n in m.non_taxable) == billed
    for m in result.values():
        for u in m.usages:
            assert 0 <= u.discount_base + u.general_toll_base + u.public_corp_base <= u.amount_billed

"""料金表: parsing (Japanese errors that name the rule), effective dates, scopes, and the shipped
app/tariffs/default.yaml."""
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from app.domain.card_lifecycle import EVENT_KINDS
from app.domain.errors import DomainError
from app.domain.pricing.member_share import UsageTier
from app.domain.pricing.member_discount import member_tiers
from app.domain.tariff import RULE_TYPES, Rule, Scope, parse_rule, parse_tariff, rules_for

DEFAULT_TARIFF = Path(__file__).resolve().parents[2] / "app" / "tariffs" / "default.yaml"
NEXCO_BANDS = [[5000, "0"], [10000, "0.10"], [30000, "0.20"], [None, "0.30"]]


def _fee(rule_id="member_monthly", amount=660, **extra):
    return {"id": rule_id, "type": "member_monthly_fee", "amount": amount, **extra}


# ── parsing ────────────────────────────────────────────────────────────────

def test_parse_rule_reads_every_part():
    rule = parse_rule({"id": "nexco_vehicle", "type": "vehicle_discount", "label": "NEXCO 車両単位割引",
                       "road_operator": "NEXCO", "bands": NEXCO_BANDS, "valid_from": "2019-04-01",
                       "valid_to": "2025/03/31", "scope": {"card_kind": "corporate"}, "rounding": "half_up"})
    assert (rule.rule_id, rule.type, rule.label, rule.valid_from, rule.valid_to, rule.rounding) == (
        "nexco_vehicle", "vehicle_discount", "NEXCO 車両単位割引", dt.date(2019, 4, 1), dt.date(2025, 3, 31), "half_up")
    assert rule.scope == Scope(card_kind="corporate")
    assert rule.params == {"road_operator": "NEXCO", "bands": NEXCO_BANDS}


def test_defaults_label_rounding_and_open_dates():
    rule = parse_rule(_fee())
    assert (rule.label, rule.rounding, rule.valid_from, rule.valid_to, rule.scope) == (
        RULE_TYPES["member_monthly_fee"], "floor", dt.date(2000, 1, 1), None, Scope())


def test_yaml_dates_and_numbers_are_accepted():
    data = yaml.safe_load("""
id: fee_issue
type: event_fee
event: issue
amount: 629
valid_from: 2026-10-01
scope: {member_code: "0012"}
""")
    rule = parse_rule(data)
    assert rule.valid_from == dt.date(2026, 10, 1) and rule.scope.member_code == "0012"


def test_scope_values_become_text():
    # Unquoted codes in YAML are numbers; the scope compares text, so 12 matches member "12" (not "0012").
    assert parse_rule(_fee(scope={"member_code": 12})).scope.member_code == "12"


@pytest.mark.parametrize("data, expected", [
    ({"type": "member_monthly_fee", "amount": 660}, "規則1（無名）: id がありません。"),
    ({"id": "x", "type": "discount"}, "規則1（x）: type「discount」は non_taxable_usage, vehicle_discount, member_discount, contract_discount"),
    ({"id": "fee", "type": "member_monthly_fee"}, "規則1（fee）: amount がありません。"),
    ({"id": "fee", "type": "member_monthly_fee", "amount": ""}, "規則1（fee）: amount がありません。"),
    ({"id": "veh", "type": "vehicle_discount"}, "規則1（veh）: bands がありません。"),
    ({"id": "ev", "type": "event_fee", "event": "issue"}, "規則1（ev）: amount がありません。"),
    ({"id": "c", "type": "contract_discount", "threshold_total": 5000000, "rate": "0.1"},
     "規則1（c）: threshold_average がありません。"),
    (_fee(scope={"member": "A"}), "規則1（member_monthly）: scope の「member」は使えません"),
    (_fee(rounding="round"), "規則1（member_monthly）: rounding は floor（切り捨て）"),
    (_fee(valid_from="令和8年4月1日"), "規則1（member_monthly）: 日付「令和8年4月1日」は 2026-04-01 の形で"),
    (_fee(valid_from="2026-10-01", valid_to="2026-09-30"), "規則1（member_monthly）: valid_to が valid_from より前です。"),
    (_fee(amount=-1), "規則1（member_monthly）: amount は0以上の整数（円）です。"),
    (_fee(amount="660円"), "規則1（member_monthly）: amount は0以上の整数（円）です。"),
    (_fee(amount=660.5), "規則1（member_monthly）: amount は0以上の整数（円）です。"),
    (_fee(amount=True), "規則1（member_monthly）: amount は0以上の整数（円）です。"),
    ({"id": "y", "type": "yearly_card_fee", "month": True, "amount": 629}, "規則1（y）: month は 1〜12 です。"),
    ({"id": "u", "type": "usage_fee", "rate": 8}, "規則1（u）: rate は 0〜1 の小数です（10% は 0.10）。"),
    ({"id": "u", "type": "usage_fee", "rate": "8%"}, "規則1（u）: 率は小数で書いてください"),
    ({"id": "m", "type": "member_discount", "method": "pass_through"}, "規則1（m）: pass_through には ratio が必要です。"),
    ({"id": "m", "type": "member_discount", "method": "pass_through", "ratio": "1.5"}, "規則1（m）: ratio は 0〜1"),
    ({"id": "m", "type": "member_discount", "method": "share"}, "規則1（m）: method は pass_through か table です。"),
    ({"id": "m", "type": "member_discount", "method": "table"}, "規則1（m）: table には tiers"),
    ({"id": "m", "type": "member_discount", "method": "table", "tiers": [[0, "9.8"]]}, "規則1（m）: tiers の割引率は 0〜1"),
    ({"id": "m", "type": "member_discount", "method": "table", "tiers": [["たくさん", "0.01"]]}, "規則1（m）: 値が正しくありません"),
    ({"id": "e", "type": "event_fee", "event": "lost", "amount": 660}, "規則1（e）: event は issue, add, loss"),
    ({"id": "y", "type": "yearly_card_fee", "month": 13, "amount": 629}, "規則1（y）: month は 1〜12 です。"),
    ({"id": "y", "type": "yearly_card_fee", "month": "4", "amount": 629}, "規則1（y）: month は 1〜12 です。"),
    ({"id": "v", "type": "vehicle_discount", "bands": [[10000, "0.1"], [5000, "0.2"], [None, "0.3"]]},
     "規則1（v）: 値が正しくありません（bands の上限額は 0 より大きく、小さい順に並べてください）。"),
    ({"id": "v", "type": "vehicle_discount", "bands": [[5000, "0"], [10000, "0.1"]]}, "規則1（v）: 値が正しくありません（bands の最後の段だけを上限なし"),
    ({"id": "v", "type": "vehicle_discount", "bands": [[5000, "0"], [None, "10"]]}, "規則1（v）: 値が正しくありません（bands の割引率は 0〜1"),
    ({"id": "v", "type": "vehicle_discount", "bands": NEXCO_BANDS, "etc2_commercial_bands": [[5000, "0.2"]]},
     "規則1（v）: 値が正しくありません"),
    ({"id": "v", "type": "vehicle_discount", "bands": NEXCO_BANDS, "etc2_valid_to": "2025年3月"},
     "規則1（v）: 日付「2025年3月」は"),
])
def test_parse_errors_are_japanese_and_name_the_rule(data, expected):
    with pytest.raises(DomainError) as error:
        parse_rule(data)
    assert str(error.value).startswith(expected)
    assert error.value.message == str(error.value)


def test_errors_count_rules_from_one():
    with pytest.raises(DomainError, match=r"^規則3（broken）: amount がありません。"):
        parse_tariff({"rules": [_fee("a"), _fee("b"), {"id": "broken", "type": "member_monthly_fee"}]})


def test_a_rule_that_is_not_a_mapping_is_refused():
    with pytest.raises(DomainError, match=r"^規則2: 「id: …」「type: …」の形で"):
        parse_tariff({"rules": [_fee(), "member_monthly_fee 660"]})


def test_same_id_and_valid_from_twice_is_refused():
    with pytest.raises(DomainError, match="規則 member_monthly が同じ valid_from（2026-04-01）で2回あります。"):
        parse_tariff({"rules": [_fee(valid_from="2026-04-01"), _fee(amount=700, valid_from="2026-04-01")]})


@pytest.mark.parametrize("old_to", [None, "2026-10-01", "2026-12-31"])
def test_overlapping_versions_are_refused(old_to):
    with pytest.raises(DomainError, match="規則 member_monthly の期間が重なっています"):
        parse_tariff({"rules": [_fee(valid_from="2024-04-01", valid_to=old_to),
                                _fee(amount=700, valid_from="2026-10-01")]})


def test_empty_tariff():
    assert parse_tariff({}) == [] and parse_tariff(None) == [] and parse_tariff({"rules": None}) == []


def test_member_tiers():
    rule = parse_rule({"id": "m", "type": "member_discount", "method": "table",
                       "tiers": [[0, "0.01"], [500000, "0.098"]]})
    assert member_tiers(rule) == [UsageTier(0, Decimal("0.01")), UsageTier(500000, Decimal("0.098"))]


def test_decimal_reads_rates_written_as_numbers_or_text():
    assert parse_rule({"id": "u", "type": "usage_fee", "rate": 0.02}).decimal("rate") == Decimal("0.02")
    assert parse_rule({"id": "u", "type": "usage_fee", "rate": "0.08"}).decimal("rate") == Decimal("0.08")


# ── effective dates ────────────────────────────────────────────────────────

MID_YEAR = {"rules": [
    {"id": "yearly_card", "type": "yearly_card_fee", "month": 4, "amount": 600, "valid_to": "2026-09-30"},
    {"id": "yearly_card", "type": "yearly_card_fee", "month": 4, "amount": 629, "valid_from": "2026-10-01"},
    _fee(valid_from="2026-04-01"),
]}


def test_effective_date_switch_mid_year():
    rules = parse_tariff(MID_YEAR)
    september, october = rules_for(rules, "2026-09"), rules_for(rules, "2026-10")
    assert [(r.rule_id, r.params.get("amount")) for r in september] == [("member_monthly", 660), ("yearly_card", 600)]
    assert [(r.rule_id, r.params.get("amount")) for r in october] == [("member_monthly", 660), ("yearly_card", 629)]


def test_a_past_month_is_billed_with_the_rules_of_that_month():
    rules = parse_tariff(MID_YEAR)
    assert [r.params["amount"] for r in rules_for(rules, "2025-04") if r.rule_id == "yearly_card"] == [600]
    assert [r.rule_id for r in rules_for(rules, "2026-03")] == ["yearly_card"]  # member fee starts 2026-04


def test_a_rule_is_judged_on_the_first_day_of_the_month():
    rule = parse_rule(_fee(valid_from="2026-10-15", valid_to="2027-03-31"))
    assert [rule.valid_in(m) for m in ("2026-10", "2026-11", "2027-03", "2027-04")] == [False, True, True, False]
    ending = parse_rule(_fee(valid_to="2026-10-14"))
    assert ending.valid_in("2026-10") and not ending.valid_in("2026-11")


def test_mid_month_versions_never_both_apply():
    rules = parse_tariff({"rules": [_fee(valid_to="2026-10-14"), _fee(amount=700, valid_from="2026-10-15")]})
    assert [r.params["amount"] for r in rules_for(rules, "2026-10")] == [660]
    assert [r.params["amount"] for r in rules_for(rules, "2026-11")] == [700]


def test_rules_for_is_sorted_by_type_and_id_whatever_the_file_order():
    rules = parse_tariff({"rules": [_fee("b_fee"), {"id": "u", "type": "usage_fee", "rate": "0.02"}, _fee("a_fee")]})
    assert [r.rule_id for r in rules_for(rules, "2026-10")] == ["a_fee", "b_fee", "u"]
    assert [r.rule_id for r in rules_for(list(reversed(rules)), "2026-10")] == ["a_fee", "b_fee", "u"]


# ── scopes ─────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("scope, member, expected", [
    (Scope(), ("0001", None, None), True),
    (Scope(member_group="東部"), ("0001", "東部", None), True),
    (Scope(member_group="東部"), ("0001", "西部", None), False),
    (Scope(member_group="東部"), ("0001", None, None), False),
    (Scope(member_code="0001"), ("0001", "東部", "A1"), True),
    (Scope(member_code="0001"), ("0002", "東部", "A1"), False),
    (Scope(agency_code="A1"), ("0001", None, "A1"), True),
    (Scope(agency_code="A1"), ("0001", None, "A2"), False),
    (Scope(agency_code="A1"), ("0001", None, None), False),
    (Scope(member_group="東部", agency_code="A1"), ("0001", "東部", "A2"), False),
    (Scope(member_group="東部", agency_code="A1"), ("0001", "東部", "A1"), True),
    (Scope(card_kind="credit"), ("0001", "東部", "A1"), True),  # card kind does not select members
])
def test_scope_selects_members(scope, member, expected):
    assert scope.matches_member(*member) is expected


def test_scope_selects_cards():
    assert Scope().matches_card("corporate") and Scope().matches_card("credit")
    assert Scope(card_kind="credit").matches_card("credit")
    assert not Scope(card_kind="credit").matches_card("corporate")
    assert Scope(member_code="0001").matches_card("corporate")


def test_scope_describe():
    assert Scope().describe() == "全組合員"
    assert Scope(member_group="東部", card_kind="credit").describe() == "組合員グループ=東部、カード種別=credit"


# ── the shipped default tariff ─────────────────────────────────────────────

def _default_rules() -> list[Rule]:
    return parse_tariff(yaml.safe_load(DEFAULT_TARIFF.read_text(encoding="utf-8")))


def test_default_tariff_parses():
    rules = _default_rules()
    assert {r.type for r in rules} == set(RULE_TYPES) - {"card_monthly_fee", "minimum_charge"}
    assert all(r.label for r in rules)


def test_default_tariff_numbers_follow_the_domain_notes():
    rules = {r.rule_id: r for r in _default_rules()}
    nexco = rules["nexco_vehicle"]
    assert (nexco.params["road_operator"], nexco.params["bands"], nexco.params["etc2_valid_to"]) == (
        "NEXCO", NEXCO_BANDS, dt.date(2025, 3, 31))
    assert nexco.params["etc2_commercial_bands"] == [[5000, "0"], [10000, "0.20"], [30000, "0.30"], [None, "0.40"]]
    shutoko = rules["shutoko_vehicle"]
    assert (shutoko.params["road_operator"], shutoko.valid_from, shutoko.params["bands"][-1]) == (
        "首都高", dt.date(2022, 4, 1), [None, "0.25"])
    contract = rules["nexco_contract"]
    assert (contract.params["threshold_total"], contract.params["threshold_average"], contract.decimal("rate")) == (
        5_000_000, 30_000, Decimal("0.10"))
    assert rules["member_pass_through"].decimal("ratio") == Decimal("1.0")
    assert (rules["credit_usage_fee"].decimal("rate"), rules["credit_usage_fee"].scope) == (
        Decimal("0.02"), Scope(card_kind="credit"))
    events = {r.params["event"]: r.params["amount"] for r in rules.values() if r.type == "event_fee"}
    assert events == {"issue": 629, "add": 629, "reissue": 629, "vehicle_change": 629, "renewal": 629, "loss": 660}
    assert set(events) <= set(EVENT_KINDS)
    assert (rules["yearly_card"].params["month"], rules["yearly_card"].params["amount"]) == (4, 629)
    assert rules["member_monthly"].params["amount"] == 660


def test_default_tariff_months():
    rules = _default_rules()
    assert "shutoko_vehicle" not in [r.rule_id for r in rules_for(rules, "2022-03")]
    assert "shutoko_vehicle" in [r.rule_id for r in rules_for(rules, "2022-04")]
    assert len(rules_for(rules, "2026-10")) == len(rules)

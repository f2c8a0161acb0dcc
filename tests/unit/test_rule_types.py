"""The shape (issue 7): each tariff rule type is one class in one module of app/domain/pricing/, with its
parameter check and its apply; the tariff reads the types from there; 契約単位割引's denominator."""
import importlib
from decimal import Decimal

import pytest

from app.domain.discount_base import UsageGroup, member_usages
from app.domain.errors import DomainError
from app.domain.pricing.contract_discount import ContractDiscount, contract_shares
from app.domain.pricing.rule_type import RuleType, rule_types
from app.domain.tariff import RULE_TYPES, parse_rule


def test_every_type_is_one_class_in_a_module_of_its_own_name():
    types = rule_types()
    assert list(types) == ["non_taxable_usage", "vehicle_discount", "member_discount", "contract_discount",
                           "usage_fee", "card_monthly_fee", "member_monthly_fee", "yearly_card_fee", "event_fee",
                           "minimum_charge"]
    for name, cls in types.items():
        assert cls.__module__ == f"app.domain.pricing.{name}"
        module = importlib.import_module(cls.__module__)
        assert [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, RuleType)
                and c is not RuleType and c.__module__ == module.__name__] == [cls]
        assert cls.apply is not RuleType.apply or name == "contract_discount"
    assert RULE_TYPES == {name: cls.title for name, cls in types.items()}


def test_a_misspelt_parameter_is_refused_in_japanese():
    with pytest.raises(DomainError, match=r"^規則1（v）: vehicle_discount に「road_operater」は書けません"
                                          r"（使える項目: bands, road_operator, road_category"):
        parse_rule({"id": "v", "type": "vehicle_discount", "bands": [[None, "0.1"]], "road_operater": "NEXCO"})


def test_road_category_is_checked():
    with pytest.raises(DomainError, match="road_category は expressway, general_toll, public_corp"):
        parse_rule({"id": "v", "type": "vehicle_discount", "bands": [[None, "0.1"]], "road_category": "国道"})


CONTRACT = parse_rule({"id": "nexco_contract", "type": "contract_discount", "road_operator": "NEXCO",
                       "threshold_total": 5_000_000, "threshold_average": 30_000, "rate": "0.10",
                       "scope": {"card_kind": "corporate"}})
GENERAL = parse_rule({"id": "nexco_contract_general", "type": "contract_discount", "road_operator": "NEXCO",
                      "road_category": "general_toll", "threshold_total": 5_000_000, "threshold_average": 30_000,
                      "rate": "0.05"})
PASS = parse_rule({"id": "share", "type": "member_discount", "method": "pass_through", "ratio": "1"})


def _rows(count, amount, start=1, member=1, operator="NEXCO東日本", **extra):
    return [UsageGroup(member, i, f"{i:016d}", "corporate", operator, amount, **extra)
            for i in range(start, start + count)]


def test_the_contract_average_counts_only_cards_with_a_positive_base():
    # 100 cards × 60,000 = 6,000,000; 150 more cards whose only rows are 車両不一致.
    rows = _rows(100, 60_000) + _rows(150, 20_000, start=101, remarks="車両不一致")
    usages = {m: u.usages for m, u in member_usages(rows).items()}
    result = ContractDiscount(CONTRACT).compute(usages[1])
    # counted over 250 cards the average would be 24,000 (no discount); over the 100 with a base, 60,000
    assert (result.base, result.vehicles, result.discount) == (6_000_000, 100, 600_000)
    assert "対象額のあるカード 100枚" in result.breakdown


def test_contract_discount_for_general_toll_roads_is_5_percent_of_their_own_total():
    rows = _rows(100, 80_000, operator="NEXCO", amount_general_toll=60_000)
    usages = {m: u.usages for m, u in member_usages(rows).items()}
    results, shares = contract_shares([CONTRACT, GENERAL, PASS], usages, {1: ("0001", None, None)})
    # 高速国道 100 × 20,000 = 2,000,000: not over 5,000,000 → 0; 一般有料 100 × 60,000 = 6,000,000 → 5% = 300,000
    assert [(r.rule_id, r.base, r.discount) for r in results] == [("nexco_contract", 2_000_000, 0),
                                                                  ("nexco_contract_general", 6_000_000, 300_000)]
    assert shares == {1: 300_000}


def test_contract_shares_split_by_members_base():
    rows = _rows(60, 60_000, member=1) + _rows(40, 60_000, start=61, member=2) + _rows(5, 9_000, start=200,
                                                                                       member=2, remarks="02")
    usages = {m: u.usages for m, u in member_usages(rows).items()}
    [result], shares = contract_shares([CONTRACT, PASS], usages, {1: ("0001", None, None), 2: ("0002", None, None)})
    # 6,000,000 over 100 cards → 600,000; split 3,600,000 : 2,400,000 (the 車両不一致 cards weigh nothing)
    assert result.discount == 600_000 and shares == {1: 360_000, 2: 240_000}
    assert Decimal(result.base) / result.vehicles == 60_000

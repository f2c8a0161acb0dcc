"""issue 8 item 15: what an invoice line keeps of the rules it was computed with."""
import datetime as dt
from decimal import Decimal

from app.domain.tariff import Rule, line_rule_params


def _rule(rule_id, **params):
    return Rule(rule_id, "member_discount", f"{rule_id}の割引", dt.date(2026, 4, 1), None, params, rounding="half_up")


def _rules():
    return [_rule("a", rate=Decimal("0.05")), _rule("b", rate="0.10", since=dt.date(2026, 5, 1)), _rule("c")]


def test_a_line_of_two_rules_keeps_both_and_a_line_without_a_rule_keeps_nothing():
    rules = _rules()
    kept = line_rule_params("a+b", rules)
    assert [k["id"] for k in kept] == ["a", "b"]
    assert kept[0] == {"id": "a", "label": "aの割引", "type": "member_discount", "valid_from": "2026-04-01",
                       "valid_to": None, "params": {"rate": "0.05"}, "rounding": "half_up"}
    assert kept[1]["params"] == {"rate": "0.10", "since": "2026-05-01"}
    assert line_rule_params(None, rules) is None
    assert line_rule_params("", rules) is None
    # Adjustment and carried-credit lines name their source, never a tariff rule.
    assert line_rule_params("adjustment:7", rules) is None and line_rule_params("carried:3", rules) is None


def test_a_kept_rule_reads_in_japanese_without_code_names():
    from app.domain.tariff import describe_kept_rule

    kept = {"id": "member_monthly", "label": "組合員管理料", "type": "member_monthly_fee", "valid_from": "2026-04-01",
            "valid_to": None, "params": {"amount": 1660}, "rounding": "floor"}
    assert describe_kept_rule(kept) == "組合員管理料（2026/04/01〜）: 金額 1,660円・端数切り捨て"


def test_kept_versions_are_named_by_their_content():
    from app.domain.tariff import kept_digest, kept_for_line, kept_rule_versions

    kept = kept_rule_versions(_rules())
    assert kept_digest(kept) == kept_digest([dict(reversed(list(v.items()))) for v in kept])  # key order irrelevant
    assert kept_digest(kept) != kept_digest(kept[:1])
    assert kept_for_line("a+b", kept) == line_rule_params("a+b", _rules())
    assert kept_for_line("a", None) is None and kept_for_line("a", []) is None

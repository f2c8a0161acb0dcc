"""Issue 7 items 3 and 4: 最低請求額 applies to the month's own charges only (a credit is never
absorbed); a negative total is a credit carried as 前月繰越（貸方）; tax on a negative amount
truncates toward zero. Every number computed by hand in the comments."""
from hypothesis import given, settings, strategies as st

from app.domain.invoice_calculation import CarriedCredit, MemberMonth, calculate_invoice
from app.domain.pricing.breakdown import CARRIED_OVER, NON_TAXABLE, TAXABLE_10, Charge
from app.domain.pricing.tax import TaxSubtotal, tax_subtotals
from app.domain.tariff import parse_rule

FEE = {"id": "member_monthly", "type": "member_monthly_fee", "label": "組合員管理料", "amount": 660}
MINIMUM = {"id": "min", "type": "minimum_charge", "label": "最低請求額", "amount": 1_000}


def _rules(*data):
    return [parse_rule(item, i) for i, item in enumerate(data)]


def _credit(amount=-50_000):
    return Charge("訂正（請求書 00000007）返金", amount, TAXABLE_10, "adjustment:1", None, "adjustment")


def _amounts(result):
    return [(line.charge.description, line.charge.amount) for line in result.lines]


# ── item 3: 最低請求額 ──────────────────────────────────────────────────────────

def test_minimum_charge_does_not_swallow_a_credit():
    member = MemberMonth("0001", None, None, "2026-10", adjustments=[_credit()])
    result = calculate_invoice(member, _rules(FEE, MINIMUM))
    # own charges 660 → top-up 340; the −50,000 correction comes after: 1,000 − 50,000 = −49,000
    assert _amounts(result) == [("組合員管理料", 660), ("最低請求額", 340), ("訂正（請求書 00000007）返金", -50_000)]
    assert result.total == -49_000
    assert result.is_credit
    assert "最低請求額 1,000円 − 当月分の請求額 660円 = 340円" in result.lines[1].breakdown


def test_minimum_charge_ignores_a_positive_correction_too():
    # own charges 660 → 340 added even though a +2,000 correction makes the invoice 3,000
    member = MemberMonth("0001", None, None, "2026-10", adjustments=[_credit(2_000)])
    assert calculate_invoice(member, _rules(FEE, MINIMUM)).total == 660 + 340 + 2_000


def test_minimum_charge_ignores_carried_credits():
    member = MemberMonth("0001", None, None, "2026-10",
                         carried_credits=[CarriedCredit(7, "00000007", "2026-09", -49_000)])
    result = calculate_invoice(member, _rules(FEE, MINIMUM))
    assert result.total == 1_000 - 49_000 == -48_000


# ── item 4: credits ────────────────────────────────────────────────────────────

def test_tax_on_a_negative_total_truncates_toward_zero():
    # −46,650 × 10/110 = −4,240.90… → −4,240 (floor would give −4,241)
    assert tax_subtotals([Charge("訂正", -46_650)]) == [TaxSubtotal(TAXABLE_10, -46_650, -4_240)]
    # and the positive amount gives the same yen: 4,240.90… → 4,240
    assert tax_subtotals([Charge("通行料金", 46_650)]) == [TaxSubtotal(TAXABLE_10, 46_650, 4_240)]


def test_a_credit_invoice_has_its_tax_toward_zero():
    member = MemberMonth("0001", None, None, "2026-10", adjustments=[_credit()])
    result = calculate_invoice(member, _rules(FEE, MINIMUM))
    # −49,000 × 10/110 = −4,454.54… → −4,454
    assert result.subtotals == [TaxSubtotal(TAXABLE_10, -49_000, -4_454)]


def test_a_carried_credit_is_a_line_outside_the_tax():
    member = MemberMonth("0001", None, None, "2026-11",
                         carried_credits=[CarriedCredit(7, "00000012", "2026-10", -49_000)])
    result = calculate_invoice(member, _rules(FEE))
    assert _amounts(result) == [("組合員管理料", 660), ("前月繰越（貸方）（請求書 00000012）", -49_000)]
    line = result.lines[1].charge
    assert (line.tax_category, line.kind, line.rule_id) == (CARRIED_OVER, "carried_over", "carried:7")
    # the credit's tax was on its own invoice: 660 holds 60, the carried −49,000 holds none here
    assert result.subtotals == [TaxSubtotal(TAXABLE_10, 660, 60), TaxSubtotal(CARRIED_OVER, -49_000, 0)]
    assert result.total == -48_340 and result.is_credit
    assert "2026年10月分 請求書 00000012 の貸方 -49,000円 を繰り越し" in result.lines[1].breakdown
    totals = result.totals()
    assert (totals["fee_total"], totals["adjustment_total"], totals["taxable_total"], totals["tax_amount"],
            totals["total"]) == (660, -49_000, 660, 60, -48_340)


def test_a_credit_used_up_by_the_next_month():
    member = MemberMonth("0001", None, None, "2026-11",
                         carried_credits=[CarriedCredit(7, "00000012", "2026-10", -300)])
    result = calculate_invoice(member, _rules(FEE))
    assert result.total == 360 and not result.is_credit


# ── properties ─────────────────────────────────────────────────────────────────

@settings(max_examples=300, deadline=None)
@given(st.integers(-10_000_000, 10_000_000))
def test_tax_truncates_toward_zero_for_both_signs(total):
    [subtotal] = tax_subtotals([Charge("x", total)]) or [TaxSubtotal(TAXABLE_10, 0, 0)]
    size = abs(total) * 10 // 110  # integer floor of the size
    assert subtotal.tax == (size if total >= 0 else -size)
    assert tax_subtotals([Charge("x", -total)]) in ([], [TaxSubtotal(TAXABLE_10, -total, -subtotal.tax)])


@settings(max_examples=300, deadline=None)
@given(fee=st.integers(0, 3_000), minimum=st.integers(0, 5_000),
       corrections=st.lists(st.tuples(st.integers(-80_000, 20_000), st.sampled_from([TAXABLE_10, NON_TAXABLE])),
                            max_size=3),
       carried=st.lists(st.integers(-80_000, -1), max_size=2))
def test_a_credit_is_never_absorbed(fee, minimum, corrections, carried):
    member = MemberMonth("0001", None, None, "2026-10",
                         adjustments=[Charge(f"訂正{i}", a, c, f"adjustment:{i}", None, "adjustment")
                                      for i, (a, c) in enumerate(corrections)],
                         carried_credits=[CarriedCredit(i, f"{i:08d}", "2026-09", a) for i, a in enumerate(carried)])
    rules = _rules({**FEE, "amount": fee}, {**MINIMUM, "amount": minimum})
    result = calculate_invoice(member, rules)
    credits = sum(a for a, _ in corrections) + sum(carried)
    # the month's own charges are topped up to the minimum; every correction and credit is added whole
    assert result.total == max(fee, minimum) + credits
    assert result.total == sum(line.charge.amount for line in result.lines)
    assert sum(s.total_including_tax for s in result.subtotals) == result.total

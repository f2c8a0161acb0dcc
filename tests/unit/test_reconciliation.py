"""消込 rules: payment states and transfer suggestions."""
import pytest

from app.domain.reconciliation import Candidate, balance_to_carry, payer_key, payment_state, suggest


@pytest.mark.parametrize("total, received, state", [
    (1000, 0, "unpaid"), (1000, 400, "partly_paid"), (1000, 1000, "paid"), (1000, 1200, "overpaid"),
    (0, 0, "nothing_due"), (-500, 0, "nothing_due")])
def test_payment_state(total, received, state):
    assert payment_state(total, received) == state


@pytest.mark.parametrize("name", ["ｶ)ﾔﾏﾀﾞｳﾝﾕ", "ヤマダウンユ（カ", "カブシキガイシャ　ヤマダウンユ", "株式会社ヤマダウンユ", "やまだうんゆ"])
def test_payer_key_ignores_the_corporate_form(name):
    assert payer_key(name) == "ﾔﾏﾀﾞｳﾝﾕ"


def test_suggestions_best_first():
    candidates = [Candidate(1, ("ヤマダウンユ",), 5000), Candidate(2, ("サトウショウジ",), 12000),
                  Candidate(3, ("ヤマダウンユ",), 12000)]
    found = suggest("ｶ)ﾔﾏﾀﾞｳﾝﾕ", 12000, candidates)
    assert [(s.invoice_id, s.score) for s in found] == [(3, 3), (1, 2), (2, 1)]
    assert found[0].reason == "名義・金額が一致"
    assert suggest("ﾀﾅｶ", 1, candidates) == []


def test_balance_to_carry_writes_off_at_most_the_amount_approved():
    assert balance_to_carry(3509, 0) == 3509
    assert balance_to_carry(3509, 0, written_off=3399) == 110  # a correction raised the total after the approval
    assert balance_to_carry(3344, 0, written_off=3399) == 0  # lowered: nothing carried, nothing credited
    assert balance_to_carry(3509, 0, carried=110, written_off=3399) == 0  # the excess carried once
    assert balance_to_carry(3000, 3500, written_off=3000) == -500  # 過入金 stays a credit
    assert balance_to_carry(10000, 3000, written_off=10000) == 0

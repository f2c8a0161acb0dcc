"""Issue 7 item 6: which cards a month charges follows each card's event history as of that month, so
recomputing a past month gives the cards it had then; the April yearly fee too."""
import datetime as dt

import pytest

from app.domain.billable_events import EventRecord, is_billable
from app.domain.cards_in_force import CardEventRecord, CardHistory, cards_in_force, in_force
from app.domain.invoice_calculation import MemberMonth, calculate_invoice
from app.domain.tariff import parse_rule

D = dt.date
CARD_FEE = parse_rule({"id": "card", "type": "card_monthly_fee", "label": "カード管理料", "amount": 110,
                       "scope": {"card_kind": "corporate"}})
YEARLY = parse_rule({"id": "yearly", "type": "yearly_card_fee", "label": "年間カード手数料", "month": 4, "amount": 629})


def _card(card_id, *events, valid_from=D(2026, 4, 1), valid_until=None):
    return CardHistory(card_id, f"{card_id:016d}", "corporate", valid_from, valid_until, tuple(events))


LOST_OCT_CANCELLED_DEC = _card(1, CardEventRecord("issue", D(2026, 4, 1)), CardEventRecord("loss", D(2026, 10, 15)),
                               CardEventRecord("cancel", D(2026, 12, 1)))
ACTIVE = _card(2, CardEventRecord("issue", D(2026, 4, 1)))


def _fee_for(month, cards):
    in_month = [(c.card_id, c.number, c.kind) for c in cards_in_force(cards, month)]
    return calculate_invoice(MemberMonth("0001", None, None, month, active_cards=in_month), [CARD_FEE]).total


@pytest.mark.parametrize("month, cards, fee", [
    ("2026-10", 2, 220),   # lost during October: in force on its first day
    ("2026-11", 1, 110),   # lost before November: not charged, although only cancelled in December
    ("2026-12", 1, 110),
    ("2026-03", 0, 0),     # not issued yet
])
def test_card_lost_in_october_and_cancelled_in_december(month, cards, fee):
    assert len(cards_in_force([LOST_OCT_CANCELLED_DEC, ACTIVE], month)) == cards
    assert _fee_for(month, [LOST_OCT_CANCELLED_DEC, ACTIVE]) == fee


@pytest.mark.parametrize("card, expected", [
    (_card(1, valid_from=D(2026, 4, 30)), True),                          # issued on the month's last day
    (_card(1, valid_from=D(2026, 5, 1)), False),                          # issued after the month
    (_card(1, valid_from=None), True),                                    # no date known: in force
    (_card(1, CardEventRecord("add", D(2026, 5, 2)), valid_from=None), False),  # issue event date when no valid_from
    (_card(1, CardEventRecord("loss", D(2026, 3, 31))), False),
    (_card(1, CardEventRecord("loss", D(2026, 4, 1))), True),             # stopped on the first day, not before
    (_card(1, CardEventRecord("cancel", D(2026, 3, 20))), False),
    (_card(1, CardEventRecord("reissue", D(2026, 3, 20), replaced_by_new_card=True)), False),
    (_card(1, CardEventRecord("vehicle_change", D(2026, 3, 20))), True),  # same card, other vehicle
    (_card(1, CardEventRecord("renewal", D(2026, 3, 20), replaced_by_new_card=True)), False),
    (_card(1, valid_until=D(2026, 3, 31)), False),                        # expired before April
    (_card(1, valid_from=D(2021, 4, 1), valid_until=D(2026, 4, 30)), True),
])
def test_in_force_in_april(card, expected):
    assert in_force(card, "2026-04") is expected


def test_yearly_fee_counts_the_cards_in_force_in_april():
    cards = [_card(1, valid_from=D(2026, 4, 10)), _card(2, CardEventRecord("loss", D(2026, 3, 31))),
             _card(3, CardEventRecord("cancel", D(2026, 6, 1))), _card(4, valid_from=D(2026, 5, 1))]
    in_april = [(c.card_id, c.number, c.kind) for c in cards_in_force(cards, "2026-04")]
    result = calculate_invoice(MemberMonth("0001", None, None, "2026-04", active_cards=in_april), [YEARLY])
    assert result.total == 629 * 2  # cards 1 and 3


@pytest.mark.parametrize("event, month, expected", [
    (EventRecord(1, D(2026, 10, 31), False, None), "2026-10", True),
    (EventRecord(1, D(2026, 11, 1), False, None), "2026-10", False),       # next month's
    (EventRecord(1, D(2026, 9, 3), False, None), "2026-10", True),         # late: the first open month bills it
    (EventRecord(1, D(2026, 9, 3), True, None), "2026-10", False),         # billed already
    (EventRecord(1, D(2026, 9, 3), False, "マスタ取込（Excel）"), "2026-10", False),  # the previous system billed it
])
def test_billable_events(event, month, expected):
    assert is_billable(event, month) is expected

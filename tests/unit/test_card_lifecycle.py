"""カード異動: what each event does to a card, from every starting status."""
import datetime as dt

import pytest
from hypothesis import given, strategies as st

from app.domain.card_lifecycle import (ACTIVE, ADD, CANCEL, CANCELLED, CARD_STATUSES, EVENT_KINDS, EXPIRED, ISSUE,
                                       LOSS, LOST, REISSUE, REISSUED, RENEWAL, VEHICLE_CHANGE, EventPlan,
                                       corporate_valid_until, end_of_month, plan_card_event)
from app.domain.errors import DomainError

DAY = dt.date(2026, 11, 10)
NEW = "9011234567890131"
OLD_VEHICLE, NEW_VEHICLE = object(), object()
ALL_STATUSES = list(CARD_STATUSES)

ALLOWED = {
    LOSS: {ACTIVE},
    REISSUE: {ACTIVE, LOST},
    VEHICLE_CHANGE: {ACTIVE},
    CANCEL: {ACTIVE, LOST},
    RENEWAL: {ACTIVE},
}


def _plan(kind, status, card_kind="corporate", **extra):
    args = dict(occurred_on=DAY, current_vehicle=OLD_VEHICLE, current_valid_until=dt.date(2027, 3, 31))
    if kind == REISSUE:
        args["new_number"] = NEW
    if kind == VEHICLE_CHANGE:
        args["new_vehicle"] = NEW_VEHICLE
    args.update(extra)
    return plan_card_event(kind, status, card_kind, **args)


def test_every_kind_has_a_japanese_name():
    assert set(EVENT_KINDS) == {ISSUE, ADD, LOSS, REISSUE, VEHICLE_CHANGE, CANCEL, RENEWAL}
    assert EVENT_KINDS[VEHICLE_CHANGE] == "車両入替"


@pytest.mark.parametrize("kind", [ISSUE, ADD])
@pytest.mark.parametrize("status", ALL_STATUSES)
def test_issue_and_add_are_recorded_by_card_registration_only(kind, status):
    with pytest.raises(DomainError) as error:
        _plan(kind, status)
    assert error.value.message == "新規・追加発行はカードの登録で記録されます。"
    assert error.value.field == "kind"


@pytest.mark.parametrize("kind, status", [(k, s) for k in ALLOWED for s in ALL_STATUSES if s not in ALLOWED[k]])
def test_forbidden_starting_statuses(kind, status):
    with pytest.raises(DomainError) as error:
        _plan(kind, status)
    assert error.value.message == f"{CARD_STATUSES[status]}のカードに「{EVENT_KINDS[kind]}」は登録できません。"
    assert error.value.field == "kind"


@pytest.mark.parametrize("kind, status", [(k, s) for k in ALLOWED for s in ALL_STATUSES if s in ALLOWED[k]])
def test_allowed_starting_statuses_give_a_plan(kind, status):
    assert isinstance(_plan(kind, status), EventPlan)


def test_loss_marks_the_card_lost():
    assert _plan(LOSS, ACTIVE) == EventPlan(LOST, False, False)


@pytest.mark.parametrize("status", [ACTIVE, LOST])
def test_cancel_from_active_or_lost(status):
    assert _plan(CANCEL, status) == EventPlan(CANCELLED, False, False)


@pytest.mark.parametrize("status", [ACTIVE, LOST])
def test_reissue_makes_a_successor_and_the_old_card_reissued(status):
    assert _plan(REISSUE, status) == EventPlan(REISSUED, True, False)


def test_reissue_needs_the_new_number():
    with pytest.raises(DomainError) as error:
        _plan(REISSUE, LOST, new_number=None)
    assert error.value.message == "再発行では新しいカード番号を入力してください。"
    assert error.value.field == "new_card_number"


def test_vehicle_change_keeping_the_card_number():
    assert _plan(VEHICLE_CHANGE, ACTIVE) == EventPlan(ACTIVE, False, True)


def test_vehicle_change_with_a_new_card():
    assert _plan(VEHICLE_CHANGE, ACTIVE, new_number=NEW) == EventPlan(REISSUED, True, True)


def test_vehicle_change_needs_a_new_vehicle():
    with pytest.raises(DomainError) as error:
        _plan(VEHICLE_CHANGE, ACTIVE, new_vehicle=None)
    assert error.value.message == "車両入替では入替後の車両を選んでください。"
    assert error.value.field == "new_vehicle"


def test_vehicle_change_to_the_same_vehicle_is_refused():
    with pytest.raises(DomainError) as error:
        _plan(VEHICLE_CHANGE, ACTIVE, new_vehicle=OLD_VEHICLE)
    assert error.value.message == "入替後の車両が現在の車両と同じです。"


def test_renewal_of_a_corporate_card_extends_five_years_from_the_old_expiry():
    # A card printed "27年03月" is renewed by a card printed "32年03月" (etc-domain.md §4.3: batch exchange).
    plan = _plan(RENEWAL, ACTIVE, current_valid_until=dt.date(2027, 3, 31))
    assert plan == EventPlan(ACTIVE, False, False, dt.date(2032, 3, 31))


def test_renewal_with_a_new_number_expires_the_old_card():
    plan = _plan(RENEWAL, ACTIVE, new_number=NEW, current_valid_until=dt.date(2027, 3, 31))
    assert plan == EventPlan(EXPIRED, True, False, dt.date(2032, 3, 31))


def test_renewal_without_known_expiry_counts_from_the_event_date():
    plan = _plan(RENEWAL, ACTIVE, current_valid_until=None)
    assert plan.new_valid_until == dt.date(2031, 11, 30)


def test_renewal_of_a_credit_card_sets_no_corporate_expiry():
    plan = _plan(RENEWAL, ACTIVE, card_kind="credit")
    assert plan == EventPlan(ACTIVE, False, False, None)


@pytest.mark.parametrize("kind", ["transfer", "", "ISSUE"])
def test_unknown_kinds_are_refused(kind):
    with pytest.raises(DomainError) as error:
        _plan(kind, ACTIVE)
    assert error.value.message == f"異動区分「{kind}」は登録できません。"


def test_event_date_is_required():
    with pytest.raises(DomainError) as error:
        _plan(LOSS, ACTIVE, occurred_on=None)
    assert error.value.field == "occurred_on"
    assert error.value.message == "異動日を入力してください。"


@pytest.mark.parametrize("valid_from, valid_until", [
    (dt.date(2011, 6, 15), dt.date(2016, 6, 30)),    # printed 16年06月
    (dt.date(2026, 1, 1), dt.date(2031, 1, 31)),
    (dt.date(2026, 12, 31), dt.date(2031, 12, 31)),
    (dt.date(2024, 2, 29), dt.date(2029, 2, 28)),    # 29 February, next year not leap
    (dt.date(2023, 2, 28), dt.date(2028, 2, 29)),    # lands in a leap February: its end
    (dt.date(2027, 2, 15), dt.date(2032, 2, 29)),
    (dt.date(2026, 4, 30), dt.date(2031, 4, 30)),
])
def test_corporate_valid_until_is_the_end_of_the_month_five_years_later(valid_from, valid_until):
    assert corporate_valid_until(valid_from) == valid_until


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 12, 31)))
def test_corporate_valid_until_properties(day):
    until = corporate_valid_until(day)
    assert until == end_of_month(until)
    assert (until.year, until.month) == (day.year + 5, day.month)
    assert (until + dt.timedelta(days=1)).day == 1


def test_end_of_month():
    assert end_of_month(dt.date(2024, 2, 3)) == dt.date(2024, 2, 29)
    assert end_of_month(dt.date(2025, 2, 3)) == dt.date(2025, 2, 28)
    assert end_of_month(dt.date(2025, 12, 31)) == dt.date(2025, 12, 31)

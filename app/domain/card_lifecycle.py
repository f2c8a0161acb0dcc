"""カード異動: what each card event does to a card. The event is the only way a card's state changes.

Corporate cards are valid for 5 years and expire at the end of the printed month
("16年06月" cannot be used from 1 July 2016) (etc-domain.md §4.3). A reissue, a vehicle change
with a new card and a renewal with a new card give a new card number linked to the old card
(§4.3: the 15th digit changes), so the old number's history stays with the old card.
"""
import calendar
import datetime as dt
from dataclasses import dataclass

from .errors import DomainError

ACTIVE, LOST, REISSUED, CANCELLED, EXPIRED = "active", "lost", "reissued", "cancelled", "expired"
CARD_STATUSES = {ACTIVE: "有効", LOST: "紛失・盗難", REISSUED: "再発行済", CANCELLED: "解約", EXPIRED: "期限切れ"}

ISSUE, ADD, LOSS, REISSUE, VEHICLE_CHANGE, CANCEL, RENEWAL = (
    "issue", "add", "loss", "reissue", "vehicle_change", "cancel", "renewal")
EVENT_KINDS = {
    ISSUE: "新規発行",
    ADD: "追加発行",
    LOSS: "紛失・盗難",
    REISSUE: "再発行",
    VEHICLE_CHANGE: "車両入替",
    CANCEL: "解約",
    RENEWAL: "更新",
}
# Events recorded against an existing card, and the states each may start from.
_ALLOWED_FROM = {
    LOSS: {ACTIVE},
    REISSUE: {ACTIVE, LOST},
    VEHICLE_CHANGE: {ACTIVE},
    CANCEL: {ACTIVE, LOST},
    RENEWAL: {ACTIVE},
}


def events_allowed_for(card_status: str) -> list[str]:
    """The events a card in this state can take, in the order of EVENT_KINDS (the card page's buttons)."""
    return [kind for kind in EVENT_KINDS if card_status in _ALLOWED_FROM.get(kind, ())]


# What the old card becomes when the event gives it a successor number.
_OLD_CARD_STATUS_WHEN_REPLACED = {REISSUE: REISSUED, VEHICLE_CHANGE: REISSUED, RENEWAL: EXPIRED}

CORPORATE_VALIDITY_YEARS = 5


def end_of_month(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def corporate_valid_until(valid_from: dt.date) -> dt.date:
    """Valid 5 years, to the end of the printed month."""
    try:
        later = valid_from.replace(year=valid_from.year + CORPORATE_VALIDITY_YEARS)
    except ValueError:  # 29 February
        later = valid_from.replace(year=valid_from.year + CORPORATE_VALIDITY_YEARS, day=28)
    return end_of_month(later)


@dataclass(frozen=True)
class EventPlan:
    """What applying an event means: the old card's new status and whether a successor card is made."""

    old_card_status: str
    creates_successor: bool
    changes_vehicle: bool
    new_valid_until: dt.date | None = None


def plan_card_event(kind: str, card_status: str, card_kind: str, *, occurred_on: dt.date,
                    new_number: str | None = None, new_vehicle=None,
                    current_vehicle=None, current_valid_until: dt.date | None = None
                    ) -> EventPlan:
    if kind in (ISSUE, ADD):
        raise DomainError("新規・追加発行はカードの登録で記録されます。", "kind")
    if kind not in _ALLOWED_FROM:
        raise DomainError(f"異動区分「{kind}」は登録できません。", "kind")
    if occurred_on is None:
        raise DomainError("異動日を入力してください。", "occurred_on")
    if card_status not in _ALLOWED_FROM[kind]:
        raise DomainError(
            f"{CARD_STATUSES.get(card_status, card_status)}のカードに「{EVENT_KINDS[kind]}」は登録できません。", "kind")
    if kind == REISSUE and not new_number:
        raise DomainError("再発行では新しいカード番号を入力してください。", "new_card_number")
    if kind == VEHICLE_CHANGE:
        if new_vehicle is None:
            raise DomainError("車両入替では入替後の車両を選んでください。", "new_vehicle")
        if new_vehicle is current_vehicle or new_vehicle == current_vehicle:
            raise DomainError("入替後の車両が現在の車両と同じです。", "new_vehicle")
    if kind in (LOSS, CANCEL):
        return EventPlan(LOST if kind == LOSS else CANCELLED, False, False)
    if kind == RENEWAL:
        # The renewed card runs 5 years from the old expiry month: 27年03月 → 32年03月 (not 32年04月).
        base = current_valid_until or occurred_on
        until = corporate_valid_until(base) if card_kind == "corporate" else None
        if new_number:
            return EventPlan(EXPIRED, True, False, until)
        return EventPlan(ACTIVE, False, False, until)
    if new_number:
        return EventPlan(_OLD_CARD_STATUS_WHEN_REPLACED[kind], True, kind == VEHICLE_CHANGE)
    return EventPlan(card_status, False, kind == VEHICLE_CHANGE)

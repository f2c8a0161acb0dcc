"""Which cards a month charges (カード管理料, 年間カード手数料): those in force in the month, from the
card's own history, so that recomputing any past month gives the cards it had then, whatever
happened to them since.

A card is in force in a month when
- it was issued by the month's last day (valid_from, else the date of its 新規・追加発行 event), and
  its validity did not end before the month's first day; and
- no event stopped it before the month's first day: 紛失・盗難, 解約, or a replacement by a new card
  (再発行, 車両入替 or 更新 with a new number). A card stopped during the month is still charged
  for that month (it was in force on its first day).

Example (issue 7): two cards, one lost on 10月15日 and cancelled on 12月1日 → 10月 charges 2 cards,
11月 1 card (the loss, not the later cancellation, is what stopped it)."""
import datetime as dt
from dataclasses import dataclass

from .billing_dates import month_first_last
from .card_lifecycle import ADD, CANCEL, ISSUE, LOSS

STOPPING_EVENTS = (LOSS, CANCEL)
ISSUING_EVENTS = (ISSUE, ADD)  # tell the issue date of a card without valid_from


@dataclass(frozen=True)
class CardEventRecord:
    kind: str
    occurred_on: dt.date
    replaced_by_new_card: bool = False  # the event gave the card a successor (new number)


@dataclass(frozen=True)
class CardHistory:
    card_id: int
    number: str
    kind: str
    valid_from: dt.date | None
    valid_until: dt.date | None
    events: tuple[CardEventRecord, ...] = ()

    @property
    def issued_on(self) -> dt.date | None:
        if self.valid_from is not None:
            return self.valid_from
        issues = [e.occurred_on for e in self.events if e.kind in ISSUING_EVENTS]
        return min(issues) if issues else None

    @property
    def stopped_on(self) -> dt.date | None:
        """The first day the card was no longer usable: its first loss, cancellation or replacement."""
        stops = [e.occurred_on for e in self.events if e.kind in STOPPING_EVENTS or e.replaced_by_new_card]
        return min(stops) if stops else None


def in_force(card: CardHistory, month: str) -> bool:
    return _in_force(card, *month_first_last(month))


def _in_force(card: CardHistory, first: dt.date, last: dt.date) -> bool:
    issued = card.issued_on
    if issued is not None and issued > last:
        return False
    if card.valid_until is not None and card.valid_until < first:
        return False
    stopped = card.stopped_on
    return stopped is None or stopped >= first


def cards_in_force(cards, month: str) -> list[CardHistory]:
    """The cards of `cards` in force in `month`, by number."""
    first, last = month_first_last(month)
    return sorted((c for c in cards if _in_force(c, first, last)), key=lambda c: (c.number, c.card_id))

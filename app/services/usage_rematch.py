"""未登録カードの走行明細を、登録済みのカードに結び付ける (rematch).

Rows of an import whose card number was not in the master carry FLAG_UNREGISTERED_CARD and no card.
When the office registers the card (or says which existing card the number belongs to), the rows of
months that are still open get the card and its member, lose the flag, and are checked for use after
the card's loss / cancellation (FLAG_USED_AFTER_LOSS), as the import would have done.
Rows of closed months are never changed (a closed month never changes: architecture.md).

Queries stay on the usage indexes: every statement names the month (usage_month = …) and the flag
values (flags IN …), which ix_usage_flags (usage_month, flags) serves.
"""
import datetime as dt

from sqlalchemy import func, select, update

from app.domain.errors import DomainError
from app.domain.plate import squash_plate
from app.domain.usage_format import fits_mask, is_masked, match_masked_card, plate_serial_of
from app.extensions import db
from app.models import Card, CardEvent, Vehicle
from app.models.billing import CLOSED, BillingRun
from app.models.usage import (BATCH_ACTIVE, FLAG_NAMES, flag_values, FLAG_UNREGISTERED_CARD, FLAG_USED_AFTER_LOSS, ImportBatch,
                              UsageRecord)

from .month_lock import lock_months
from .unit_of_work import transactional



def flag_counts(month: str, batch_ids) -> dict[int, int]:
    """Rows of the month's batches per flag bit (a row with two flags counts for both): one GROUP BY over
    ix_usage_flags. Shared by the billing warnings and the home checklist."""
    counts = {bit: 0 for bit in FLAG_NAMES}
    if not batch_ids:
        return counts
    u = UsageRecord.__table__.c
    for flags, rows in db.session.execute(select(u.flags, func.count())
                                          .where(u.usage_month == month, u.batch_id.in_(batch_ids), u.flags > 0)
                                          .group_by(u.flags)):
        for bit in counts:
            if flags & bit:
                counts[bit] += rows
    return counts


def active_months(include_closed: bool = True) -> list[str]:
    """Months that have active import batches, newest first (import_batch is small)."""
    months = db.session.scalars(select(ImportBatch.usage_month).where(ImportBatch.status == BATCH_ACTIVE)
                                .distinct().order_by(ImportBatch.usage_month.desc())).all()
    if include_closed:
        return list(months)
    closed = closed_months()
    return [month for month in months if month not in closed]


def closed_months() -> set[str]:
    return set(db.session.scalars(select(BillingRun.month).where(BillingRun.status == CLOSED)))


def open_months() -> list[str]:
    return active_months(include_closed=False)


def _stop_date(card_id: int) -> dt.date | None:
    """The card's loss or cancellation date (the earliest), as the import reads it."""
    return db.session.scalar(select(func.min(CardEvent.occurred_on))
                             .where(CardEvent.card_id == card_id, CardEvent.kind.in_(("loss", "cancel"))))


_ANY_PLATE = object()


def _unregistered_rows(card_number: str, months: list[str], plate=_ANY_PLATE):
    where = [UsageRecord.usage_month.in_(months),
             UsageRecord.flags.in_(flag_values(FLAG_UNREGISTERED_CARD)),
             UsageRecord.card_number == card_number,
             UsageRecord.batch_id.in_(select(ImportBatch.id).where(ImportBatch.status == BATCH_ACTIVE))]
    if plate is not _ANY_PLATE:  # a masked number: which card it is may depend on the plate
        where.append(UsageRecord.plate.is_(None) if plate is None else UsageRecord.plate == plate)
    return tuple(where)


def _link(card_number: str, card: Card, months: list[str], plate=_ANY_PLATE) -> int:
    """Link the flagged rows of `card_number` (and `plate`, when given) in `months` to `card`; no commit."""
    if not months:
        return 0
    where = _unregistered_rows(card_number, months, plate)
    cleared = UsageRecord.flags.op("&")(~FLAG_UNREGISTERED_CARD)
    stop = _stop_date(card.id)
    values = {"card_id": card.id, "member_id": card.member_id, "flags": cleared}
    linked = db.session.execute(update(UsageRecord).where(*where).values(**values)
                                .execution_options(synchronize_session=False)).rowcount or 0
    if stop is not None and linked:
        # Used on or after the loss / cancellation day: the alert the office must see.
        db.session.execute(update(UsageRecord).where(
            UsageRecord.usage_month.in_(months), UsageRecord.card_id == card.id,
            UsageRecord.card_number == card_number,
            UsageRecord.exit_at >= dt.datetime.combine(stop, dt.time()),
        ).values(flags=UsageRecord.flags.op("|")(FLAG_USED_AFTER_LOSS)).execution_options(synchronize_session=False))
    return linked


@transactional
def assign_unregistered(card_number: str, card_id: int) -> int:
    """このカードに割り当て: the unregistered rows of `card_number` (open months) get card `card_id`.
    Returns the number of rows linked; refuses when nothing can change."""
    _lock_active_months()
    card = db.session.get(Card, card_id)
    if card is None:
        raise DomainError("割り当てるカードを選んでください。", "card")
    months = open_months()  # after the lock: a month closed meanwhile is not touched
    linked = _link(card_number, card, months)
    if not linked:
        raise DomainError(f"カード番号 {card_number} の未登録カードの明細は、締め前の月にありません。")
    return linked


def _lock_active_months() -> None:
    """Assignments change what open months bill: serialised with their close (app/services/month_lock.py)."""
    lock_months(active_months())


def _card_keys() -> dict[str, int]:
    """Card number → card id; 16-digit cards also under their first 15 digits (old NEXCO fixed layout)."""
    keys: dict[str, int] = {}
    for card_id, number in db.session.execute(select(Card.id, Card.number)):
        keys[number] = card_id
        if len(number) == 16:
            keys.setdefault(number[:15], card_id)
    return keys


def unregistered_numbers(months: list[str]) -> list[str]:
    if not months:
        return []
    return list(db.session.scalars(
        select(UsageRecord.card_number).where(UsageRecord.usage_month.in_(months),
                                              UsageRecord.flags.in_(flag_values(FLAG_UNREGISTERED_CARD)))
        .distinct()))


@transactional
def rematch_unregistered(card_number: str | None = None) -> int:
    """Link every unregistered row (open months) whose number is now in the card master; with
    `card_number`, only the rows of that number (a 16-digit number also matches its 15-digit form).
    Returns the number of rows linked (one transaction)."""
    _lock_active_months()
    months = open_months()
    if not months:
        return 0
    keys = _card_keys()
    numbers = unregistered_numbers(months)
    if card_number is not None:
        numbers = [n for n in numbers if n == card_number or (len(card_number) == 16 and n == card_number[:15])
                   or (is_masked(n) and fits_mask(n, card_number))]
    linked = 0
    all_cards = None
    for number in numbers:
        if is_masked(number):
            # ETC利用照会's ********65981010: the card the import would pick (visible digits, then the
            # plate serial), plate by plate; still ambiguous → left for staff (このカードに割り当て).
            if all_cards is None:
                all_cards = db.session.execute(select(Card.id, Card.number, Vehicle.plate_serial)
                                               .outerjoin(Vehicle, Vehicle.id == Card.vehicle_id)).all()
            candidates = [(card_id, serial) for card_id, full, serial in all_cards if fits_mask(number, full)]
            if not candidates:
                continue
            for plate in db.session.scalars(select(UsageRecord.plate).distinct()
                                            .where(*_unregistered_rows(number, months))):
                card_id = match_masked_card(plate, candidates)
                if card_id is not None:
                    linked += _link(number, db.session.get(Card, card_id), months, plate=plate)
            continue
        card_id = keys.get(number)
        if card_id is None:
            continue
        linked += _link(number, db.session.get(Card, card_id), months)
    return linked


def first_usage_day(card_number: str) -> dt.date | None:
    """The exit date of the first usage row carrying this number (as the file wrote it), or None."""
    number = (card_number or "").replace("-", "").replace(" ", "")
    if not number:
        return None
    first = db.session.scalar(select(func.min(UsageRecord.exit_at)).where(UsageRecord.card_number == number))
    if first is None:
        return None
    return first.date() if isinstance(first, dt.datetime) else dt.date.fromisoformat(str(first)[:10])


def suggested_vehicle(card_number: str):
    """The vehicle whose plate the 未登録カード rows of `card_number` name (open months), when exactly one
    vehicle has it: its member is the likely owner of the card (issue 9 item 5). None otherwise."""
    months = open_months()
    if not card_number or not months:
        return None
    written = {p for p in db.session.scalars(
        select(UsageRecord.plate).distinct().where(UsageRecord.usage_month.in_(months),
                                                   UsageRecord.card_number == card_number,
                                                   UsageRecord.flags.in_(flag_values(FLAG_UNREGISTERED_CARD))))
        if p}
    plates = {squash_plate(p) for p in written}
    serials = {plate_serial_of(p) for p in written} - {None}
    candidates = db.session.scalars(select(Vehicle).where(Vehicle.plate_serial.in_(serials))) if serials else []
    found = [v for v in candidates if squash_plate(v.plate_text()) in plates]
    return found[0] if len(found) == 1 else None

"""Cards and card events (カード異動). A card's status changes here and nowhere else."""
import datetime as dt
import functools

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.card_lifecycle import (ACTIVE, ADD, ISSUE, corporate_valid_until, plan_card_event)
from app.domain.card_number import CORPORATE, normalize_card_number
from app.domain.errors import DomainError
from app.domain.month import Month
from app.models import Card, CardEvent
from app.models.mixins import now_jst

from .actor import current_actor
from .month_lock import lock_month
from .months import is_month_closed


def _without_autoflush(function):
    """The card and event being built are not in the session yet; an autoflush halfway would try
    to save them unfinished (and SQLAlchemy warns). They are added explicitly at the end."""
    @functools.wraps(function)
    def wrapper(session, *args, **kwargs):
        with session.no_autoflush:
            return function(session, *args, **kwargs)
    return wrapper


@_without_autoflush
def check_card_fields(session: Session, card: Card) -> None:
    """Rules every new card must meet, whatever screen or file it came from."""
    card.number = normalize_card_number(card.number or "", card.kind)
    if card.member is None and card.member_id is None:
        raise DomainError("組合員を選んでください。", "member")
    if card.kind == CORPORATE:
        if card.vehicle is None and card.vehicle_id is None:
            raise DomainError("コーポレートカードには車両が必要です（1台に1枚）。", "vehicle")
        member_id = card.member.id if card.member is not None else card.member_id
        if card.vehicle is not None and card.vehicle.member_id not in (None, member_id):
            raise DomainError("車両が別の組合員のものです。", "vehicle")
        if not card.issuer:
            card.issuer = "NEXCO"
        if not card.valid_from and not card.id:
            card.valid_from = now_jst().date()
        if card.valid_from and not card.valid_until:
            card.valid_until = corporate_valid_until(card.valid_from)
    if card.valid_from and card.valid_until and card.valid_until < card.valid_from:
        raise DomainError("有効期限が有効開始日より前です。", "valid_until")
    with session.no_autoflush:
        clash = session.scalar(select(Card.id).where(Card.number == card.number, Card.id != (card.id or 0)))
    if clash:
        raise DomainError(f"カード番号 {card.number} は既に登録されています。", "number")


@_without_autoflush
def prepare_new_card(session: Session, card: Card, occurred_on: dt.date | None = None) -> CardEvent:
    """Register a card with its 新規発行/追加発行 event. The caller commits."""
    check_card_fields(session, card)
    card.status = ACTIVE
    member_id = card.member.id if card.member is not None else card.member_id
    with session.no_autoflush:
        has_cards = member_id is not None and session.scalar(
            select(Card.id).where(Card.member_id == member_id).limit(1)) is not None
    username, _ = current_actor()
    occurred_on = occurred_on or card.valid_from or now_jst().date()
    lock_month(Month.containing(occurred_on))  # its fee is billed by a draft/close of that month or later
    with session.no_autoflush:
        event = CardEvent(card=card, member=card.member, member_id=member_id, kind=ADD if has_cards else ISSUE,
                          occurred_on=occurred_on,
                          new_vehicle=card.vehicle, entered_by=username)
        session.add(card)
        session.add(event)
    return event


@_without_autoflush
def apply_card_event(session: Session, event: CardEvent) -> CardEvent:
    """Apply a カード異動 to its card. The caller commits (the view's save, the CLI, the importer)."""
    card = event.card
    if card is None:
        raise DomainError("カードを選んでください。", "card")
    if event.occurred_on:
        lock_month(Month.containing(event.occurred_on))  # serialised with the close; checked after the lock
    if event.occurred_on and is_month_closed(f"{event.occurred_on:%Y-%m}"):
        # Its fee would belong to a closed month, which never changes (architecture.md).
        raise DomainError(f"異動日 {event.occurred_on:%Y/%m/%d} の月（{event.occurred_on:%Y-%m}）は請求が締め済みです。"
                          "締め済みの月の異動は登録できません。", "occurred_on")
    if card.valid_from and event.occurred_on and event.occurred_on < card.valid_from:
        raise DomainError(f"異動日がカードの有効開始日（{card.valid_from:%Y/%m/%d}）より前です。", "occurred_on")
    new_number = None
    if event.new_card_number:
        new_number = normalize_card_number(event.new_card_number, card.kind)
        event.new_card_number = new_number  # digits only: the column holds 16, people type 19 with hyphens
    plan = plan_card_event(event.kind, card.status, card.kind, occurred_on=event.occurred_on,
                           new_number=new_number,
                           new_vehicle=event.new_vehicle, current_vehicle=card.vehicle, current_valid_until=card.valid_until)
    if plan.changes_vehicle and card.kind == CORPORATE and event.new_vehicle.member_id != card.member_id:
        raise DomainError("入替後の車両が別の組合員のものです。", "new_vehicle")
    username, _ = current_actor()
    event.entered_by = username
    event.member = card.member
    event.old_vehicle = card.vehicle
    if plan.creates_successor:
        successor = Card(number=new_number, kind=card.kind, issuer=card.issuer, member=card.member,
                         vehicle=event.new_vehicle if plan.changes_vehicle else card.vehicle,
                         valid_from=event.occurred_on,
                         valid_until=plan.new_valid_until or card.valid_until,
                         status=ACTIVE, replaces_card=card)
        check_card_fields(session, successor)
        session.add(successor)
        event.new_card = successor
    else:
        if plan.changes_vehicle:
            card.vehicle = event.new_vehicle
        if plan.new_valid_until:
            card.valid_until = plan.new_valid_until
    if plan.old_card_status != card.status:
        card.status = plan.old_card_status
        card.status_changed_on = event.occurred_on
    session.add(event)
    return event

"""NEXCO 申請書 from the database: card events (ticked on the list, or a period for `flask etc forms`)
and cards due for their 5-yearly renewal (the renewal list), as one PDF.

Reads only. What a form says is decided in app/documents/forms (pure); this module turns rows into
the plain values those functions take, with a fixed number of queries whatever the number of events.
"""
import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Sequence

from sqlalchemy import and_, select
from sqlalchemy.orm import joinedload

from app.documents.forms import FilledForm, fill_event_form, fill_renewal_form, form_for_event, forms_pdf
from app.documents.forms.sources import CardInfo, EventSource, MemberInfo, OperatorInfo, RenewalSource, VehicleInfo
from app.domain.card_lifecycle import ACTIVE, LOSS, VEHICLE_CHANGE
from app.domain.card_number import CORPORATE
from app.domain.card_renewal import renewal_deadline
from app.domain.clock import today_jst
from app.domain.errors import DomainError
from app.domain.wareki import SEIREKI
from app.extensions import db
from app.models import Card, CardEvent, Member, OperatorSettings, Vehicle

# One PDF rendered inside a web request: ≈0.2 s a page on the 2-core reference machine, so 200 forms
# hold a server thread for about 40 s. More than that: `flask etc forms` (docs/forms.md).
MAX_FORMS_PER_DOWNLOAD = 200


@dataclass(frozen=True)
class FormBatch:
    forms: tuple[FilledForm, ...]
    skipped: tuple[str, ...] = ()  # what was left out and why: 'カード異動 No.12（…）: クレジットカードの…'

    @property
    def count(self) -> int:
        return len(self.forms)

    def pdf(self) -> bytes:
        if not self.forms:
            raise DomainError("印刷する申請書がありません。")
        return forms_pdf(self.forms)



def operator_info() -> OperatorInfo:
    settings = db.session.scalar(select(OperatorSettings).order_by(OperatorSettings.id).limit(1))
    if settings is None:
        raise DomainError("運営者設定がありません。先に運営者（契約者）の名称と住所を設定してください。")
    return OperatorInfo(settings.name, settings.member_term, settings.postal_code, settings.address,
                        settings.phone, settings.registration_number, settings.date_style or SEIREKI)


# ── card events ──────────────────────────────────────────────────────────────────────────────────

def event_forms(event_ids: Iterable[int], created_on: dt.date | None = None) -> FormBatch:
    """The forms of the given card events, in the order they happened (異動日, then number)."""
    ids = sorted({int(i) for i in event_ids})
    if not ids:
        return FormBatch(())
    events = db.session.scalars(
        select(CardEvent).where(CardEvent.id.in_(ids))
        .options(joinedload(CardEvent.card).joinedload(Card.vehicle), joinedload(CardEvent.member),
                 joinedload(CardEvent.old_vehicle), joinedload(CardEvent.new_vehicle), joinedload(CardEvent.new_card))
        .order_by(CardEvent.occurred_on, CardEvent.id)).unique().all()
    return _batch(events, created_on)


def period_forms(first: dt.date, last: dt.date, created_on: dt.date | None = None) -> tuple[FormBatch, int]:
    """The forms of the card events with 異動日 from `first` to `last` (both included), and how many
    events the period has in all."""
    if last < first:
        raise DomainError(f"期間の終わり（{last:%Y-%m-%d}）が始め（{first:%Y-%m-%d}）より前です。", "to")
    ids = db.session.scalars(select(CardEvent.id).where(CardEvent.occurred_on.between(first, last))).all()
    return event_forms(ids, created_on), len(ids)


def _batch(events: Sequence[CardEvent], created_on: dt.date | None) -> FormBatch:
    created_on = created_on or today_jst()
    operator = operator_info()
    losses = _loss_days({e.card_id for e in events if e.kind != LOSS})
    forms, skipped = [], []
    for event in events:
        choice = form_for_event(event.kind, event.card.kind, event.note)
        if choice.kind is None:
            skipped.append(f"カード異動 No.{event.id}（{event.kind_name()} {event.occurred_on:%Y/%m/%d}）: {choice.reason}")
            continue
        source = event_source(event, _loss_before(losses.get(event.card_id, ()), event))
        forms.append(fill_event_form(source, operator, created_on))
    return FormBatch(tuple(forms), tuple(skipped))


def _loss_days(card_ids: set[int]) -> dict[int, list[tuple[dt.date, int]]]:
    """Each card's 紛失・盗難 events (day, id): a reissue or cancellation after a loss says so."""
    if not card_ids:
        return {}
    rows = db.session.execute(select(CardEvent.card_id, CardEvent.occurred_on, CardEvent.id)
                              .where(CardEvent.kind == LOSS, CardEvent.card_id.in_(card_ids))).all()
    losses: dict[int, list[tuple[dt.date, int]]] = {}
    for card_id, day, event_id in rows:
        losses.setdefault(card_id, []).append((day, event_id))
    return losses


def _loss_before(losses: Sequence[tuple[dt.date, int]], event: CardEvent) -> dt.date | None:
    earlier = [day for day, event_id in losses if (day, event_id) < (event.occurred_on, event.id)]
    return max(earlier) if earlier else None


def event_source(event: CardEvent, loss_before: dt.date | None = None) -> EventSource:
    # The vehicle of that moment: apply_card_event keeps it as old_vehicle (for a vehicle change the
    # replaced one); a new card's event has the card's vehicle as new_vehicle; older rows without
    # either fall back to the card's vehicle.
    if event.kind == VEHICLE_CHANGE:
        vehicle, new_vehicle = event.old_vehicle or event.card.vehicle, event.new_vehicle
    else:
        vehicle, new_vehicle = event.old_vehicle or event.new_vehicle or event.card.vehicle, None
    return EventSource(
        event_id=event.id, kind=event.kind, occurred_on=event.occurred_on, card=card_info(event.card),
        member=member_info(event.member), vehicle=vehicle_info(vehicle), note=event.note,
        new_vehicle=vehicle_info(new_vehicle), new_card=card_info(event.new_card) if event.new_card else None,
        loss_before=loss_before)


# ── renewal list ─────────────────────────────────────────────────────────────────────────────────

def renewal_due_condition(deadline: dt.date):
    """Corporate cards in use whose expiry is on or before the deadline (also those already past it
    and not yet renewed: the most urgent). The list screen and the forms use this one condition."""
    return and_(Card.kind == CORPORATE, Card.status == ACTIVE, Card.valid_until.is_not(None),
                Card.valid_until <= deadline)


def due_card_ids(months: int, today: dt.date | None = None) -> list[int]:
    deadline = renewal_deadline(today or today_jst(), months)
    return list(db.session.scalars(
        select(Card.id).join(Member, Member.id == Card.member_id).where(renewal_due_condition(deadline))
        .order_by(Card.valid_until, Member.code, Card.number)))


def renewal_forms(card_ids: Iterable[int], created_on: dt.date | None = None) -> FormBatch:
    """Exchange applications for corporate cards, soonest expiry first. A card that is not a corporate
    card in use (ticked by mistake, or renewed meanwhile) is skipped with the reason."""
    ids = sorted({int(i) for i in card_ids})
    if not ids:
        return FormBatch(())
    created_on = created_on or today_jst()
    operator = operator_info()
    cards = db.session.scalars(
        select(Card).join(Member, Member.id == Card.member_id).where(Card.id.in_(ids))
        .options(joinedload(Card.member), joinedload(Card.vehicle))
        .order_by(Card.valid_until, Member.code, Card.number)).unique().all()
    forms, skipped = [], []
    for card in cards:
        if card.kind != CORPORATE or card.status != ACTIVE or card.valid_until is None:
            skipped.append(f"カード {card.number_text()}: 更新の対象ではありません（{card.kind_name()}・"
                           f"{card.status_name()}）")
            continue
        source = RenewalSource(card.id, card_info(card), member_info(card.member), vehicle_info(card.vehicle))
        forms.append(fill_renewal_form(source, operator, created_on))
    return FormBatch(tuple(forms), tuple(skipped))


# ── rows → plain values ──────────────────────────────────────────────────────────────────────────

def card_info(card: Card) -> CardInfo:
    return CardInfo(card.number, card.kind, card.valid_from, card.valid_until)


def member_info(member: Member) -> MemberInfo:
    return MemberInfo(member.code, member.name, member.kana, member.postal_code, member.address, member.phone,
                      member.contact_person)


def vehicle_info(vehicle: Vehicle | None) -> VehicleInfo | None:
    if vehicle is None:
        return None
    return VehicleInfo(vehicle.plate, vehicle.vehicle_class, bool(vehicle.is_etc2), bool(vehicle.is_commercial))

"""What a NEXCO form is filled from: plain, frozen values read from the database by
app/services/nexco_forms.py (no ORM objects, so filling and rendering need no session)."""
import datetime as dt
from dataclasses import dataclass

from app.domain.plate import Plate


@dataclass(frozen=True)
class OperatorInfo:
    """運営者 = NEXCO's 契約者 (the cooperative, or the company for its branches)."""

    name: str
    member_term: str  # 組合員 / 支店・営業所
    postal_code: str | None = None
    address: str | None = None
    phone: str | None = None
    registration_number: str | None = None  # 適格請求書発行事業者登録番号 (T+13)
    date_style: str = "seireki"  # seireki / wareki (app/domain/wareki.py)


@dataclass(frozen=True)
class MemberInfo:
    """組合員 / 支店・営業所 = the 使用者 of the vehicle and card."""

    code: str
    name: str
    kana: str | None = None
    postal_code: str | None = None
    address: str | None = None
    phone: str | None = None
    contact_person: str | None = None


@dataclass(frozen=True)
class VehicleInfo:
    plate: Plate
    vehicle_class: int  # 車種区分 1..5
    is_etc2: bool = False
    is_commercial: bool = False


@dataclass(frozen=True)
class CardInfo:
    number: str
    kind: str  # corporate / credit
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None


@dataclass(frozen=True)
class EventSource:
    """One カード異動 as recorded, with the card, member and vehicles of that moment.

    vehicle: the card's vehicle when the event happened (the replaced one for a vehicle change);
    new_vehicle: the replacing vehicle of a vehicle change; new_card: the successor card a reissue,
    vehicle change or renewal created, if its number was entered; loss_before: the day the card was
    reported lost before this event (a reissue or a cancellation after a loss), if any.
    """

    event_id: int
    kind: str
    occurred_on: dt.date
    card: CardInfo
    member: MemberInfo
    vehicle: VehicleInfo | None
    note: str | None = None
    new_vehicle: VehicleInfo | None = None
    new_card: CardInfo | None = None
    loss_before: dt.date | None = None


@dataclass(frozen=True)
class RenewalSource:
    """A corporate card due for its 5-yearly renewal (the renewal list), before any event exists."""

    card_id: int
    card: CardInfo
    member: MemberInfo
    vehicle: VehicleInfo | None

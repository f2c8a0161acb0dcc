"""Which member, card or vehicle a form or page is for, said in its title (issue 9 item 1).

A form opened from a member's page carries FAB's related-view filter (?_flt_0_member=7), one opened
from a card's page ?_flt_0_card=12, from a vehicle's ?_flt_0_vehicle=3; an edit form has its record.
The title then reads 「カード異動の登録（カード 901113-4653-55495-0・品川 100 ろ 46-68・M0001 株式会社山田運輸）」,
so nobody records a loss against the wrong member.
"""
from dataclasses import dataclass

from flask import request, url_for

from app.models import Card, Member, Vehicle

_FILTERS = (("_flt_0_card", Card), ("_flt_0_vehicle", Vehicle), ("_flt_0_member", Member))


@dataclass(frozen=True)
class FormContext:
    member: Member | None = None
    card: Card | None = None
    vehicle: Vehicle | None = None

    @property
    def member_id(self) -> int | None:
        return self.member.id if self.member is not None else None

    @classmethod
    def of(cls, item) -> "FormContext":
        """The context a record gives itself (its card, vehicle and member)."""
        if item is None:
            return cls()
        if isinstance(item, Member):
            return cls(member=item)
        card = item if isinstance(item, Card) else getattr(item, "card", None)
        if not isinstance(card, Card):
            card = None
        vehicle = item if isinstance(item, Vehicle) else getattr(card, "vehicle", None) if card else None
        member = getattr(item, "member", None)
        if not isinstance(member, Member):
            member = getattr(card, "member", None) or getattr(vehicle, "member", None)
        return cls(member=member, card=card, vehicle=vehicle)

    @classmethod
    def from_request(cls, session, item=None) -> "FormContext":
        for arg, model in _FILTERS:
            value = request.args.get(arg, "")
            if value.isdigit():
                found = session.get(model, int(value))
                if found is not None:
                    return cls.of(found)
        return cls.of(item)

    def label(self) -> str:
        return describe_record(self.card or self.vehicle or self.member) if (self.card or self.vehicle or self.member) else ""

    def page_url(self) -> str | None:
        """The page of the record the form was for (where a save returns when nothing else is known)."""
        if self.card is not None:
            return url_for("CardView.show", pk=self.card.id)
        if self.vehicle is not None:
            return url_for("VehicleView.show", pk=self.vehicle.id)
        if self.member is not None:
            return url_for("MemberView.show", pk=self.member.id)
        return None


def describe_record(record) -> str:
    """A member, card or vehicle as a clerk recognises it: codes and numbers as printed, the plate, the name."""
    if isinstance(record, Member):
        return f"{record.code} {record.name}"
    if isinstance(record, Vehicle):
        parts = [record.plate_text()]
        if record.member is not None:
            parts.append(describe_record(record.member))
        return "・".join(parts)
    if isinstance(record, Card):
        parts = [f"カード {record.number_text()}"]
        if record.vehicle is not None:
            parts.append(record.vehicle.plate_text())
        if record.member is not None:
            parts.append(describe_record(record.member))
        return "・".join(parts)
    return str(record)

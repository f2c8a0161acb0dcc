"""Which card events a month bills a fee for (event_fee rules), and the correction lines it carries.

An event bills once, in the first month whose run closes after it happened: not billed yet, on or
before the month's last day. Events brought over by the master import (the previous system billed
those) and cards registered as 移行・登録のみ never bill here."""
import datetime as dt
from dataclasses import dataclass

from .billing_dates import month_first_last
from .pricing.breakdown import TAXABLE_10, Charge

MASTER_IMPORT_NOTE = "マスタ取込（Excel）"  # app.services.master_import.EVENT_NOTE
# A card registered from 未登録カード that the cooperative already had (移行・登録のみ): staff chose
# "no fee" on the card form (app/views/cards.py); its issue/add event records the card, bills nothing.
REGISTRATION_ONLY_NOTE = "移行・登録のみ（手数料なし）"
NO_FEE_NOTES = (MASTER_IMPORT_NOTE, REGISTRATION_ONLY_NOTE)


@dataclass(frozen=True)
class EventRecord:
    event_id: int
    occurred_on: dt.date
    fee_billed: bool
    note: str | None


def is_billable(event: EventRecord, month: str) -> bool:
    return is_billable_by(event, month_first_last(month)[1])


def is_billable_by(event: EventRecord, last: dt.date) -> bool:
    """is_billable for a month whose last day is `last` (one date for many events)."""
    return not event.fee_billed and event.occurred_on <= last and (event.note or "") not in NO_FEE_NOTES


def adjustment_charge(adjustment_id: int, amount: int, description: str, original_number: str) -> Charge:
    """A correction (訂正) of an earlier invoice, billed on this month's invoice: taxable at 10% like
    the tolls and fees it corrects (a 不課税 correction would need its own category; none exists)."""
    return Charge(f"訂正（請求書 {original_number}）{description}", int(amount), TAXABLE_10,
                  f"adjustment:{adjustment_id}", None, "adjustment")

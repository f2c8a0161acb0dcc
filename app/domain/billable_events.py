"""Which card events a month bills a fee for (event_fee rules), and the correction lines it carries.

An event bills once, in the first month whose run closes after it happened: not billed yet, on or
before the month's last day. Events brought over by the master import (the previous system billed
those) never bill here."""
import datetime as dt
from dataclasses import dataclass

from .billing_dates import month_first_last
from .pricing.breakdown import TAXABLE_10, Charge

MASTER_IMPORT_NOTE = "マスタ取込（Excel）"  # app.services.master_import.EVENT_NOTE


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
    return not event.fee_billed and event.occurred_on <= last and (event.note or "") != MASTER_IMPORT_NOTE


def adjustment_charge(adjustment_id: int, amount: int, description: str, original_number: str) -> Charge:
    """A correction (訂正) of an earlier invoice, billed on this month's invoice: taxable at 10% like
    the tolls and fees it corrects (a 不課税 correction would need its own category; none exists)."""
    return Charge(f"訂正（請求書 {original_number}）{description}", int(amount), TAXABLE_10,
                  f"adjustment:{adjustment_id}", None, "adjustment")

"""The close: `close_billing_run(month, closed_by)` numbers the draft invoices from the gap-free
sequence, dates them (請求日, 振替日), marks the card events and corrections they bill, and closes
the month, which never changes after that. An invoice whose total is below zero is issued as a credit
(貸方): no debit date, so no debit file takes it; the credits it carried (前月繰越（貸方）) are marked
carried into it."""
import datetime as dt

from sqlalchemy import bindparam, select, update

from app.domain.billing_dates import debit_date_for, invoice_date_for
from app.domain.errors import DomainError
from app.domain.invoice_calculation import carried_invoice_id
from app.domain.month import Month
from app.extensions import db
from app.models import CardEvent, Member, OperatorSettings
from app.models.billing import (CLOSED, DRAFT, INVOICE_DRAFT, ISSUED, BillingRun, Invoice, InvoiceAdjustment,
                                InvoiceLine)
from app.models.mixins import now_jst

from ..month_lock import lock_month
from ..audit import record_bulk_action
from ..documents.requests import request_documents
from ..unit_of_work import transactional
from .draft import lock_run
from .inputs import gather
from .numbering import next_numbers
from .review import billing_warnings, recipient_warnings

DEFAULT_DEBIT_DAY = 5

_invoice = Invoice.__table__
_line = InvoiceLine.__table__


def _operator_dates(month: str) -> tuple[dt.date, dt.date]:
    settings = db.session.query(OperatorSettings).first()
    invoice_day = (settings.invoice_day if settings and settings.invoice_day else 20)
    debit_day = (settings.debit_day if settings and settings.debit_day else DEFAULT_DEBIT_DAY)
    offset = settings.debit_month_offset if settings and settings.debit_month_offset is not None else 2
    return invoice_date_for(month, invoice_day), debit_date_for(month, debit_day, offset)


def _profile_debit_dates(month: str, operator_date: dt.date) -> dict:
    """振替日 per collection profile with a debit day of its own (収納代行・委託者; None: the members with no
    profile, debited by the operator's default profile)."""
    from app.models.payment import CollectionProfile

    settings = db.session.query(OperatorSettings).first()
    offset = settings.debit_month_offset if settings and settings.debit_month_offset is not None else 2
    dates = {profile_id: debit_date_for(month, day, offset) for profile_id, day in db.session.execute(
        select(CollectionProfile.id, CollectionProfile.debit_day).where(CollectionProfile.debit_day.is_not(None)))}
    default_id = settings.default_collection_profile_id if settings else None
    dates[None] = dates.get(default_id, operator_date)
    return dates


@transactional
def close_billing_run(month: str, closed_by: str) -> BillingRun:
    """Number, date and issue the month's invoices, mark what they billed, close the month."""
    month = str(Month.of(month))
    session = db.session
    lock_month(month)  # before the first read: a second close waits here, then finds the month closed
    run = lock_run(month)
    if run is None:
        raise DomainError(f"{month} の請求の下書きがありません。先に請求の下書きを作成してください（画面の「下書きを作成・再計算」または flask etc bill {month}）。")
    if run.status != DRAFT:
        raise DomainError(f"{month} は締め済みです（{run.closed_at:%Y/%m/%d %H:%M} {run.closed_by}）。")
    inputs = gather(month)
    reasons = [str(w) for w in billing_warnings(month, inputs.cards_in_force(), inputs.groups) if w.blocking]
    reasons += [str(w) for w in recipient_warnings(month)]  # before any number: 宛先 and 登録番号
    earlier = session.scalars(select(BillingRun.month).where(BillingRun.month < month, BillingRun.status == DRAFT)
                              .order_by(BillingRun.month)).all()
    if earlier:
        reasons.append(f"前の月（{'、'.join(earlier)}）がまだ締められていません。古い月から締めてください。")
    if inputs.fingerprint() != run.input_fingerprint:
        reasons.append("下書きの作成後に走行明細・カード・異動・訂正・料金表などが変わりました。"
                       f"下書きを再計算してから締めてください（画面の「下書きを作成・再計算」または flask etc bill {month}）。")
    if reasons:
        raise DomainError(f"{month} は締められません:\n" + "\n".join(f"・{r}" for r in reasons))
    invoice_date, debit_date = _operator_dates(month)
    debit_dates = _profile_debit_dates(month, debit_date)
    drafts = session.execute(select(Invoice.id, Invoice.total, Member.collection_profile_id)
                             .join(Member, Member.id == Invoice.member_id)
                             .where(Invoice.billing_run_id == run.id, Invoice.status == INVOICE_DRAFT)
                             .order_by(Member.code, Invoice.id)).all()
    numbers = next_numbers(len(drafts))
    issued_at = now_jst()
    if drafts:
        session.execute(update(_invoice).where(_invoice.c.id == bindparam("invoice_id"))
                        .values(number=bindparam("new_number"), status=ISSUED, invoice_date=invoice_date,
                                debit_date=bindparam("new_debit_date"), issued_at=issued_at),
                        [dict(invoice_id=i, new_number=n,
                              new_debit_date=None if total < 0 else debit_dates.get(profile_id, debit_date))
                         for (i, total, profile_id), n in zip(drafts, numbers)])
    if inputs.event_ids:
        session.execute(update(CardEvent.__table__).where(CardEvent.__table__.c.id.in_(inputs.event_ids))
                        .values(fee_billed=True, billed_month=month))
    billed = session.execute(select(_line.c.invoice_id, _line.c.rule_id)
                             .join(_invoice, _invoice.c.id == _line.c.invoice_id)
                             .where(_invoice.c.billing_run_id == run.id, _line.c.kind == "adjustment",
                                    _line.c.rule_id.like("adjustment:%"))).all()
    if billed:
        adjustments = InvoiceAdjustment.__table__
        session.execute(update(adjustments).where(adjustments.c.id == bindparam("adjustment_id"))
                        .values(billed_invoice_id=bindparam("invoice_id_")),
                        [dict(adjustment_id=int(rule.split(":", 1)[1]), invoice_id_=invoice_id)
                         for invoice_id, rule in billed])
    carried = session.execute(select(_line.c.invoice_id, _line.c.rule_id)
                              .join(_invoice, _invoice.c.id == _line.c.invoice_id)
                              .where(_invoice.c.billing_run_id == run.id, _line.c.kind == "carried_over",
                                     _line.c.rule_id.like("carried:%"))).all()
    if carried:
        session.execute(update(_invoice).where(_invoice.c.id == bindparam("credit_id"))
                        .values(credit_carried_to_invoice_id=bindparam("carried_to")),
                        [dict(credit_id=carried_invoice_id(rule), carried_to=invoice_id)
                         for invoice_id, rule in carried])
    run.status = CLOSED
    run.closed_at = issued_at
    run.closed_by = closed_by
    # 代理店手数料 are computed now and kept: later changes to members' agencies or to the rules leave a closed
    # month as it was (docs/payments.md). Imported here: the module imports the billing inputs.
    from ..agency_commissions import keep_agency_commissions

    agencies = keep_agency_commissions(run)
    # The documents are only requested here (作成待ち rows, a few INSERT … SELECT): rendering them takes
    # minutes and runs after the commit (app/services/documents/rendering.py), so the close stays fast.
    documents = request_documents(month)
    # the notice mail to members with an e-mail address, sent once their documents are rendered (docs/portal.md)
    from ..notices import request_notices

    notices = request_notices(month)
    # The bulk updates above bypass the per-record audit (10,000 invoices): one entry says what the close did.
    record_bulk_action("close", run, {
        "month": month, "invoices_issued": len(numbers), "first_number": numbers[0] if numbers else None,
        "last_number": numbers[-1] if numbers else None,
        "credits_issued": sum(1 for _, total, _ in drafts if total < 0),
        "card_events_billed": len(inputs.event_ids), "adjustments_billed": len(billed),
        "credits_carried": len(carried), "agency_commissions": agencies, "invoice_date": invoice_date, "debit_date": debit_date,
        "documents_requested": documents, "notices_requested": notices})
    return run


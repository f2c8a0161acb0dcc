"""会員ポータル: what one member may read. Every query here takes the member's id and filters by it in
the query itself (WHERE member_id = :member), so no caller can forget it; nothing is looked up by an
id from a URL. Documents are found by their random token AND the member AND the window of months.

The window: the last PORTAL_MONTHS (6) closed billing months of the operator. Older closed months in
which the member was invoiced are listed by name only (「事務局にお問い合わせください」).
"""
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from app.domain import reconciliation
from app.domain.reconciliation import payment_state
from app.domain.card_number import mask_card_number
from app.models import Card, Invoice, Member, Vehicle
from app.models.billing import CLOSED, ISSUED, BillingRun
from app.models.document import PDF, RENDERED, XLSX, IssuedDocument

from .correction_chain import debit_result_in

PORTAL_MONTHS = 6
KIND_ORDER = ("invoice", "card-statement", "usage-statement", "payment-notice")
FORMATS = (PDF, XLSX)

# Payment status of an invoice as the member reads it (payments: app/models/payment.py, docs/payments.md):
# paid or partly paid from the payments recorded, unpaid once the bank's result says the debit failed (for a
# corrected invoice: the result of the record sent for the invoice it replaced), else not confirmed yet (no
# result imported, or a transfer not yet matched).
PAID, PARTLY_PAID, UNPAID, UNCONFIRMED, NOTHING_TO_PAY = (
    "入金済み", "一部入金", "未入金", "入金確認前", "お支払いはありません")
# app.domain.reconciliation's states of an invoice with something to pay, in the member's words (過入金 reads
# as paid: the office settles the difference).
_MEMBER_WORDS = {reconciliation.PAID: PAID, reconciliation.OVERPAID: PAID, reconciliation.PARTLY_PAID: PARTLY_PAID}


@dataclass(frozen=True)
class PortalDocument:
    kind: str
    format: str
    token: str | None  # None while it is being made (作成待ち / 作成失敗)
    size: int | None

    @property
    def ready(self) -> bool:
        return self.token is not None


@dataclass(frozen=True)
class PortalInvoice:
    id: int
    month: str
    number: str
    invoice_date: dt.date | None
    debit_date: dt.date | None
    total: int
    payment_method: str | None
    replaces_number: str | None  # the cancelled invoice this corrected one replaces
    payment_status: str
    documents: tuple[PortalDocument, ...]

    def document(self, kind: str, fmt: str) -> PortalDocument | None:
        return next((d for d in self.documents if d.kind == kind and d.format == fmt), None)


@dataclass(frozen=True)
class PortalMonth:
    month: str
    invoice: PortalInvoice | None  # None: the member was not invoiced that month


def window_months(session: Session) -> list[str]:
    """The last PORTAL_MONTHS closed billing months, newest first."""
    return list(session.scalars(select(BillingRun.month).where(BillingRun.status == CLOSED)
                                .order_by(BillingRun.month.desc()).limit(PORTAL_MONTHS)))


def payment_statuses(session: Session, member_id: int, invoices: list[tuple[int, int]]) -> dict[int, str]:
    """Payment status per invoice id ((id, total) pairs of this member's invoices), read for these ids and
    this member only."""
    from app.models.payment import Payment

    ids = [invoice_id for invoice_id, _ in invoices]
    if not ids:
        return {}
    received = dict(session.execute(
        select(Payment.invoice_id, func.sum(Payment.amount))
        .where(Payment.member_id == member_id, Payment.invoice_id.in_(ids)).group_by(Payment.invoice_id)).all())
    # The debit failed for the invoice, or — corrected after the file was sent — for the one it replaced: the
    # carry-over's rule (correction_chain), read for this member's invoices only.
    failed = set(session.scalars(
        select(Invoice.id).where(Invoice.member_id == member_id, Invoice.id.in_(ids), debit_result_in(failed=True))))
    statuses = {}
    for invoice_id, total in invoices:
        state = payment_state(int(total), int(received.get(invoice_id) or 0))  # the staff screens' rule
        if total <= 0:
            statuses[invoice_id] = NOTHING_TO_PAY
        elif state == reconciliation.UNPAID:
            statuses[invoice_id] = UNPAID if invoice_id in failed else UNCONFIRMED
        else:
            statuses[invoice_id] = _MEMBER_WORDS[state]
    return statuses


def portal_months(session: Session, member_id: int) -> list[PortalMonth]:
    """The window's months, newest first, each with the member's current (not cancelled) invoice and its
    documents; a corrected invoice names the cancelled one it replaces."""
    months = window_months(session)
    if not months:
        return []
    cancelled = Invoice.__table__.alias("cancelled")
    invoices = session.execute(
        select(Invoice.id, Invoice.month, Invoice.number, Invoice.invoice_date, Invoice.debit_date, Invoice.total,
               Invoice.payment_method, cancelled.c.number)
        .outerjoin(cancelled, and_(cancelled.c.id == Invoice.corrects_invoice_id,
                                   cancelled.c.member_id == member_id))
        .where(Invoice.member_id == member_id, Invoice.status == ISSUED, Invoice.month.in_(months))
        .order_by(Invoice.month.desc(), Invoice.id.desc())).all()
    by_invoice: dict[int, list[PortalDocument]] = {row[0]: [] for row in invoices}
    if by_invoice:
        for invoice_id, kind, fmt, status, token, size in session.execute(
                select(IssuedDocument.invoice_id, IssuedDocument.kind, IssuedDocument.format, IssuedDocument.status,
                       IssuedDocument.token, IssuedDocument.size)
                .where(IssuedDocument.member_id == member_id, IssuedDocument.month.in_(months),
                       IssuedDocument.invoice_id.in_(list(by_invoice)))):
            ready = status == RENDERED
            by_invoice[invoice_id].append(PortalDocument(kind, fmt, token if ready else None, size if ready else None))
    statuses = payment_statuses(session, member_id, [(row[0], row[5]) for row in invoices])
    current: dict[str, PortalInvoice] = {}
    for invoice_id, month, number, invoice_date, debit_date, total, method, replaces in invoices:
        if month in current:  # two issued invoices in one month cannot happen; keep the newest
            continue
        documents = sorted(by_invoice[invoice_id], key=lambda d: (KIND_ORDER.index(d.kind)
                                                                   if d.kind in KIND_ORDER else 99, d.format))
        current[month] = PortalInvoice(invoice_id, month, number, invoice_date, debit_date, total, method, replaces,
                                       statuses[invoice_id], tuple(documents))
    return [PortalMonth(month, current.get(month)) for month in months]


def older_months(session: Session, member_id: int, window: list[str]) -> list[str]:
    """Closed months before the window in which the member was invoiced, newest first."""
    if not window:
        return []
    return list(session.scalars(
        select(Invoice.month).distinct()
        .join(BillingRun, BillingRun.id == Invoice.billing_run_id)
        .where(Invoice.member_id == member_id, BillingRun.status == CLOSED, Invoice.month < min(window))
        .order_by(Invoice.month.desc())))


@dataclass(frozen=True)
class PortalFile:
    content: bytes
    kind: str
    format: str
    month: str
    member_code: str
    payment_method: str | None


def portal_file(session: Session, member_id: int, token: str) -> PortalFile | None:
    """The stored bytes of the member's own current document in the window, by its token; None for any
    other document (another member's, a cancelled invoice's, an older month's, not rendered, no such token)."""
    if not token or len(token) > 64:
        return None
    months = window_months(session)
    row = session.execute(
        select(IssuedDocument.content, IssuedDocument.kind, IssuedDocument.format, IssuedDocument.month, Member.code,
               Invoice.payment_method)
        .join(Invoice, and_(Invoice.id == IssuedDocument.invoice_id, Invoice.member_id == member_id))
        .join(Member, Member.id == IssuedDocument.member_id)
        .where(IssuedDocument.token == token, IssuedDocument.member_id == member_id,
               IssuedDocument.status == RENDERED, Invoice.status == ISSUED, IssuedDocument.month.in_(months))).first()
    return PortalFile(*row) if row is not None else None


@dataclass(frozen=True)
class PortalCard:
    masked_number: str
    kind: str
    status: str
    plate: str
    valid_until: dt.date | None


@dataclass(frozen=True)
class PortalVehicle:
    plate: str
    vehicle_class: str
    etc2: bool
    cards: int


def member_summary(session: Session, member_id: int) -> Member | None:
    return session.scalar(select(Member).where(Member.id == member_id))


def member_cards(session: Session, member_id: int) -> list[PortalCard]:
    cards = session.scalars(select(Card).where(Card.member_id == member_id).order_by(Card.status, Card.number)).all()
    vehicles = {v.id: v.plate_text() for v in session.scalars(select(Vehicle).where(Vehicle.member_id == member_id))}
    return [PortalCard(mask_card_number(c.number), c.kind_name(), c.status_name(), vehicles.get(c.vehicle_id, ""),
                       c.valid_until) for c in cards]


def member_vehicles(session: Session, member_id: int) -> list[PortalVehicle]:
    vehicles = session.scalars(select(Vehicle).where(Vehicle.member_id == member_id)
                               .order_by(Vehicle.plate_region, Vehicle.plate_serial)).all()
    counts: dict[int, int] = {}
    for vehicle_id in session.scalars(select(Card.vehicle_id).where(Card.member_id == member_id,
                                                                     Card.vehicle_id.is_not(None))):
        counts[vehicle_id] = counts.get(vehicle_id, 0) + 1
    return [PortalVehicle(v.plate_text(), v.vehicle_class_name(), bool(v.is_etc2), counts.get(v.id, 0))
            for v in vehicles]

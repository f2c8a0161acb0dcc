"""Corrections of issued invoices (an issued invoice never changes; a correction is a new row that
points at it): `add_adjustment` (billed on the member's next open invoice) and `reissue_invoice`
(a corrected invoice with a new number; the original is cancelled)."""
from sqlalchemy import or_, select, update

from app.domain.errors import DomainError
from app.domain.invoice_calculation import calculate_invoice
from app.extensions import db
from app.models.billing import CANCELLED, CORRECTED, ISSUED, BillingRun, Invoice, InvoiceAdjustment
from app.models.mixins import now_jst
from app.models.payment import Payment

from ..documents.requests import request_documents
from ..month_lock import lock_month
from ..receivables import follow_correction
from ..unit_of_work import transactional
from .draft import refresh_run_totals, write_invoices
from .inputs import gather
from .numbering import next_numbers

_invoice = Invoice.__table__


def _issued_invoice(invoice_id: int) -> Invoice:
    """The invoice, locked and read afresh after its month's lock: a second correction of the same
    invoice waits for the first and then finds it cancelled."""
    month = db.session.scalar(select(Invoice.month).where(Invoice.id == invoice_id))  # never changes
    if month is not None:
        lock_month(month)
    invoice = db.session.get(Invoice, invoice_id, with_for_update=True, populate_existing=True)
    if invoice is None:
        raise DomainError("請求書が見つかりません。")
    if invoice.status == CANCELLED:
        replacement = (db.session.get(Invoice, invoice.cancelled_by_invoice_id)
                       if invoice.cancelled_by_invoice_id else None)
        where = f"訂正後の請求書 {replacement.number}" if replacement is not None else "訂正後の請求書"
        raise DomainError(f"請求書 {invoice.number} は訂正により取り消されています。{where}に対して行ってください。")
    if invoice.status != ISSUED:
        raise DomainError("発行前（下書き）の請求書は訂正できません。請求処理をやり直してください。")
    return invoice


@transactional
def add_adjustment(invoice_id: int, amount: int, description: str, created_by: str) -> InvoiceAdjustment:
    """An extra charge (+) or a credit (−) against an issued invoice, billed on the member's invoice
    of the next open month (its line names the original number). The original never changes."""
    session = db.session
    invoice = _issued_invoice(invoice_id)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise DomainError("訂正額は0以外の整数（円）です（追加請求は正、返金・減額は負）。", "amount")
    description = (description or "").strip()
    if not description:
        raise DomainError("訂正の内容（理由）を入力してください。", "description")
    adjustment = InvoiceAdjustment(original_invoice_id=invoice.id, member_id=invoice.member_id, amount=amount,
                                   description=description[:200], created_by=created_by, created_at=now_jst())
    session.add(adjustment)
    return adjustment


def adjustments_for(invoice_id: int) -> list[InvoiceAdjustment]:
    """Corrections against the invoice, and those it billed (both sides show them)."""
    return list(db.session.scalars(select(InvoiceAdjustment).where(or_(
        InvoiceAdjustment.original_invoice_id == invoice_id, InvoiceAdjustment.billed_invoice_id == invoice_id))
        .order_by(InvoiceAdjustment.id)))



@transactional
def reissue_invoice(invoice_id: int, reason: str, created_by: str) -> Invoice:
    """A corrected invoice (new number from the same sequence), recomputed from the month's data with
    the month's tariff; the original is marked cancelled and points at it. Amounts of the original
    never change."""
    session = db.session
    original = _issued_invoice(invoice_id)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("訂正の理由を入力してください。", "reason")
    inputs = gather(original.month, reissue_of=original)
    member = inputs.members.get(original.member_id)
    if member is None:
        raise DomainError("この組合員の当月のデータがありません。")
    result = calculate_invoice(member, inputs.rules)
    issued_at = now_jst()
    totals = write_invoices(original.billing_run_id, original.month, inputs, [(original.member_id, result)],
                             created_by, kind=CORRECTED,
                             extra=dict(corrects_invoice_id=original.id, correction_reason=reason[:200]))
    new_id = totals["ids"][0]
    number = next_numbers(1)[0]
    invoice_date = issued_at.date()
    session.execute(update(_invoice).where(_invoice.c.id == new_id).values(
        number=number, status=ISSUED, invoice_date=invoice_date,
        debit_date=None if result.is_credit else original.debit_date, issued_at=issued_at))
    # the credits the original carried are carried by the corrected invoice now
    session.execute(update(_invoice).where(_invoice.c.credit_carried_to_invoice_id == original.id)
                    .values(credit_carried_to_invoice_id=new_id))
    if original.credit_carried_to_invoice_id is not None:
        # The original's balance (unpaid, credit or 過入金) was carried already and stays carried as billed: the
        # corrected invoice keeps the mark, so it is never carried whole a second time; the next open month
        # carries only the difference (corrected total − payments − what was carried: receivables.unpaid_balances).
        session.execute(update(_invoice).where(_invoice.c.id == new_id)
                        .values(credit_carried_to_invoice_id=original.credit_carried_to_invoice_id))
    # Money already received for the month counts on the invoice that replaces it (docs/payments.md, 入金の
    # 充当先): the corrected invoice shows what is still owed or paid twice, and only that is carried.
    session.execute(update(Payment).where(Payment.invoice_id == original.id).values(invoice_id=new_id))
    original.status = CANCELLED
    original.cancelled_by_invoice_id = new_id
    corrected = session.get(Invoice, new_id, populate_existing=True)
    # 償却: an approved write-off moves with the balance (up to its amount), a pending request is withdrawn.
    follow_correction(original, corrected)
    session.flush()
    refresh_run_totals(session.get(BillingRun, original.billing_run_id))  # the run = its live invoices
    # The corrected invoice's documents (作成待ち, each naming the original's document it replaces);
    # rendered after the commit like the close's.
    request_documents(original.month)
    return corrected


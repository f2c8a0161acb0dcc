"""未収 (what members still owe): payment state per invoice, the 未収一覧 with ageing, the carry-over of unpaid
balances into the next invoice, and write-offs.

Carry-over reuses the billing engine's carried balance (前月繰越（貸方）, app/domain/invoice_calculation.py):
`unpaid_balances(month)` gives the billing run of `month` each earlier issued invoice whose balance stayed
unpaid — total minus payments — after its due date (before `month`'s invoice date), for 口座振替 only once the
bank's result said it failed, for 振込 only once staff declared the month's transfers matched (振込の消込完了:
a transfer not yet entered must not be billed twice), and never when a write-off was approved. The run adds it as 前月未収額 outside the tax
(taxed on its own invoice), the close marks it carried (credit_carried_to_invoice_id), and the next debit file
takes the new total.

Money always counts on the invoice where the balance lives now (`paying_invoice`): a result of a debit file sent
before a correction pays the corrected invoice, a late payment of a balance already carried pays the invoice that
carries it. Whatever is then received beyond an invoice's total (過入金) is carried like a credit, as
前月繰越（貸方）, into the member's next invoice — never lost, never counted twice.

A correction of an invoice already carried keeps the mark: what was carried stays carried (the carrying
invoices' lines, `carried_parts`), and only the difference — corrected total − payments − carried so far — is
carried into the next open month."""
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import and_, func, or_, select

from app.domain.billing_dates import invoice_date_for
from app.domain.clock import now_jst, today_jst
from app.domain.errors import DomainError
from app.domain.invoice_calculation import carried_invoice_id, carried_label
from app.domain.member_month import CarriedCredit
from app.domain.month import Month
from app.domain.reconciliation import AGEING_BUCKETS, PAYMENT_STATES, ageing_bucket, balance_to_carry, payment_state
from app.exports.excel import workbook_bytes
from app.extensions import db
from app.labels import member_term
from app.models import Member, OperatorSettings
from app.models.billing import CANCELLED, CLOSED, ISSUED, BillingRun, Invoice, InvoiceLine
from app.models.member import DIRECT_DEBIT
from app.models.payment import (WRITE_OFF_APPROVED, WRITE_OFF_REJECTED, WRITE_OFF_REQUESTED, WRITE_OFF_WITHDRAWN,
                                Payment, WriteOff)
from app.queries.correction_chain import debit_result_in, replaced_invoices

from .actor import current_actor
from .unit_of_work import transactional
from .files import write_atomically


def _received():
    return (select(Payment.invoice_id, func.sum(Payment.amount).label("received"))
            .group_by(Payment.invoice_id).subquery())


def _written_off():
    """Approved write-offs per invoice: what the 責任者 allowed not to carry (at most that: balance_to_carry)."""
    return (select(WriteOff.invoice_id, func.sum(WriteOff.amount).label("written_off"))
            .where(WriteOff.status == WRITE_OFF_APPROVED).group_by(WriteOff.invoice_id).subquery())


def carried_parts(invoice_ids) -> dict[int, list[tuple[int, str, int]]]:
    """invoice id → what later invoices already carried of its month's balance, oldest first: (carrying invoice
    id, its number, amount), one per 前月未収額 / 前月繰越（貸方） line of a live invoice naming it or an invoice it
    corrects. Read from the lines the member was billed, which a correction of the carried invoice never
    changes; the carrying invoices are the ones the chain's marks name (credit_carried_to_invoice_id: set by the
    close, kept by a correction and moved by a reissue of the carrying invoice), so only their lines are read."""
    chains = {invoice_id: {invoice_id} for invoice_id in invoice_ids}
    if not chains:
        return {}
    replaced = replaced_invoices()
    for invoice_id, replaced_id in db.session.execute(select(replaced.c.invoice_id, replaced.c.replaced_id)
                                                      .where(replaced.c.invoice_id.in_(chains))):
        chains[invoice_id].add(replaced_id)
    carriers = set(db.session.scalars(select(Invoice.credit_carried_to_invoice_id).where(
        Invoice.id.in_(set().union(*chains.values())), Invoice.credit_carried_to_invoice_id.is_not(None))))
    parts = {invoice_id: [] for invoice_id in chains}
    if not carriers:
        return parts
    line = InvoiceLine.__table__
    for rule_id, carrier_id, number, amount in db.session.execute(
            select(line.c.rule_id, Invoice.id, Invoice.number, line.c.amount)
            .join(Invoice, Invoice.id == line.c.invoice_id)
            .where(line.c.invoice_id.in_(carriers), Invoice.status == ISSUED, line.c.kind == "carried_over")
            .order_by(Invoice.month, Invoice.id, line.c.position)):
        source = carried_invoice_id(rule_id)
        for invoice_id, chain in chains.items():
            if source in chain:
                parts[invoice_id].append((carrier_id, number, int(amount)))
    return parts


def paying_invoice(invoice: Invoice) -> tuple[Invoice, list[str]]:
    """The invoice money received for `invoice` counts on, and why it is another one (Japanese, one reason per
    step): when a correction cancelled it, the invoice that replaced it; when its balance was carried into a
    later invoice, that invoice — so the balance is never owed in two places, and a payment made twice shows
    as 過入金 there and is carried on as a credit."""
    reasons, seen = [], set()
    while invoice.id not in seen:
        seen.add(invoice.id)
        if invoice.status == CANCELLED and invoice.cancelled_by_invoice_id:
            after = db.session.get(Invoice, invoice.cancelled_by_invoice_id)
            reasons.append(f"請求書 {invoice.number} は訂正により取り消され、請求書 {after.number} に替わっています")
        elif invoice.status == ISSUED and invoice.credit_carried_to_invoice_id:
            after = db.session.get(Invoice, invoice.credit_carried_to_invoice_id)
            what = "貸方" if invoice.total < 0 else "未収額"
            reasons.append(f"請求書 {invoice.number} の{what}は請求書 {after.number} へ繰越済みです")
        else:
            break
        invoice = after
    return invoice, reasons


def unpaid_balances(month: str) -> dict[int, list[CarriedCredit]]:
    """member id → unpaid balances to carry into `month`'s invoice, and what corrections of invoices already
    carried left to carry (docs/payments.md, 未収と繰越)."""
    received, written = _received(), _written_off()
    paid, written_off = func.coalesce(received.c.received, 0), func.coalesce(written.c.written_off, 0)
    columns = (select(Invoice.id, Invoice.member_id, Invoice.number, Invoice.month, Invoice.total, paid,
                      Invoice.corrects_invoice_id, written_off)
               .outerjoin(received, received.c.invoice_id == Invoice.id)
               .outerjoin(written, written.c.invoice_id == Invoice.id))
    settings = db.session.query(OperatorSettings).first()
    due_before = invoice_date_for(month, settings.invoice_day if settings and settings.invoice_day else 20)
    # An approved write-off stops the carry up to its amount: a correction that raised the total after the
    # approval carries the excess (balance_to_carry).
    unpaid = and_(Invoice.total > paid + written_off, Invoice.debit_date < due_before,
                  or_(and_(Invoice.payment_method == DIRECT_DEBIT, debit_result_in()),
                      and_(Invoice.payment_method != DIRECT_DEBIT,
                           Invoice.billing_run_id.in_(select(BillingRun.id).where(
                               BillingRun.transfers_reconciled_at.is_not(None))))))
    # 過入金: the money is in already, so it is carried at once, as a credit (credits: billing/inputs.py).
    overpaid = paid > Invoice.total
    rows = db.session.execute(columns.where(Invoice.status == ISSUED, Invoice.total >= 0, Invoice.month < month,
                                            Invoice.credit_carried_to_invoice_id.is_(None), or_(unpaid, overpaid))).all()
    # A correction of an invoice whose balance was carried already keeps the carried mark (reissue_invoice): what
    # was carried stays carried, and only the difference is carried now, whatever its sign and at once — the
    # original's result was in (or its transfers matched) when it was carried, and the corrected total is known.
    rows += db.session.execute(columns.where(Invoice.status == ISSUED, Invoice.month < month,
                                             Invoice.corrects_invoice_id.is_not(None),
                                             Invoice.credit_carried_to_invoice_id.is_not(None))).all()
    parts = carried_parts([row[0] for row in rows if row[6] is not None])
    balances: dict[int, list[CarriedCredit]] = {}
    for invoice_id, member_id, number, invoice_month, total, received_amount, _, written_amount in rows:
        owed = balance_to_carry(int(total), int(received_amount),
                                sum(amount for *_, amount in parts.get(invoice_id, ())), int(written_amount))
        if owed:
            balances.setdefault(member_id, []).append(CarriedCredit(invoice_id, number, invoice_month, owed))
    return balances


@dataclass
class Receivable:
    """An invoice's money in: total, received, state, and where its balance went."""
    invoice: Invoice
    member: Member
    received: int
    carried_to: str | None  # number of the invoice that carried the balance
    write_off: WriteOff | None
    # a corrected invoice whose balance was carried: (invoice id, number, amount) per carrying line (carried_parts)
    parts: list[tuple[int, str, int]] = field(default_factory=list)

    @property
    def owed(self) -> int:
        return max(int(self.invoice.total) - self.received, 0)

    @property
    def state(self) -> str:
        return payment_state(int(self.invoice.total), self.received)

    @property
    def written_off(self) -> int:
        """The approved write-off's amount (what need not be carried, at most), else 0."""
        approved = self.write_off is not None and self.write_off.status == WRITE_OFF_APPROVED
        return int(self.write_off.amount) if approved else 0

    @property
    def rest(self) -> int:
        """What a correction left to carry beyond what was carried already (+ owed, − to credit); 0 otherwise."""
        if not self.parts:
            return 0
        return balance_to_carry(int(self.invoice.total), self.received, sum(amount for *_, amount in self.parts),
                                self.written_off)

    @property
    def state_name(self) -> str:
        carried = f"請求書 {'・'.join(dict.fromkeys(n for _, n, _ in self.parts)) or self.carried_to} へ繰越"
        if self.rest:  # a correction's difference, until the next invoice carries it
            carried += f"・差額 {self.rest:,}円は次の請求書へ{carried_label(self.rest)}として繰越"
        if self.written_off:
            carried = f"{self.written_off:,}円償却済・{carried}"
        if self.carried_to and self.received > self.invoice.total >= 0:
            return f"過入金（{carried}）"
        if self.invoice.total > 0 and self.owed and self.carried_to:
            return f"未収（{carried}）"
        if self.owed and self.written_off:
            beyond = self.owed - self.written_off  # a correction raised the total after the approval
            if beyond > 0:
                return f"未収（{self.written_off:,}円償却済・残り {beyond:,}円は次の請求書へ前月未収額として繰越）"
            return "未収（償却済）"
        return PAYMENT_STATES[self.state] + (f"（{carried}）" if self.parts else "")

    @property
    def still_owed(self) -> int:
        """What is owed on this invoice itself: nothing once carried to the next invoice or written off — but
        the difference a correction left to carry, until the next invoice carries it."""
        if self.carried_to:
            return max(self.rest, 0)
        return max(self.owed - self.written_off, 0)


def receivables(month: str | None = None, invoice_ids: list[int] | None = None,
                owed_only: bool = False) -> list[Receivable]:
    received = _received()
    carried = Invoice.__table__.alias("carried")
    query = (select(Invoice, Member, func.coalesce(received.c.received, 0), carried.c.number)
             .join(Member, Member.id == Invoice.member_id)
             .outerjoin(received, received.c.invoice_id == Invoice.id)
             .outerjoin(carried, and_(carried.c.id == Invoice.credit_carried_to_invoice_id, Invoice.total >= 0))
             .where(Invoice.status == ISSUED).order_by(Invoice.month, Member.code, Invoice.id))
    if month is not None:
        query = query.where(Invoice.month == str(Month.of(month)))
    if invoice_ids is not None:
        query = query.where(Invoice.id.in_(invoice_ids))
    if owed_only:
        query = query.where(Invoice.total > func.coalesce(received.c.received, 0))
    rows = db.session.execute(query).all()
    write_offs = {}
    ids = [invoice.id for invoice, *_ in rows]
    if ids:
        for write_off in db.session.scalars(select(WriteOff).where(
                WriteOff.invoice_id.in_(ids), WriteOff.status.in_((WRITE_OFF_REQUESTED, WRITE_OFF_APPROVED)))
                                            .order_by(WriteOff.id)):
            write_offs[write_off.invoice_id] = write_off
    parts = carried_parts([invoice.id for invoice, *_ in rows
                           if invoice.corrects_invoice_id and invoice.credit_carried_to_invoice_id])
    return [Receivable(invoice, member, int(paid), number, write_offs.get(invoice.id), parts.get(invoice.id, []))
            for invoice, member, paid, number in rows]


def receivable_of(invoice_id: int) -> Receivable | None:
    found = receivables(invoice_ids=[invoice_id])
    return found[0] if found else None


def payments_of(invoice_id: int) -> list[Payment]:
    return db.session.scalars(select(Payment).where(Payment.invoice_id == invoice_id).order_by(Payment.id)).all()


# ---- 未収一覧 ----------------------------------------------------------------------------------------------

def unpaid_list_headers() -> list[str]:
    term = member_term()
    return [f"{term}コード", f"{term}名", "請求書番号", "支払方法", "支払期日", "請求金額", "入金額", "未収額", "経過日数",
            "経過", "状況"]


UNPAID_MONEY = (5, 6, 7)


def unpaid_list(month, today: dt.date | None = None) -> tuple[list[list], list[tuple[str, int, int]]]:
    """(rows, ageing summary) of `month`'s invoices with something unpaid. Rows in member-code order, then a
    totals row; 未収額 counts only what is still owed on the invoice itself (carried or written-off balances are
    listed with their state but owed on the next invoice, or not at all). Ageing: days after the due date."""
    today = today or today_jst()
    rows, summary = [], {bucket: [0, 0] for bucket in AGEING_BUCKETS}
    totals = [0, 0, 0]
    for r in receivables(str(Month.of(month)), owed_only=True):
        if r.invoice.total <= 0:
            continue
        due = r.invoice.debit_date
        days = (today - due).days if due else 0
        bucket = ageing_bucket(days)
        still = r.still_owed
        method = "口座振替" if r.invoice.payment_method == DIRECT_DEBIT else "振込"
        note = r.state_name
        if r.write_off is not None and r.write_off.status == WRITE_OFF_REQUESTED:
            note += "・償却の承認待ち"
        rows.append([r.member.code, r.member.name, r.invoice.number, method, due, int(r.invoice.total), r.received,
                     still, max(days, 0), bucket, note])
        totals = [totals[0] + int(r.invoice.total), totals[1] + r.received, totals[2] + still]
        if still:
            summary[bucket][0] += 1
            summary[bucket][1] += still
    rows.append(["合計", f"{len(rows)}件", "", "", None, *totals, None, "", ""])
    return rows, [(bucket, count, amount) for bucket, (count, amount) in summary.items()]


def export_unpaid_list(month, path: str | Path) -> int:
    rows, summary = unpaid_list(month)
    write_atomically(path, workbook_bytes([
        (f"未収一覧 {Month.of(month)}", unpaid_list_headers(), rows, UNPAID_MONEY),
        ("経過別", ["経過", "件数", "未収額"], [list(s) for s in summary], (2,))]))
    return len(rows) - 1


# ---- 償却 (write-off) -------------------------------------------------------------------------------------

@transactional
def request_write_off(invoice_id: int, reason: str) -> WriteOff:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("償却の理由を入力してください。", "reason")
    receivable = receivable_of(invoice_id)
    if receivable is None or receivable.invoice.total <= 0:
        raise DomainError("償却できる請求書ではありません（発行済みで請求金額のある請求書だけです）。")
    if receivable.carried_to:
        raise DomainError(f"請求書 {receivable.invoice.number} の未収額は請求書 {receivable.carried_to} に繰越済みです。"
                          "償却するなら、その請求書の訂正で扱ってください。")
    if receivable.write_off is not None:
        raise DomainError(f"請求書 {receivable.invoice.number} には償却が{receivable.write_off.status_name()}です。")
    if not receivable.owed:
        raise DomainError(f"請求書 {receivable.invoice.number} に未収はありません。")
    write_off = WriteOff(invoice_id=invoice_id, member_id=receivable.invoice.member_id, amount=receivable.owed,
                         reason=reason[:200], status=WRITE_OFF_REQUESTED, requested_by=current_actor()[0])
    db.session.add(write_off)
    db.session.flush()
    return write_off


@transactional
def decide_write_off(write_off_id: int, approve: bool) -> WriteOff:
    """The 責任者's decision (the screen allows it to that role only); never by the one who asked."""
    write_off = db.session.get(WriteOff, write_off_id)
    if write_off is None or write_off.status != WRITE_OFF_REQUESTED:
        raise DomainError("承認待ちの償却が見つかりません。")
    who = current_actor()[0]
    if who == write_off.requested_by:
        raise DomainError("償却を依頼した人は承認・却下できません。別の責任者が判断してください。")
    write_off.status = WRITE_OFF_APPROVED if approve else WRITE_OFF_REJECTED
    write_off.decided_by, write_off.decided_at = who, now_jst()
    return write_off


def follow_correction(original: Invoice, corrected: Invoice) -> None:
    """The write-offs of an invoice being corrected (reissue_invoice, in its transaction). An approved one moves
    to the corrected invoice with its amount: it goes on stopping the carry, up to that amount (balance_to_carry)
    — never more than the 責任者 approved. A request still waiting is withdrawn: its amount and reason were the
    cancelled invoice's, and approving it unseen against the corrected one could write off what the correction
    added; staff ask again on the corrected invoice. Changed through the ORM, so the audit log has both
    (操作履歴: 償却)."""
    for write_off in db.session.scalars(select(WriteOff).where(
            WriteOff.invoice_id == original.id, WriteOff.status.in_((WRITE_OFF_REQUESTED, WRITE_OFF_APPROVED)))):
        if write_off.status == WRITE_OFF_APPROVED:
            write_off.invoice_id = corrected.id
        else:
            write_off.status = WRITE_OFF_WITHDRAWN
            write_off.decided_by, write_off.decided_at = current_actor()[0], now_jst()


def write_off_notes_after_correction(original_id: int) -> list[str]:
    """What a correction of `original_id` did to its write-offs (follow_correction), in Japanese for the screen."""
    original = db.session.get(Invoice, original_id)
    if original is None or original.cancelled_by_invoice is None:
        return []
    corrected = original.cancelled_by_invoice
    notes = [f"承認済みの償却 {int(w.amount):,}円は訂正後の請求書 {corrected.number} に移しました（償却するのはこの金額までで、"
             "訂正で増えた分は次の請求書へ前月未収額として繰り越します）。"
             for w in db.session.scalars(select(WriteOff).where(WriteOff.invoice_id == corrected.id,
                                                                WriteOff.status == WRITE_OFF_APPROVED))]
    notes += [f"承認待ちだった償却の依頼（{int(w.amount):,}円）は請求書 {original.number} の訂正により取り下げました。"
              f"必要なら訂正後の請求書 {corrected.number} で改めて依頼してください。"
              for w in db.session.scalars(select(WriteOff).where(WriteOff.invoice_id == original.id,
                                                                 WriteOff.status == WRITE_OFF_WITHDRAWN))]
    return notes


def pending_write_offs() -> list[WriteOff]:
    return db.session.scalars(select(WriteOff).where(WriteOff.status == WRITE_OFF_REQUESTED)
                              .order_by(WriteOff.id)).all()


@transactional
def complete_transfer_reconciliation(month) -> BillingRun:
    """振込の消込完了: the month's transfers are all entered and matched; its 振込 invoices still unpaid after their
    due date are carried into the next invoice from now on."""
    month = str(Month.of(month))
    run = db.session.scalar(select(BillingRun).where(BillingRun.month == month))
    if run is None or run.status != CLOSED:
        raise DomainError(f"{month} はまだ締められていません。")
    if run.transfers_reconciled_at is None:
        run.transfers_reconciled_at, run.transfers_reconciled_by = now_jst(), current_actor()[0]
    return run

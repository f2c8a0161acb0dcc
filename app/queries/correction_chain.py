"""The correction chain of an invoice as SQL (docs/payments.md, 入金の充当先): which invoices a corrected invoice
replaced, and whether the bank's result of the month is in for it. One rule for every reader — the carry-over
(app/services/receivables.py) and the member portal's payment status (app/queries/portal.py) — so they cannot
disagree about a correction made after the debit file was sent."""
from sqlalchemy import exists, or_, select

from app.models.billing import Invoice
from app.models.payment import DebitBatchItem


def replaced_invoices():
    """(invoice_id, replaced_id): every invoice a corrected invoice replaced, back to the regular one."""
    later, earlier = Invoice.__table__.alias("later"), Invoice.__table__.alias("earlier")
    replaced = (select(later.c.id.label("invoice_id"), later.c.corrects_invoice_id.label("replaced_id"))
                .where(later.c.corrects_invoice_id.is_not(None)).cte("replaced", recursive=True))
    return replaced.union_all(select(replaced.c.invoice_id, earlier.c.corrects_invoice_id)
                              .join(earlier, earlier.c.id == replaced.c.replaced_id)
                              .where(earlier.c.corrects_invoice_id.is_not(None)))


def debit_result_in(failed: bool = False):
    """口座振替: the bank's result is in for this invoice (correlated with `Invoice`), or for an invoice it
    replaced — `failed`: a result other than 振替済. A correction made after the file was sent leaves the sent
    record's result as the month's result: its 振替済 paid the corrected invoice (paying_invoice), its 資金不足
    left the corrected invoice unpaid."""
    replaced = replaced_invoices()
    result = DebitBatchItem.result_code.is_not(None)
    if failed:
        result = result & (DebitBatchItem.result_code != "0")
    return or_(exists().where(DebitBatchItem.invoice_id == Invoice.id, result),
               exists().where(DebitBatchItem.invoice_id == replaced.c.replaced_id, replaced.c.invoice_id == Invoice.id,
                              result))

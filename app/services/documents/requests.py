"""作成待ち rows: one per (invoice, kind, format) for every numbered invoice of a month.

`request_documents(month)` is INSERT … SELECT (the database makes the rows: 10,000 invoices × 8
documents in a few statements, no Python loop), idempotent (rows that exist are left alone), and runs
under the month's lock, so the close, a re-issue and `flask etc documents` for a month closed before
documents existed never create a row twice (the unique (invoice, kind, format) is the last guard).
"""
from sqlalchemy import and_, exists, func, insert, literal, select, update

from app.extensions import db
from app.models.billing import CANCELLED, ISSUED, Invoice
from app.models.document import PENDING, IssuedDocument
from app.models.mixins import now_jst

from ..month_lock import lock_month
from ..unit_of_work import transactional

_doc = IssuedDocument.__table__
_invoice = Invoice.__table__


def request_documents(month: str) -> int:
    """Create the missing 作成待ち rows of the month's numbered invoices (issued or since cancelled by a
    correction: both were issued); returns how many. Joins the caller's transaction."""
    from app.documents.render import FORMATS, KINDS

    session = db.session
    lock_month(month)
    created = 0
    now = now_jst()
    columns = ["invoice_id", "member_id", "month", "kind", "format", "status", "attempts", "created_at"]
    for kind in KINDS:
        for fmt in FORMATS:
            missing = ~exists().where(_doc.c.invoice_id == _invoice.c.id, _doc.c.kind == kind, _doc.c.format == fmt)
            rows = (select(_invoice.c.id, _invoice.c.member_id, _invoice.c.month, literal(kind), literal(fmt),
                           literal(PENDING), literal(0), literal(now, type_=_doc.c.created_at.type))
                    .where(_invoice.c.month == month, _invoice.c.number.is_not(None),
                           _invoice.c.status.in_((ISSUED, CANCELLED)), missing)
                    .order_by(_invoice.c.id))
            created += session.execute(insert(_doc).from_select(columns, rows)).rowcount or 0
    if created:
        _link_replacements(month)
    return created


@transactional
def request_month_documents(month: str) -> int:
    """`request_documents` as a use case of its own (the billing screen's 「未作成・失敗の帳票を作成」)."""
    return request_documents(month)


def _link_replacements(month: str) -> None:
    """A corrected invoice's documents name the documents (same kind and format) of the invoice it corrects."""
    session = db.session
    old = _doc.alias("replaced")
    corrected = _invoice.alias("corrected")
    replaced_id = (select(old.c.id)
                   .where(old.c.invoice_id == select(corrected.c.corrects_invoice_id)
                          .where(corrected.c.id == _doc.c.invoice_id).correlate(_doc).scalar_subquery(),
                          old.c.kind == _doc.c.kind, old.c.format == _doc.c.format)
                   .scalar_subquery())
    corrections = select(_invoice.c.id).where(_invoice.c.month == month, _invoice.c.corrects_invoice_id.is_not(None))
    session.execute(update(_doc).where(_doc.c.month == month, _doc.c.replaces_document_id.is_(None),
                                       _doc.c.invoice_id.in_(corrections))
                    .values(replaces_document_id=replaced_id))


def months_with_missing_documents() -> list[str]:
    """Closed months whose numbered invoices lack document rows (closed before documents existed)."""
    session = db.session
    rows = session.execute(
        select(_invoice.c.month, func.count())
        .where(_invoice.c.number.is_not(None), _invoice.c.status.in_((ISSUED, CANCELLED)),
               ~exists().where(and_(_doc.c.invoice_id == _invoice.c.id)))
        .group_by(_invoice.c.month).order_by(_invoice.c.month)).all()
    return [month for month, _ in rows]

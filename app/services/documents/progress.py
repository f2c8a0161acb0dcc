"""How far the month's documents are (billing screen, polled while the render job runs): counts by status
from ix_issued_document_month_status, and the failed documents with their reasons."""
from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.models import Invoice, Member
from app.models.document import FAILED, PENDING, RENDERED, IssuedDocument

_doc = IssuedDocument.__table__


@dataclass(frozen=True)
class DocumentProgress:
    month: str
    total: int
    rendered: int
    failed: int
    pending: int
    size: int  # bytes stored

    @property
    def done(self) -> bool:
        return self.total > 0 and self.rendered == self.total

    @property
    def percent(self) -> int:
        return self.rendered * 100 // self.total if self.total else 0


@dataclass(frozen=True)
class FailedDocument:
    document_id: int
    member_code: str
    member_name: str
    kind: str
    format: str
    attempts: int
    error: str
    payment_method: str | None = None  # the payment notice's title follows it


def document_progress(month: str) -> DocumentProgress:
    counts = {status: (count, size) for status, count, size in db.session.execute(
        select(_doc.c.status, func.count(), func.coalesce(func.sum(_doc.c.size), 0))
        .where(_doc.c.month == month).group_by(_doc.c.status))}
    rendered, size = counts.get(RENDERED, (0, 0))
    failed = counts.get(FAILED, (0, 0))[0]
    pending = counts.get(PENDING, (0, 0))[0]
    return DocumentProgress(month, rendered + failed + pending, rendered, failed, pending, int(size))


def failed_documents(month: str, limit: int | None = 50, pending: bool = False) -> list[FailedDocument]:
    """The month's failed documents with their reasons (and, with `pending`, those not rendered yet)."""
    statuses = (FAILED, PENDING) if pending else (FAILED,)
    query = (select(_doc.c.id, Member.code, Member.name, _doc.c.kind, _doc.c.format, _doc.c.attempts, _doc.c.error,
                    _doc.c.status, Invoice.payment_method)
             .join(Member, Member.id == _doc.c.member_id).join(Invoice, Invoice.id == _doc.c.invoice_id)
             .where(_doc.c.month == month, _doc.c.status.in_(statuses))
             .order_by(Member.code, _doc.c.kind, _doc.c.format))
    rows = db.session.execute(query if limit is None else query.limit(limit)).all()
    return [FailedDocument(*row[:6], (row[6] or "") if row[7] == FAILED else "作成待ち", row[8]) for row in rows]


def document_counts() -> dict[str, DocumentProgress]:
    """Every month's progress at once (the billing runs list)."""
    months: dict[str, dict] = {}
    for month, status, count, size in db.session.execute(
            select(_doc.c.month, _doc.c.status, func.count(), func.coalesce(func.sum(_doc.c.size), 0))
            .group_by(_doc.c.month, _doc.c.status)):
        months.setdefault(month, {})[status] = (count, size)
    result = {}
    for month, counts in months.items():
        rendered, size = counts.get(RENDERED, (0, 0))
        failed, pending = counts.get(FAILED, (0, 0))[0], counts.get(PENDING, (0, 0))[0]
        result[month] = DocumentProgress(month, rendered + failed + pending, rendered, failed, pending, int(size))
    return result


@dataclass(frozen=True)
class InvoiceDocument:
    document_id: int
    kind: str
    format: str
    status: str
    size: int | None
    sha256: str | None
    issued_at: object
    error: str | None
    replaces_document_id: int | None


def invoice_documents(invoice_id: int) -> dict[str, dict[str, InvoiceDocument]]:
    """The invoice's documents by kind, then format (the invoice screen's buttons)."""
    found: dict[str, dict[str, InvoiceDocument]] = {}
    for row in db.session.execute(
            select(_doc.c.id, _doc.c.kind, _doc.c.format, _doc.c.status, _doc.c.size, _doc.c.sha256,
                   _doc.c.issued_at, _doc.c.error, _doc.c.replaces_document_id)
            .where(_doc.c.invoice_id == invoice_id).order_by(_doc.c.id)):
        document = InvoiceDocument(*row)
        found.setdefault(document.kind, {})[document.format] = document
    return found

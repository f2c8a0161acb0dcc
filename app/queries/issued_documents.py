"""発行済み帳票の検索 (電子帳簿保存法 施行規則 4条1項・2条6項6号: records searchable by 取引年月日, 取引金額
and 取引先, with date and amount ranges and the items combined). Here: 請求日 (the invoice's date) from–to,
請求金額 (the invoice's total) from–to, and the member (code or part of the name), combined with AND;
optionally the kind of document. Only stored (rendered) documents; nothing is read from the bytes."""
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import Invoice, Member
from app.models.billing import CANCELLED
from app.models.document import RENDERED, IssuedDocument

_doc = IssuedDocument.__table__


@dataclass(frozen=True)
class DocumentSearch:
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    amount_min: int | None = None
    amount_max: int | None = None
    member: str = ""  # member code (exact) or part of its name
    kind: str = ""

    @property
    def empty(self) -> bool:
        return not any((self.date_from, self.date_to, self.amount_min is not None, self.amount_max is not None,
                        self.member, self.kind))


@dataclass(frozen=True)
class FoundDocument:
    document_id: int
    invoice_date: dt.date | None
    invoice_number: str
    member_code: str
    member_name: str
    month: str
    kind: str
    format: str
    total: int
    issued_at: dt.datetime
    size: int
    sha256: str
    cancelled: bool  # the invoice was cancelled by a correction (the document stays as issued)
    replaces_document_id: int | None
    payment_method: str | None


def _query(search: DocumentSearch):
    query = (select(_doc.c.id, Invoice.invoice_date, Invoice.number, Member.code, Member.name, _doc.c.month,
                    _doc.c.kind, _doc.c.format, Invoice.total, _doc.c.issued_at, _doc.c.size, _doc.c.sha256,
                    Invoice.status == CANCELLED, _doc.c.replaces_document_id, Invoice.payment_method)
             .join(Invoice, Invoice.id == _doc.c.invoice_id).join(Member, Member.id == _doc.c.member_id)
             .where(_doc.c.status == RENDERED))
    if search.date_from:
        query = query.where(Invoice.invoice_date >= search.date_from)
    if search.date_to:
        query = query.where(Invoice.invoice_date <= search.date_to)
    if search.amount_min is not None:
        query = query.where(Invoice.total >= search.amount_min)
    if search.amount_max is not None:
        query = query.where(Invoice.total <= search.amount_max)
    if search.member:
        escaped = search.member.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(or_(Member.code == search.member, Member.name.like(f"%{escaped}%", escape="\\")))
    if search.kind:
        query = query.where(_doc.c.kind == search.kind)
    return query


def search_documents(search: DocumentSearch, offset: int = 0, limit: int | None = 100) -> tuple[int, list[FoundDocument]]:
    """(how many match, the matches from `offset`): newest invoice date first, then member code."""
    query = _query(search)
    count = db.session.scalar(select(func.count()).select_from(query.subquery()))
    ordered = query.order_by(Invoice.invoice_date.desc(), Member.code, Invoice.number, _doc.c.kind, _doc.c.format)
    if offset:
        ordered = ordered.offset(offset)
    if limit is not None:
        ordered = ordered.limit(limit)
    return count, [FoundDocument(*row[:12], bool(row[12]), *row[13:]) for row in db.session.execute(ordered)]

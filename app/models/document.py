"""発行済み帳票 (issued documents): the bytes of every invoice, statement and payment notice as issued,
kept for years (電子帳簿保存法: 7 years for invoices a business issues) and never rewritten.

One row per (invoice, kind, format). The close creates the rows `pending` in its own transaction; the
render job (app/services/documents/rendering.py) fills in the bytes, their SHA-256 and the next link of
the hash chain once, then the row is `rendered` and its bytes never change (a database trigger refuses
it, see the migration). A corrected invoice gets new documents that name the ones they replace.

Hash chain (docs/documents.md): documents are chained in the order their bytes were stored
(`chain_position` 1, 2, 3, …); `chain_hash` = SHA-256 of the previous document's chain hash followed by
this document's SHA-256 (both as lowercase hex text; the first document follows 64 zeros). Position is
UNIQUE: two processes that both read the same last document and try to append after it cannot both
commit. `flask etc verify-documents` recomputes every SHA-256 and the whole chain.
"""
from sqlalchemy import (CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, LargeBinary,
                        String, UniqueConstraint)
from sqlalchemy.orm import deferred, relationship

from flask_appbuilder import Model

from .mixins import now_jst

PENDING, RENDERED, FAILED = "pending", "rendered", "failed"
DOCUMENT_STATUSES = {PENDING: "作成待ち", RENDERED: "作成済", FAILED: "作成失敗"}
PDF, XLSX = "pdf", "xlsx"
FORMAT_NAMES = {PDF: "PDF", XLSX: "Excel"}


class IssuedDocument(Model):
    __tablename__ = "issued_document"
    __table_args__ = (
        UniqueConstraint("invoice_id", "kind", "format", name="uq_issued_document_invoice_kind_format"),
        UniqueConstraint("chain_position", name="uq_issued_document_chain_position"),
        UniqueConstraint("token", name="uq_issued_document_token"),
        CheckConstraint("status IN ('pending', 'rendered', 'failed')", name="ck_issued_document_status"),
        CheckConstraint("format IN ('pdf', 'xlsx')", name="ck_issued_document_format"),
        # a rendered document has its bytes, hash and place in the chain
        CheckConstraint("status <> 'rendered' OR (content IS NOT NULL AND sha256 IS NOT NULL "
                        "AND chain_position IS NOT NULL AND chain_hash IS NOT NULL AND token IS NOT NULL)",
                        name="ck_issued_document_rendered_complete"),
        # the render job's queue and the billing screen's progress: by month and status
        Index("ix_issued_document_month_status", "month", "status"),
    )
    id = Column(Integer, primary_key=True)
    invoice_id = Column(Integer, ForeignKey("invoice.id"), nullable=False)
    invoice = relationship("Invoice")
    member_id = Column(Integer, ForeignKey("member.id"), nullable=False, index=True)
    member = relationship("Member")
    month = Column(String(7), nullable=False)  # the invoice's usage month YYYY-MM
    kind = Column(String(20), nullable=False)  # invoice, card-statement, usage-statement, payment-notice
    format = Column(String(4), nullable=False)  # pdf / xlsx
    status = Column(String(10), nullable=False, default=PENDING, server_default=PENDING)
    error = Column(String(500))  # the last failure's reason (kept after a later success)
    attempts = Column(Integer, nullable=False, default=0, server_default="0")
    content = deferred(Column(LargeBinary))  # the bytes as issued; NULL until rendered
    size = Column(Integer)
    sha256 = Column(String(64))
    chain_position = Column(Integer)
    chain_hash = Column(String(64))
    # Opaque random token (secrets.token_urlsafe) for downloads that must not reveal ids (member portal).
    token = Column(String(64))
    # A corrected invoice's document names the document of the invoice it corrects (same kind and format).
    replaces_document_id = Column(Integer, ForeignKey("issued_document.id"), index=True)
    replaces_document = relationship("IssuedDocument", remote_side=[id])
    # The render process that took the row (host:pid:random) and when: another process leaves it alone
    # unless the claim is older than CLAIM_EXPIRES (a render process that died).
    claimed_by = Column(String(80))
    claimed_at = Column(DateTime)
    created_at = Column(DateTime, nullable=False, default=now_jst)
    issued_at = Column(DateTime)  # when the bytes were stored

    def __repr__(self):
        return f"帳票 {self.kind} {self.format} {self.month}"

    def status_name(self) -> str:
        return DOCUMENT_STATUSES.get(self.status, self.status)

    def format_name(self) -> str:
        return FORMAT_NAMES.get(self.format, self.format)


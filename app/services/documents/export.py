"""A month's issued documents as files: `flask etc documents YYYY-MM -o DIR` and the billing screen's ZIP
(the same names, app/domain/document_names.py), the merged invoice PDF for mailing and its 宛名一覧.

Everything is read from the stored bytes (what was issued), one document at a time: a month of
10,000 members is gigabytes, so files are written as they are read, never held together in memory.
"""
import io
import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from app.domain.document_names import export_file_name
from app.domain.errors import DomainError
from app.extensions import db
from app.models import Invoice, Member
from app.models.billing import CANCELLED, CLOSED, ISSUED, BillingRun
from app.models.document import PDF, RENDERED, IssuedDocument

from ..unit_of_work import unit_of_work

_doc = IssuedDocument.__table__


@dataclass(frozen=True)
class DocumentFile:
    document_id: int
    name: str
    member_code: str
    kind: str
    format: str
    size: int
    cancelled_number: str | None  # the invoice was cancelled by a correction: its number


def require_closed(month) -> str:
    """The month ('YYYY-MM') if it is closed; documents exist only for closed months."""
    month = str(month)
    with unit_of_work() as session:
        status = session.scalar(select(BillingRun.status).where(BillingRun.month == month))
    if status != CLOSED:
        raise DomainError(f"{month} はまだ締められていません。帳票は締めた月の請求書から作成します（flask etc close {month}）。")
    return month


def month_files(month: str) -> list[DocumentFile]:
    """The month's stored documents with their file names, in member-code order (no bytes read)."""
    with unit_of_work() as session:
        rows = session.execute(
            select(_doc.c.id, Member.code, _doc.c.kind, _doc.c.format, _doc.c.size, Invoice.status, Invoice.number)
            .join(Member, Member.id == _doc.c.member_id).join(Invoice, Invoice.id == _doc.c.invoice_id)
            .where(_doc.c.month == month, _doc.c.status == RENDERED)
            .order_by(Member.code, Invoice.status != CANCELLED, Invoice.number, _doc.c.kind, _doc.c.format)).all()
    files = []
    for document_id, code, kind, fmt, size, status, number in rows:
        cancelled = number if status == CANCELLED else None
        files.append(DocumentFile(document_id, export_file_name(code, kind, month, fmt, cancelled), code, kind, fmt,
                                  size or 0, cancelled))
    return files


def document_bytes(document_id: int) -> bytes:
    with unit_of_work() as session:
        return session.scalar(select(_doc.c.content).where(_doc.c.id == document_id))


def _contents(files: list[DocumentFile]) -> Iterator[tuple[DocumentFile, bytes]]:
    for file in files:
        yield file, document_bytes(file.document_id)


@dataclass(frozen=True)
class WrittenFiles:
    month: str
    count: int
    pdf: int
    xlsx: int
    bytes: int
    directory: str

    def __str__(self):
        return (f"{self.month} の帳票 {self.count:,}件（PDF {self.pdf:,}件・Excel {self.xlsx:,}件、"
                f"合計 {self.bytes:,}バイト）を {self.directory} に書き出しました。")


def write_month_files(month: str, directory) -> WrittenFiles:
    """Every stored document of the month into `directory` (created if missing) under its file name.
    A file of that name already there is replaced (written to a temporary name first, then renamed)."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    files = month_files(month)
    total = 0
    for file, content in _contents(files):
        path = target / file.name
        temporary = path.with_name(f".{file.name}.part")
        temporary.write_bytes(content)
        os.replace(temporary, path)
        total += len(content)
    return WrittenFiles(month, len(files), sum(1 for f in files if f.format == PDF),
                        sum(1 for f in files if f.format != PDF), total, str(target))


def month_zip(month: str):
    """The month's documents as one ZIP in a temporary file (the caller sends and closes it). Stored
    uncompressed: PDF and xlsx are compressed already, and the download starts sooner."""
    files = month_files(month)
    if not files:
        raise DomainError(f"{month} の作成済みの帳票がありません。")
    spool = tempfile.TemporaryFile(prefix="tollbook-documents-", suffix=".zip")
    with zipfile.ZipFile(spool, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for file, content in _contents(files):
            archive.writestr(file.name, content)
    spool.seek(0)
    return spool


# ---- 郵送用: merged invoices and the mailing list ----------------------------------------------------

@dataclass(frozen=True)
class MailingEntry:
    member_code: str
    postal_code: str
    address: str
    name: str  # with 御中
    invoice_number: str
    pages: int
    document_id: int


def _mail_rows(month: str):
    with unit_of_work() as session:
        return session.execute(
            select(_doc.c.id, _doc.c.status, Member.code, Member.postal_code, Member.address, Member.name,
                   Invoice.number)
            .join(Member, Member.id == _doc.c.member_id).join(Invoice, Invoice.id == _doc.c.invoice_id)
            .where(_doc.c.month == month, _doc.c.kind == "invoice", _doc.c.format == PDF, Invoice.status == ISSUED,
                   Member.invoice_by_post.is_(True))
            .order_by(Member.code, Invoice.id)).all()


def mailing_list(month: str) -> list[MailingEntry]:
    """宛名一覧: the members who get their invoice by post, in member-code order, each with its page count
    (read from the stored invoice PDF). Refused while an invoice PDF is not rendered yet."""
    from pypdf import PdfReader

    rows = _mail_rows(month)
    if not rows:
        raise DomainError(f"{month} に郵送する請求書がありません（請求書の郵送を希望する組合員の請求書がありません）。")
    waiting = [code for _, status, code, *_ in rows if status != RENDERED]
    if waiting:
        raise DomainError(f"{month} の請求書PDFがまだ作成されていません（{len(waiting):,}件: "
                          + "、".join(waiting[:10]) + (" ほか" if len(waiting) > 10 else "")
                          + "）。作成が終わってから出力してください。")
    entries = []
    for document_id, _, code, postal, address, name, number in rows:
        pages = len(PdfReader(io.BytesIO(document_bytes(document_id))).pages)
        entries.append(MailingEntry(code, postal or "", address or "", f"{name} 御中", number or "", pages,
                                    document_id))
    return entries


MAILING_HEADERS = ["組合員コード", "郵便番号", "住所", "宛名", "請求書番号", "ページ数"]


def mailing_list_workbook(month: str) -> bytes:
    from app.exports.excel import workbook_bytes

    entries = mailing_list(month)
    rows = [[e.member_code, e.postal_code, e.address, e.name, e.invoice_number, e.pages] for e in entries]
    return workbook_bytes([(f"宛名一覧 {month}", MAILING_HEADERS, rows, [])])


def mailing_cover_pdf(month: str, entries: list[MailingEntry], operator_name: str, member_label: str) -> bytes:
    from flask import render_template

    from app.documents.pdf import html_to_pdf

    html = render_template("tollbook/pdf/mailing_cover_list.html", month=month, entries=entries,
                           operator_name=operator_name, member_label=member_label,
                           total_pages=sum(e.pages for e in entries))
    return html_to_pdf(html)


def merged_invoices_pdf(month: str, operator_name: str, member_label: str = "組合員"):
    """One PDF for printing: the 宛名一覧 first, then every mailed member's invoice in member-code order,
    as stored. A temporary file (the caller sends and closes it)."""
    from pypdf import PdfReader, PdfWriter

    entries = mailing_list(month)
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(mailing_cover_pdf(month, entries, operator_name, member_label))),
                  outline_item="宛名一覧")
    for entry in entries:
        writer.append(PdfReader(io.BytesIO(document_bytes(entry.document_id))),
                      outline_item=f"{entry.member_code} {entry.name}")
    spool = tempfile.TemporaryFile(prefix="tollbook-invoices-", suffix=".pdf")
    writer.write(spool)
    spool.seek(0)
    return spool

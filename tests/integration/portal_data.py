"""Data for the member portal tests: member A (M001, login member1) and member B (M002, login member2).

`real_month`: a month closed through the real services and its documents rendered by the real renderer
(the bytes the portal must serve unchanged). `stored_months`: closed months with invoices and documents
whose bytes are small stand-ins, stored through the same store step (hash chain, token) — for the
6-month window, which needs many closed months."""
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update

from app.extensions import appbuilder
from app.models import Invoice, Member, MemberAccount
from app.models.billing import CLOSED, ISSUED, BillingRun
from app.models.document import IssuedDocument
from app.services.actor import acting_as
from app.services.documents.chain import store_rendered
from app.services.documents.rendering import render_documents
from app.services.documents.requests import request_documents
from app.services.unit_of_work import unit_of_work

from .documents_month import C1, C2, C3, LONG_NAME, MONTH, build_closed_month

B_NAME = "髙橋物流有限会社"


@dataclass
class PortalData:
    a: int  # member ids
    b: int
    a_invoice: int
    b_invoice: int
    a_tokens: dict  # (kind, format) → token
    b_tokens: dict


def link_logins(db, a: int, b: int) -> None:
    sm = appbuilder.sm
    with acting_as("tester-portal"):
        db.session.add(MemberAccount(user_id=sm.find_user(username="member1").id, member_id=a))
        db.session.add(MemberAccount(user_id=sm.find_user(username="member2").id, member_id=b))
        db.session.commit()


def tokens(db, invoice_id: int) -> dict:
    return {(kind, fmt): token for kind, fmt, token in db.session.execute(
        select(IssuedDocument.kind, IssuedDocument.format, IssuedDocument.token)
        .where(IssuedDocument.invoice_id == invoice_id))}


def real_month(db, tmp_path) -> PortalData:
    ids = build_closed_month(db, tmp_path)
    summary = render_documents(MONTH, processes=1)
    assert not summary.failed and summary.rendered == 16, summary
    link_logins(db, ids["m1"], ids["m2"])
    return PortalData(ids["m1"], ids["m2"], ids["i1"], ids["i2"], tokens(db, ids["i1"]), tokens(db, ids["i2"]))


def stored_months(db, member_ids: list[int], months: list[str], total=10_000) -> dict:
    """Close each month (oldest first) with one issued invoice per member and its eight documents stored;
    returns {(member_id, month): invoice_id}. Each document's bytes name the member and month."""
    invoices = {}
    number = db.session.scalar(select(Invoice.number).order_by(Invoice.number.desc()).limit(1)) or "00000000"
    serial = int(number)
    for month in sorted(months):
        with acting_as("tester-portal"):
            run = BillingRun(month=month, status=CLOSED, closed_at=dt.datetime(2026, 1, 1), closed_by="tester")
            db.session.add(run)
            db.session.flush()
            for member_id in member_ids:
                serial += 1
                year, mon = int(month[:4]), int(month[5:])
                invoice = Invoice(billing_run_id=run.id, member_id=member_id, month=month, status=ISSUED,
                                  number=f"{serial:08d}", invoice_date=dt.date(year + mon // 12, mon % 12 + 1, 1),
                                  debit_date=dt.date(year + mon // 12, mon % 12 + 1, 27), payment_method="direct_debit",
                                  usage_total=total, total=total + member_id, taxable_total=total)
                db.session.add(invoice)
                db.session.flush()
                invoices[(member_id, month)] = invoice.id
            db.session.commit()
        store_fake_documents(db, month)
    return invoices


def store_fake_documents(db, month: str) -> None:
    with unit_of_work():
        request_documents(month)
    rows = db.session.execute(select(IssuedDocument.id, IssuedDocument.member_id, IssuedDocument.invoice_id,
                                     IssuedDocument.kind, IssuedDocument.format)
                              .where(IssuedDocument.month == month, IssuedDocument.content.is_(None))).all()
    db.session.execute(update(IssuedDocument).where(IssuedDocument.id.in_([r[0] for r in rows]))
                       .values(claimed_by="tester", claimed_at=dt.datetime(2026, 1, 1)))
    db.session.commit()
    store_rendered([(r[0], fake_bytes(r[1], month, r[3], r[4], r[2])) for r in rows], "tester")


def fake_bytes(member_id: int, month: str, kind: str, fmt: str, invoice_id: int) -> bytes:
    head = b"%PDF-1.4\n" if fmt == "pdf" else b"PK\x03\x04"
    return head + f"member={member_id} month={month} kind={kind} invoice={invoice_id}".encode()


def member_code(db, member_id: int) -> str:
    return db.session.scalar(select(Member.code).where(Member.id == member_id))


__all__ = ["B_NAME", "C1", "C2", "C3", "LONG_NAME", "MONTH", "PortalData", "link_logins", "real_month",
           "stored_months", "tokens"]

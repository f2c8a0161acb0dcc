"""Storing rendered documents at the end of the hash chain, and checking the chain
(app/domain/document_chain.py says how a chain hash is made).

Appending is serialised by the database: on PostgreSQL a transaction-scoped advisory lock (taken before
the last link is read), on SQLite the write lock (BEGIN IMMEDIATE). The UNIQUE chain_position is the
last guard: two processes that read the same last document cannot both commit a successor
(architecture.md: serialised by the database, never by a read before the write).
"""
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select, text, update

from app.domain.document_chain import GENESIS, ChainLink, ChainProblem, chain_hash, check_chain, sha256_hex
from app.extensions import db
from app.models.document import FAILED, RENDERED, IssuedDocument
from app.models.mixins import now_jst

from ..month_lock import begin_write_transaction
from ..unit_of_work import unit_of_work

_doc = IssuedDocument.__table__
# pg_advisory_xact_lock key of the chain ("tollbook-document-chain"; any constant no other lock uses)
CHAIN_LOCK_KEY = 7_461_002_010_001


def lock_chain() -> None:
    """Hold the chain's append lock until the current transaction ends."""
    session = db.session
    if session.connection().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    else:
        begin_write_transaction()


def chain_tail() -> tuple[int, str]:
    """(position, chain hash) of the last document of the chain; (0, GENESIS) when it is empty."""
    row = db.session.execute(select(_doc.c.chain_position, _doc.c.chain_hash)
                             .where(_doc.c.chain_position.is_not(None))
                             .order_by(_doc.c.chain_position.desc()).limit(1)).first()
    return (row[0], row[1]) if row else (0, GENESIS)


def store_rendered(results: list[tuple[int, bytes]], claimed_by: str) -> list[int]:
    """Store the bytes of documents this process claimed, one chain link each, in one transaction.
    Returns the ids stored (a document rendered meanwhile by someone else is skipped: its bytes were
    stored first and are never replaced)."""
    stored = []
    with unit_of_work() as session:
        lock_chain()
        position, previous = chain_tail()
        now = now_jst()
        for document_id, content in results:
            digest = sha256_hex(content)
            link = chain_hash(previous, digest)
            done = session.execute(
                update(_doc).where(_doc.c.id == document_id, _doc.c.status != RENDERED, _doc.c.content.is_(None),
                                   _doc.c.claimed_by == claimed_by)
                .values(status=RENDERED, content=content, size=len(content), sha256=digest,
                        chain_position=position + 1, chain_hash=link, token=secrets.token_urlsafe(32),
                        issued_at=now, attempts=_doc.c.attempts + 1, claimed_by=None, claimed_at=None))
            if done.rowcount == 1:
                position, previous = position + 1, link
                stored.append(document_id)
    return stored


def store_failures(failures: list[tuple[int, str]], claimed_by: str) -> None:
    """Mark documents this process claimed as failed, with the reason (kept until a later success)."""
    if not failures:
        return
    with unit_of_work() as session:
        begin_write_transaction()
        for document_id, reason in failures:
            session.execute(update(_doc).where(_doc.c.id == document_id, _doc.c.status != RENDERED,
                                               _doc.c.claimed_by == claimed_by)
                            .values(status=FAILED, error=(reason or "原因不明")[:500], attempts=_doc.c.attempts + 1,
                                    claimed_by=None, claimed_at=None))


# ---- verification ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class NamedProblem:
    document_id: int
    position: int | None
    member_code: str
    kind: str
    format: str
    month: str
    invoice_number: str
    reason: str

    def __str__(self):
        return (f"帳票 {self.document_id}（チェーン位置 {self.position}、{self.member_code} {self.month} "
                f"{self.kind}.{self.format}、請求書番号 {self.invoice_number}）: {self.reason}")


@dataclass(frozen=True)
class Verification:
    checked: int
    problems: list[NamedProblem]
    last_chain_hash: str

    @property
    def ok(self) -> bool:
        return not self.problems


def _links(batch: int = 200) -> Iterator[ChainLink]:
    """Every stored document in chain order, its bytes hashed as read (streamed: years of documents do
    not fit in memory)."""
    query = (select(_doc.c.id, _doc.c.chain_position, _doc.c.sha256, _doc.c.chain_hash, _doc.c.content)
             .where(_doc.c.chain_position.is_not(None)).order_by(_doc.c.chain_position)
             .execution_options(yield_per=batch))
    for document_id, position, recorded, link, content in db.session.execute(query):
        yield ChainLink(document_id, position, recorded or "", link or "",
                        sha256_hex(content) if content is not None else None)


def verify_documents() -> Verification:
    """Recompute every stored document's SHA-256 and the whole chain; name each document that changed.
    Also names a rendered document outside the chain (its place was removed)."""
    from app.models import Invoice, Member

    with unit_of_work() as session:  # a read; ends its transaction before the caller prints
        return _verify(session)


def _verify(session) -> Verification:
    from app.models import Invoice, Member

    checked, problems, last = check_chain(_links())
    outside = session.scalars(select(_doc.c.id).where(_doc.c.status == RENDERED, _doc.c.chain_position.is_(None)))
    problems += [ChainProblem(i, None, "作成済みなのにハッシュチェーンに含まれていません") for i in outside]
    ids = {p.document_id for p in problems}
    details = {}
    if ids:
        for row in session.execute(select(_doc.c.id, Member.code, _doc.c.kind, _doc.c.format, _doc.c.month,
                                          Invoice.number)
                                   .join(Member, Member.id == _doc.c.member_id)
                                   .join(Invoice, Invoice.id == _doc.c.invoice_id).where(_doc.c.id.in_(ids))):
            details[row[0]] = row[1:]
    named = [NamedProblem(p.document_id, p.position, *(details.get(p.document_id) or ("?", "?", "?", "?", "?")),
                          p.reason) for p in problems]
    return Verification(checked, named, last)

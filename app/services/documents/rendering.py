"""The render batch: `render_documents(month)` renders every 作成待ち or 作成失敗 document (of the month,
or of every month) in a pool of worker processes and stores the bytes in this process.

Why this shape (stack-notes.md §3: ≈150 ms per one-page invoice on one core, a 2-process pool nearly
doubles it; issue 10 "Bad input and faults"):
- Workers only render (app/documents/worker.py: no database). This process claims rows, reads each
  invoice's data once for its documents (app.documents.data), keeps a few documents per worker in
  flight, and stores finished bytes in short transactions (a batch at a time, one chain link each).
- Rows are claimed (claimed_by, claimed_at) a few at a time before they are rendered: two processes
  rendering the same month at once share the work instead of rendering everything twice, and the bytes
  of a document are stored once (storing requires the row to be unrendered and claimed by this process).
  A process that runs out of rows waits for those another process still holds, so that when it
  returns the month is done. A claim older than CLAIM_EXPIRES is taken over (its process died).
- A document whose data cannot be read or whose rendering fails is marked failed with the reason and
  tried again later in the same run (RUN_TRIES in all); the others go on. A worker process that dies
  fails only the documents it had; the pool is started again.
- A rerun claims only what is not rendered: rendered rows are never claimed again.
- Workers are forked when this runs on the main thread with no other threads (CLI, benchmark: fast
  start, no import per worker); from a web-process thread they come from a fork server instead (forking
  a process whose other threads may hold locks is unsafe).
"""
import datetime as dt
import multiprocessing
import os
import secrets
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select, update

from app.documents import worker
from app.extensions import db
from app.models import Member
from app.models.document import RENDERED, IssuedDocument
from app.models.mixins import now_jst

from ..month_lock import begin_write_transaction
from ..processes import HOST, running_here
from ..unit_of_work import unit_of_work
from .chain import store_failures, store_rendered
from .requests import months_with_missing_documents, request_documents

_doc = IssuedDocument.__table__

CLAIM_EXPIRES = dt.timedelta(minutes=15)  # a claim older than this belongs to a process that died
OTHERS_POLL = 0.5  # seconds between looks at rows another process holds
STORE_BATCH = 16  # documents stored per transaction
STORE_EVERY = 2.0  # seconds: stored at least this often, so the billing screen's progress moves
RUN_TRIES = 2  # a failing document is tried this many times per run (a rerun tries again)
POOL_RESTARTS = 3  # worker processes that die: the pool is started again at most this often per run
BROKEN_WORKER = "帳票を作成するプロセスが異常終了しました（メモリ不足などの可能性があります）。"


@dataclass
class Failure:
    document_id: int
    member_code: str
    kind: str
    format: str
    month: str
    reason: str

    def __str__(self):
        return f"{self.member_code} {self.month} {self.kind}.{self.format}: {self.reason}"


@dataclass
class RenderSummary:
    month: str | None
    rendered: int = 0
    failed: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    def __str__(self):
        where = f"{self.month} の" if self.month else ""
        text = f"{where}帳票を {self.rendered:,}件作成しました（{self.seconds:.1f}秒）。"
        if self.failed:
            text += f" 作成できなかった帳票が {len(self.failed):,}件あります。"
        return text


@dataclass
class _Claimed:
    id: int
    invoice_id: int
    kind: str
    format: str


def process_name() -> str:
    return f"{HOST}:{os.getpid()}:{secrets.token_hex(4)}"[:80]


def claim(claimed_by: str, month: str | None, limit: int, skip: set[int], kinds=None, formats=None) -> list[_Claimed]:
    """Take up to `limit` unrendered rows nobody holds (or whose holder died), fresh ones first."""
    with unit_of_work() as session:
        begin_write_transaction()  # SQLite: the write lock before the read (PostgreSQL: SKIP LOCKED below)
        now = now_jst()
        free = or_(_doc.c.claimed_by.is_(None), _doc.c.claimed_at < now - CLAIM_EXPIRES)
        query = select(_doc.c.id).where(_doc.c.status != RENDERED, free)
        if month:
            query = query.where(_doc.c.month == month)
        if kinds:
            query = query.where(_doc.c.kind.in_(kinds))
        if formats:
            query = query.where(_doc.c.format.in_(formats))
        if skip:
            query = query.where(_doc.c.id.not_in(skip))
        ids = session.scalars(query.order_by(_doc.c.attempts, _doc.c.invoice_id, _doc.c.id).limit(limit)
                              .with_for_update(skip_locked=True)).all()
        if not ids:
            return []
        # The same conditions again: on PostgreSQL a row another process claimed meanwhile is re-checked
        # after its lock and then left out.
        taken = set(session.scalars(update(_doc).where(_doc.c.id.in_(ids), _doc.c.status != RENDERED, free)
                                    .values(claimed_by=claimed_by, claimed_at=now).returning(_doc.c.id)))
        rows = session.execute(select(_doc.c.id, _doc.c.invoice_id, _doc.c.kind, _doc.c.format)
                               .where(_doc.c.id.in_(taken)).order_by(_doc.c.invoice_id, _doc.c.id)).all()
    return [_Claimed(*row) for row in rows]


def _dead_here(holder: str, host: str) -> bool:
    """True if `holder` (process_name()) is a process of this machine that no longer runs."""
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
        return False  # another machine's process, or a name cut short: only CLAIM_EXPIRES frees it
    return not running_here(int(parts[1]))


def release_dead_claims() -> int:
    """Let go at once of the rows held by a renderer of this machine that died (kill -9, a crash, a worker
    restarted by the server), instead of waiting CLAIM_EXPIRES: a re-run after a crash starts at once
    (issue 13 item 4). A process id reused meanwhile looks alive and keeps the old 15-minute rule."""
    with unit_of_work() as session:
        holders = session.scalars(select(_doc.c.claimed_by).distinct()
                                  .where(_doc.c.claimed_by.is_not(None), _doc.c.status != RENDERED)).all()
        dead = [holder for holder in holders if _dead_here(holder, HOST)]
        if dead:
            begin_write_transaction()
            session.execute(update(_doc).where(_doc.c.claimed_by.in_(dead), _doc.c.status != RENDERED)
                            .values(claimed_by=None, claimed_at=None))
    return len(dead)


def held_elsewhere(claimed_by: str, month: str | None, kinds=None, formats=None) -> int:
    """Unrendered rows another live process holds."""
    with unit_of_work() as session:
        query = (select(func.count()).select_from(_doc)
                 .where(_doc.c.status != RENDERED, _doc.c.claimed_by.is_not(None), _doc.c.claimed_by != claimed_by,
                        _doc.c.claimed_at >= now_jst() - CLAIM_EXPIRES))
        if month:
            query = query.where(_doc.c.month == month)
        if kinds:
            query = query.where(_doc.c.kind.in_(kinds))
        if formats:
            query = query.where(_doc.c.format.in_(formats))
        return session.scalar(query)


def release(claimed_by: str) -> None:
    """Let go of what this process still holds (the run ends or stops)."""
    with unit_of_work() as session:
        session.execute(update(_doc).where(_doc.c.claimed_by == claimed_by, _doc.c.status != RENDERED)
                        .values(claimed_by=None, claimed_at=None))


def _context(start_method: str | None):
    if start_method is None:
        alone = threading.current_thread() is threading.main_thread() and threading.active_count() == 1
        start_method = "fork" if alone else "forkserver"
    context = multiprocessing.get_context(start_method)
    if start_method == "forkserver":
        # __main__ first (multiprocessing's default): imported once in the fork server, not in every worker
        # (`python run.py` builds an app at import). The render modules: imported once, forked ready.
        context.set_forkserver_preload(["__main__", "app.documents.worker", "app.documents.render"])
    return context


def _font_path() -> str | None:
    from app.documents.pdf import font_path

    return font_path()  # the parent's: raises the Japanese "font missing" error before any worker starts


class _Loader:
    """Each invoice's data read once for its documents (claims come ordered by invoice), together with
    the other invoices already claimed: a few set-based reads per batch instead of per invoice."""

    BATCH = 32

    def __init__(self, upcoming):
        self.cache: dict[int, object] = {}
        self.upcoming = upcoming  # the claimed rows not sent yet (their invoices are read with this one)

    def __call__(self, invoice_id: int):
        if invoice_id not in self.cache:
            from app.documents import data

            wanted = [invoice_id] + [i for i in dict.fromkeys(c.invoice_id for c in self.upcoming)
                                     if i not in self.cache and i != invoice_id][:self.BATCH - 1]
            if len(self.cache) > 64:
                self.cache.clear()
            with unit_of_work() as session:  # a read: its transaction ends here
                self.cache.update(data.load_invoices_documents(session, wanted))
            if invoice_id not in self.cache:
                raise LookupError(f"請求書 id={invoice_id} がありません。")
        return self.cache[invoice_id]


def render_documents(month: str | None = None, *, processes: int = 2, progress=None, kinds=None, formats=None,
                     start_method: str | None = None) -> RenderSummary:
    """Render what is not rendered yet (of `month`, else of every month); returns what this run did.
    `progress(rendered, failed)` is called after each stored batch (this run's counts)."""
    started = time.monotonic()
    summary = RenderSummary(month)
    with unit_of_work():  # a month closed before documents existed gets its rows now
        for wanted in [month] if month else months_with_missing_documents():
            request_documents(wanted)
    me = process_name()
    release_dead_claims()
    queue: deque[_Claimed] = deque()
    load = _Loader(queue)
    tries: dict[int, int] = {}
    exhausted: set[int] = set()
    failures: dict[int, str] = {}
    font = _font_path()
    context = _context(start_method)
    in_flight_limit = max(1, processes) * 3
    pool = ProcessPoolExecutor(max_workers=max(1, processes), mp_context=context,
                               initializer=worker.init_worker, initargs=(font,))
    restarts = 0
    in_flight: dict = {}
    done_ok: list[tuple[int, bytes]] = []
    done_failed: list[tuple[int, str]] = []
    last_store = time.monotonic()

    def flush():
        nonlocal last_store
        if done_ok:
            summary.rendered += len(store_rendered(done_ok, me))
            done_ok.clear()
        if done_failed:
            store_failures(done_failed, me)
            for document_id, reason in done_failed:
                failures[document_id] = reason
            done_failed.clear()
        last_store = time.monotonic()
        if progress is not None:
            progress(summary.rendered, len(failures))

    def fail(document_id: int, reason: str):
        done_failed.append((document_id, reason))
        if tries.get(document_id, 0) >= RUN_TRIES:
            exhausted.add(document_id)

    try:
        while True:
            while len(in_flight) < in_flight_limit:
                if not queue:
                    queue.extend(claim(me, month, in_flight_limit * 2, exhausted, kinds, formats))
                    if not queue:
                        break
                item = queue.popleft()
                tries[item.id] = tries.get(item.id, 0) + 1
                try:
                    data = load(item.invoice_id)
                except Exception as error:  # noqa: BLE001  this invoice's documents fail; the others go on
                    db.session.rollback()
                    fail(item.id, f"帳票のデータを読めませんでした: {worker.failure_reason(error)}"[:480])
                    continue
                in_flight[pool.submit(worker.render_one, item.kind, item.format, data)] = item
            if not in_flight:
                if done_ok or done_failed:
                    flush()  # failed rows are released: they may be claimed again for their retry
                    continue
                if held_elsewhere(me, month, kinds, formats) and not release_dead_claims():
                    # Another process renders some of them: wait for it (a caller that writes the month's
                    # files next must find them stored), then take over what it lets go.
                    time.sleep(OTHERS_POLL)
                    continue
                break
            finished, _ = wait(in_flight, timeout=STORE_EVERY, return_when=FIRST_COMPLETED)
            broken = False
            for future in finished:
                item = in_flight.pop(future)
                try:
                    ok, result = future.result()
                except BrokenProcessPool:
                    broken = True
                    fail(item.id, BROKEN_WORKER)
                    continue
                except Exception as error:  # noqa: BLE001  e.g. data that cannot be pickled
                    fail(item.id, worker.failure_reason(error))
                    continue
                if ok:
                    done_ok.append((item.id, result))
                    failures.pop(item.id, None)
                else:
                    fail(item.id, result)
            if broken:
                for future, item in list(in_flight.items()):
                    fail(item.id, BROKEN_WORKER)
                in_flight.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                restarts += 1
                if restarts > POOL_RESTARTS:
                    raise RuntimeError("帳票を作成するプロセスが続けて異常終了したため中断しました。")
                pool = ProcessPoolExecutor(max_workers=max(1, processes), mp_context=context,
                                           initializer=worker.init_worker, initargs=(font,))
            if len(done_ok) + len(done_failed) >= STORE_BATCH or time.monotonic() - last_store >= STORE_EVERY:
                flush()
        flush()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        try:
            release(me)
        except Exception:  # noqa: BLE001  the claim expires by itself (CLAIM_EXPIRES)
            db.session.rollback()
    summary.failed = _describe(failures)
    summary.seconds = time.monotonic() - started
    return summary


def _describe(failures: dict[int, str]) -> list[Failure]:
    """The documents that are still failed at the end, named (member code, month, kind, format)."""
    if not failures:
        return []
    with unit_of_work() as session:
        rows = session.execute(select(_doc.c.id, Member.code, _doc.c.kind, _doc.c.format, _doc.c.month, _doc.c.status)
                               .join(Member, Member.id == _doc.c.member_id).where(_doc.c.id.in_(failures))
                               .order_by(Member.code, _doc.c.kind, _doc.c.format)).all()
    return [Failure(i, code, kind, fmt, month, failures[i]) for i, code, kind, fmt, month, status in rows
            if status != RENDERED]


def pending_count(month: str | None = None) -> int:
    query = select(func.count()).select_from(_doc).where(_doc.c.status != RENDERED)
    if month:
        query = query.where(_doc.c.month == month)
    return db.session.scalar(query)

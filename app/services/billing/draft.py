"""The draft: `run_billing(month)` creates or recomputes the month's invoices (status 下書き) from
the month's inputs, in one transaction; the run row keeps the totals and the input fingerprint."""
import dataclasses
import datetime as dt
import time
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, text

from app.domain.errors import DomainError
from app.domain.invoice_calculation import calculate_invoice
from app.domain.month import Month
from app.extensions import db
from app.models.billing import (CANCELLED, DRAFT, INVOICE_DRAFT, REGULAR, BillingDiscount, BillingRun, Invoice,
                                InvoiceLine, InvoiceTaxSubtotal)
from app.models.mixins import now_jst

from ..actor import current_actor
from ..bulk import BulkInserter, bulk_insert
from ..gc_pause import collector_paused
from ..month_lock import lock_month
from ..months import ensure_month_open
from ..tariff import keep_rule_versions
from ..unit_of_work import unit_of_work
from .inputs import Inputs, gather, input_stamp
from .review import BillingWarning, billing_warnings, computed_discounts

_invoice = Invoice.__table__
_line = InvoiceLine.__table__
_subtotal = InvoiceTaxSubtotal.__table__
_discount = BillingDiscount.__table__


@dataclass
class BillingSummary:
    month: str
    created: bool  # a new draft (False: the draft was recomputed)
    invoice_count: int
    usage_total: int
    operator_discount_total: int
    contract_discount_total: int
    discount_total: int
    fee_total: int
    adjustment_total: int
    tax_total: int
    total: int
    seconds: float
    warnings: list[BillingWarning] = field(default_factory=list)
    timings: dict = field(default_factory=dict)  # seconds per step (for the benchmark)

    def __str__(self):
        what = "下書きを作成しました" if self.created else "下書きを再計算しました"
        return (f"{self.month} の請求{what}: 請求書 {self.invoice_count:,}件, 利用額 {self.usage_total:,}円, "
                f"割引 {self.discount_total:,}円, 手数料 {self.fee_total:,}円, 訂正 {self.adjustment_total:,}円, "
                f"請求金額 {self.total:,}円（うち消費税 {self.tax_total:,}円）"
                f"［道路事業者の割引 車両単位 {self.operator_discount_total:,}円・契約単位 {self.contract_discount_total:,}円］"
                f" {self.seconds:.1f}秒")



def compute_invoices(inputs: Inputs) -> tuple[list[tuple[int, object]], dict]:
    """(member id, InvoiceResult) for every member with something to bill, by member code; and the
    車両単位割引 every member's calculation computed (member id → InvoiceResult.band_discounts), for
    write_discounts."""
    results, band_discounts = [], {}
    for member_id, result in _calculated(inputs, _by_code(inputs)):
        band_discounts[member_id] = result.band_discounts
        if result.lines:
            results.append((member_id, result))
    return results, band_discounts


def _by_code(inputs: Inputs) -> list[int]:
    return sorted(inputs.members, key=lambda m: inputs.info[m].code)


def _calculated(inputs: Inputs, order: list[int]):
    """(member id, InvoiceResult) of each member in `order`, computed one at a time as they are asked for."""
    for member_id in order:
        yield member_id, calculate_invoice(inputs.members[member_id], inputs.rules)


def lock_run(month: str) -> BillingRun | None:
    """The month's run, locked (FOR UPDATE on PostgreSQL) until the transaction ends."""
    return db.session.scalar(select(BillingRun).where(BillingRun.month == month).with_for_update())


def run_billing(month: str) -> BillingSummary:
    """Create or recompute the month's draft. Refused for a closed month."""
    month = str(Month.of(month))
    started = dt.datetime.now()
    with collector_paused(), unit_of_work():
        run, created, timings = _write_draft(month)
        clock = time.perf_counter()
    timings["commit"] = time.perf_counter() - clock
    summary = BillingSummary(month, created, run.invoice_count, run.usage_total, run.operator_discount_total,
                             run.contract_discount_total, run.discount_total, run.fee_total, run.adjustment_total,
                             run.tax_total, run.total, (dt.datetime.now() - started).total_seconds())
    summary.warnings = [BillingWarning(**w) for w in run.draft_warnings]
    summary.timings = timings
    return summary


def _write_draft(month: str) -> tuple[BillingRun, bool, dict]:
    """The draft's one transaction: lock (or create) the run, gather, compute, replace the rows."""
    session = db.session
    lock_month(month)  # before the first read: a second `flask etc bill` waits here, then recomputes
    ensure_month_open(month)
    run = lock_run(month)
    created = run is None
    if created:
        run = BillingRun(month=month, status=DRAFT, created_at=now_jst())
        session.add(run)
        session.flush()
    elif run.status != DRAFT:
        raise DomainError(f"{month} は締め済みのため再計算できません。", "month")
    timings = {}
    postgresql = session.connection().dialect.name == "postgresql"
    clock = time.perf_counter()
    inputs = gather(month)
    timings["gather"], clock = time.perf_counter() - clock, time.perf_counter()
    username, _ = current_actor()
    _delete_draft_rows(run.id)
    timings["delete"], clock = time.perf_counter() - clock, time.perf_counter()
    if postgresql:
        # The server stores each member's lines while the next members are computed (the "compute"
        # step includes writing the lines; "write" is what follows them).
        results, band_discounts = _compute_and_stream(run.id, month, inputs, username)
        timings["compute"], clock = time.perf_counter() - clock, time.perf_counter()
    else:
        results, band_discounts = compute_invoices(inputs)
        timings["compute"], clock = time.perf_counter() - clock, time.perf_counter()
        write_invoices(run.id, month, inputs, results, username)
    write_discounts(run.id, month, inputs, band_discounts)
    timings["write"], clock = time.perf_counter() - clock, time.perf_counter()
    if postgresql:
        # The draft replaced thousands of rows: fresh statistics (ANALYZE counts this transaction's own
        # rows), or the planner keeps the numbers of the empty tables and the warnings below join invoice
        # lines by nested loops (seconds instead of ms).
        session.execute(text("ANALYZE invoice, invoice_line, invoice_tax_subtotal, billing_discount"))
    timings["analyze"], clock = time.perf_counter() - clock, time.perf_counter()
    run.recomputed_at = now_jst()
    run.recompute_count = (run.recompute_count or 0) + (0 if created else 1)
    run.contract_discount_total = inputs.contract_total
    refresh_run_totals(run)
    run.input_fingerprint = inputs.fingerprint()
    run.input_stamp = input_stamp(month)
    session.flush()
    invoiced = ({member_id for member_id, _ in results},
                {line.charge.card_id for _, result in results for line in result.lines if line.charge.kind == "usage"})
    run.draft_warnings = [dataclasses.asdict(w) for w in billing_warnings(month, inputs.cards_in_force(), inputs.groups,
                                                                          invoiced)]
    timings["warnings"] = time.perf_counter() - clock
    return run, created, timings


RUN_TOTALS = {"usage_total": "usage_total", "operator_discount_total": "operator_discount_total",
              "discount_total": "discount_total", "fee_total": "fee_total", "adjustment_total": "adjustment_total",
              "tax_total": "tax_amount", "total": "total"}  # run column → invoice column


def refresh_run_totals(run: BillingRun) -> None:
    """The run's totals and counts are the sums over its live invoices (drafts or issued, not those a
    correction cancelled): after the draft and after every re-issue, so they never disagree."""
    invoice = _invoice.c
    row = db.session.execute(
        select(func.count(), func.count(func.distinct(invoice.member_id)),
               *(func.coalesce(func.sum(getattr(invoice, column)), 0) for column in RUN_TOTALS.values()))
        .where(invoice.billing_run_id == run.id, invoice.status != CANCELLED)).one()
    run.invoice_count, run.member_count = int(row[0]), int(row[1])
    for key, value in zip(RUN_TOTALS, row[2:]):
        setattr(run, key, int(value))


def _delete_draft_rows(run_id: int) -> None:
    draft_ids = select(_invoice.c.id).where(_invoice.c.billing_run_id == run_id,
                                            _invoice.c.status == INVOICE_DRAFT)
    session = db.session
    session.execute(delete(_discount).where(_discount.c.billing_run_id == run_id))
    session.execute(delete(_line).where(_line.c.invoice_id.in_(draft_ids)))
    session.execute(delete(_subtotal).where(_subtotal.c.invoice_id.in_(draft_ids)))
    session.execute(delete(_invoice).where(_invoice.c.billing_run_id == run_id, _invoice.c.status == INVOICE_DRAFT))


def _invoice_row(run_id, month, member_id, inputs, created_at, username, kept_id, totals, kind=REGULAR,
                 extra=None) -> dict:
    return dict(billing_run_id=run_id, member_id=member_id, month=month, kind=kind, status=INVOICE_DRAFT,
                payment_method=inputs.info[member_id].payment_method, created_at=created_at, created_by=username,
                kept_rule_versions_id=kept_id, **totals, **(extra or {}))


def _line_rows(invoice_id: int, result) -> list[tuple]:
    """The invoice's lines in LINE_COLUMNS order, numbered from 1."""
    rows = []
    for position, line in enumerate(result.lines, 1):
        charge = line.charge
        rows.append((invoice_id, position, charge.kind, charge.description[:200], charge.card_id, charge.amount,
                     charge.tax_category, charge.rule_id or None, line.breakdown))
    return rows


def _subtotal_rows(invoice_id: int, result) -> list[tuple]:
    return [(invoice_id, s.category, s.total_including_tax, s.tax) for s in result.subtotals]


def write_invoices(run_id, month, inputs, results, username, kind=REGULAR, extra=None) -> dict:
    """Invoices (ids back in order), then their lines and tax subtotals, in bulk."""
    created_at = now_jst()
    kept_id = keep_rule_versions(inputs.rules) if results else None  # once per draft, not per line
    rows, run_totals = [], dict(usage_total=0, operator_discount_total=0, discount_total=0, fee_total=0,
                                adjustment_total=0, tax_total=0, total=0)
    for member_id, result in results:
        totals = result.totals()
        rows.append(_invoice_row(run_id, month, member_id, inputs, created_at, username, kept_id, totals, kind, extra))
        for key in ("usage_total", "operator_discount_total", "discount_total", "fee_total", "adjustment_total",
                    "total"):
            run_totals[key] += totals[key]
        run_totals["tax_total"] += totals["tax_amount"]
    if not rows:
        return run_totals
    ids = _insert_invoices(run_id, rows)
    lines, subtotals = [], []
    for invoice_id, (_, result) in zip(ids, results):
        lines.extend(_line_rows(invoice_id, result))
        subtotals.extend(_subtotal_rows(invoice_id, result))
    bulk_insert(_line, LINE_COLUMNS, lines)
    bulk_insert(_subtotal, SUBTOTAL_COLUMNS, subtotals)
    run_totals["ids"] = ids
    return run_totals


INVOICE_TOTALS = ("usage_total", "discount_total", "fee_total", "adjustment_total", "taxable_total", "tax_amount",
                  "non_taxable_total", "total", "operator_discount_total")  # InvoiceResult.totals()


def _compute_and_stream(run_id: int, month: str, inputs: Inputs, username: str) -> tuple[list, dict]:
    """PostgreSQL: compute_invoices and write_invoices overlapped. The server stores lines (COPY, two foreign keys
    checked per row: seconds at 137,000 lines) while Python computes the next members, instead of the
    two taking turns: psycopg sends the COPY in 32 KB blocks (about ten members' lines) and the socket's
    buffers hold a few of them, so Python waits only when it is ahead of the server. A line needs its
    invoice first (foreign key), and an invoice's totals are known only once it is computed: so every
    member's invoice is inserted first with zero totals (ids from the sequence, in member code order),
    each member's lines go into one COPY as soon as computed, then the totals are set in one UPDATE and
    the invoices of members with nothing to bill deleted. The rows at the end are those write_invoices
    writes (tests/integration/test_billing_streamed.py)."""
    session = db.session
    order = _by_code(inputs)
    if not order:
        return [], {}
    created_at = now_jst()
    kept_id = keep_rule_versions(inputs.rules)
    zero = dict.fromkeys(INVOICE_TOTALS, 0)
    ids = _insert_invoices(run_id, [_invoice_row(run_id, month, member_id, inputs, created_at, username, kept_id,
                                                 zero) for member_id in order])
    results, band_discounts, written, empty = [], {}, [], []
    with BulkInserter(_line, LINE_COLUMNS) as lines:
        for invoice_id, (member_id, result) in zip(ids, _calculated(inputs, order)):
            band_discounts[member_id] = result.band_discounts
            if result.lines:
                results.append((member_id, result))
                written.append(invoice_id)
                lines.write(_line_rows(invoice_id, result))
            else:
                empty.append(invoice_id)
    if empty:
        session.execute(delete(_invoice).where(_invoice.c.id.in_(empty)))
    if written:
        totals = [result.totals() for _, result in results]
        columns = ", ".join(INVOICE_TOTALS)
        arrays = ", ".join(f"CAST(:{column} AS bigint[])" for column in INVOICE_TOTALS)
        session.execute(text(f"UPDATE invoice AS i SET {', '.join(f'{c} = v.{c}' for c in INVOICE_TOTALS)} "
                             f"FROM unnest(CAST(:ids AS integer[]), {arrays}) AS v(id, {columns}) WHERE i.id = v.id"),
                        {"ids": written, **{column: [t[column] for t in totals] for column in INVOICE_TOTALS}})
        bulk_insert(_subtotal, SUBTOTAL_COLUMNS,
                    [row for invoice_id, (_, result) in zip(written, results)
                     for row in _subtotal_rows(invoice_id, result)])
    return results, band_discounts


DISCOUNT_COLUMNS = ("billing_run_id", "rule_id", "road_operator", "card_id", "card_number", "member_id",
                    "discount_base", "discount", "comparable")


def write_discounts(run_id: int, month: str, inputs: Inputs, band_discounts: dict) -> None:
    """The operators' discounts per card and rule, and per contract rule, as computed from the draft's
    inputs: the operator check reads these rows instead of aggregating the usage again. The bands and
    contract results the invoice calculation computed are reused, not computed a second time (the
    contract results only while they were computed over the same usages: every member's).
    `band_discounts`: member id → {rule id: [(group, discount)]} (InvoiceResult.band_discounts)."""
    same_usages = all(member_id in inputs.info for member_id, _ in inputs.usage_rows)
    found = computed_discounts(month, inputs.rules, inputs.usage_rows, band_discounts,
                               inputs.contract_results if same_usages else None)
    bulk_insert(_discount, DISCOUNT_COLUMNS,
                [(run_id, d.rule_id, d.road_operator[:40], d.card_id, d.card_number, d.member_id, d.discount_base,
                  d.discount, d.comparable) for d in found])


LINE_COLUMNS = ("invoice_id", "position", "kind", "description", "card_id", "amount", "tax_category", "rule_id",
                "breakdown")
SUBTOTAL_COLUMNS = ("invoice_id", "category", "total_including_tax", "tax")


def _insert_invoices(run_id: int, rows: list[dict]) -> list[int]:
    """Insert the invoices in bulk; their ids in `rows` order, so that lines can be written with them.
    PostgreSQL: ids taken from the table's sequence first (never max(id)+1: two writers would take the
    same). SQLite: the database assigns them; read back by member (a run has one draft invoice per
    member, and the month lock keeps other writers of the run out until commit)."""
    session = db.session
    if session.connection().dialect.name == "postgresql":
        ids = list(session.scalars(text("SELECT nextval(pg_get_serial_sequence('invoice', 'id')) "
                                        "FROM generate_series(1, :n)").bindparams(n=len(rows))))
        bulk_insert(_invoice, ("id", *rows[0]), [(invoice_id, *row.values()) for invoice_id, row in zip(ids, rows)])
        return ids
    bulk_insert(_invoice, tuple(rows[0]), [tuple(row.values()) for row in rows])
    by_member = dict(session.execute(select(_invoice.c.member_id, _invoice.c.id).where(
        _invoice.c.billing_run_id == run_id, _invoice.c.status == INVOICE_DRAFT)).all())
    return [by_member[row["member_id"]] for row in rows]

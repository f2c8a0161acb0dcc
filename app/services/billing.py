"""請求処理 (monthly billing): draft → review → close, and corrections. docs/billing.md describes the
workflow; this module is the one place that writes invoices.

- `run_billing(month)` creates or recomputes the month's draft. Usage is aggregated by ONE SQL
  GROUP BY (member, card, road operator); every member's invoice is computed by the pure
  app.domain.invoice_calculation with the tariff valid that month; invoices, lines and tax subtotals
  are written in bulk after the month's draft rows are deleted. Same inputs, same draft.
- `billing_warnings(month)` and `review(month)` are what staff look at before the close.
- `close_billing_run(month, closed_by)` numbers the invoices from one gap-free sequence (after all
  amounts are final), dates them, marks card events and adjustments billed and closes the month.
- `add_adjustment` / `reissue_invoice`: an issued invoice never changes; a correction is a new row
  that points at it.
- `operator_check(month)`: computed vs reported road-operator discounts, and the operator's margin.

Each public function is one use case and one transaction (commit at the end, rollback on error).
"""
import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field

from sqlalchemy import bindparam, case, delete, func, insert, or_, select, text, update

from app.domain.billing_dates import debit_date_for, invoice_date_for, month_first_last
from app.domain.errors import DomainError
from app.domain.invoice_calculation import (CardEventFee, CardUsage, MemberMonth, _vehicle_discount_groups,
                                            allocate_pro_rata, calculate_invoice, vehicle_discount_for)
from app.domain.pricing.breakdown import NON_TAXABLE, TAXABLE_10, Charge
from app.domain.pricing.contract import contract_discount
from app.domain.pricing.member_share import pass_through
from app.extensions import db
from app.models import Agency, Card, CardEvent, Member, OperatorSettings, Vehicle
from app.models.billing import (CANCELLED, CLOSED, CORRECTED, DRAFT, INVOICE_DRAFT, ISSUED, REGULAR, BillingRun,
                                Invoice, InvoiceAdjustment, InvoiceLine, InvoiceNumberCounter, InvoiceTaxSubtotal,
                                OperatorDiscountReport)
from app.models.member import PAYMENT_METHODS, DIRECT_DEBIT
from app.models.mixins import now_jst
from app.models.usage import BATCH_ACTIVE, FLAG_UNREGISTERED_CARD, FLAG_USED_AFTER_LOSS, ImportBatch, UsageRecord

from .actor import current_actor
from .months import ensure_month_open, parse_month
from .tariff import rules_for_month
from .usage_rematch import flag_values

MASTER_IMPORT_NOTE = "マスタ取込（Excel）"  # app.services.master_import.EVENT_NOTE: billed by the previous system
MISMATCH_TEXT, MISMATCH_CODE = "車両不一致", "02"  # remarks text, or the nexco-fixed 摘要 code (§1.1)
COUNTER_NAME = "invoice"
NUMBER_DIGITS = 8  # invoice numbers are zero-padded: 00000001, 00000002, … (docs/billing.md)
DEFAULT_DEBIT_DAY = 5

_invoice = Invoice.__table__
_line = InvoiceLine.__table__
_subtotal = InvoiceTaxSubtotal.__table__


# ── results ───────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class BillingWarning:
    code: str
    message: str  # Japanese, shown as it is
    count: int
    blocking: bool  # the close is refused while it remains
    level: str = "error"  # error (blocking) / alert / info

    def __str__(self):
        mark = "【締め不可】" if self.blocking else ("【要確認】" if self.level == "alert" else "【参考】")
        return f"{mark}{self.message}（{self.count:,}件）"


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


@dataclass
class ReviewRow:
    member_id: int
    member_code: str
    member_name: str
    invoice_id: int
    number: str | None
    kind: str
    status: str
    usage: int
    discounts: int
    fees: int
    adjustments: int
    tax: int
    total: int
    last_month_total: int | None
    difference: int | None


@dataclass
class ReviewTotals:
    usage: int = 0
    operator_discounts_received: int = 0  # 車両単位 + 契約単位 as computed
    member_discounts: int = 0
    fees: int = 0
    adjustments: int = 0
    tax: int = 0
    total: int = 0
    invoice_count: int = 0


@dataclass
class Review:
    month: str
    run: BillingRun | None
    totals: ReviewTotals
    rows: list[ReviewRow]
    warnings: list[BillingWarning]

    @property
    def can_close(self) -> bool:
        return self.run is not None and self.run.status == DRAFT and not any(w.blocking for w in self.warnings)


@dataclass
class OperatorCheckRow:
    rule_id: str
    road_operator: str
    card_id: int | None
    card_number: str  # '' for the contract-level discount
    member_code: str
    discount_base: int
    computed: int
    reported: int | None
    difference: int | None  # reported − computed


@dataclass
class OperatorCheck:
    month: str
    rows: list[OperatorCheckRow]
    received: int  # reported where present, else computed
    passed_on: int  # discounts on the members' invoices
    fees: int
    margin: int  # received − passed_on + fees
    differences: int  # rows whose report differs from the computation


# ── inputs: one SQL GROUP BY, cards, events, adjustments, members ─────────────────────────────


@dataclass
class _MemberInfo:
    id: int
    code: str
    name: str
    group: str | None
    agency_code: str | None
    payment_method: str


@dataclass
class _Inputs:
    month: str
    rules: list
    members: dict  # member id → MemberMonth
    info: dict  # member id → _MemberInfo
    usage_rows: list  # (member_id, CardUsage)
    contract_total: int  # 契約単位割引 received, computed
    event_ids: list
    operator_discount_reports: dict = field(default_factory=dict)

    def fingerprint(self) -> str:
        """SHA-256 of everything the draft is computed from (plain tuples: cheap to print)."""
        parts = [repr(self.rules)]
        for member_id in sorted(self.members):
            member = self.members[member_id]
            info = self.info[member_id]
            parts.append(repr((member_id, info.code, info.group, info.agency_code, info.payment_method,
                               sorted((u.card_id, u.road_operator, u.card_number, u.card_kind, u.amount_billed,
                                       u.discount_base, u.rows, u.etc2_commercial) for u in member.usages),
                               sorted(member.active_cards),
                               sorted((e.event_id, e.kind, e.card_id) for e in member.events),
                               member.contract_discount_share,
                               [(a.rule_id, a.amount, a.description) for a in member.adjustments])))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _active_batch_ids(month: str) -> list[int]:
    return list(db.session.scalars(select(ImportBatch.id).where(ImportBatch.usage_month == month,
                                                                ImportBatch.status == BATCH_ACTIVE)))


def _usage_groups(month: str) -> list[tuple[int, CardUsage]]:
    """(member id, CardUsage) per member × card × road operator, from ONE GROUP BY over the month's
    rows in active batches; card number, kind and ETC2.0 事業用 come from a join on the groups."""
    batch_ids = _active_batch_ids(month)
    if not batch_ids:
        return []
    u = UsageRecord.__table__.c
    mismatch = or_(u.remarks.like(f"%{MISMATCH_TEXT}%"), u.remarks == MISMATCH_CODE)
    grouped = (select(u.member_id, u.card_id, u.road_operator,
                      func.sum(u.amount_billed).label("billed"),
                      func.sum(case((mismatch, 0), else_=u.amount_billed)).label("base"),
                      func.count().label("rows"),
                      func.sum(u.amount_before_discount).label("before"))
               .where(u.usage_month == month, u.batch_id.in_(batch_ids), u.member_id.is_not(None),
                      u.card_id.is_not(None))
               .group_by(u.member_id, u.card_id, u.road_operator)).subquery()
    query = (select(grouped.c.member_id, grouped.c.card_id, grouped.c.road_operator, grouped.c.billed,
                    grouped.c.base, grouped.c.rows, Card.number, Card.kind, Vehicle.is_etc2, Vehicle.is_commercial,
                    grouped.c.before)
             .join(Card, Card.id == grouped.c.card_id).outerjoin(Vehicle, Vehicle.id == Card.vehicle_id))
    result = []
    for member_id, card_id, road, billed, base, rows, number, kind, etc2, commercial, before in db.session.execute(query):
        result.append((member_id, CardUsage(card_id, number, kind, road or "", int(billed or 0), int(base or 0),
                                            int(rows), bool(etc2 and commercial),
                                            int(before) if before is not None else None)))
    return result


def _active_cards(month: str, member_ids: set | None = None) -> dict[int, list[tuple[int, str, str]]]:
    """Cards that were in force during the month: valid then, and active or stopped (lost,
    cancelled, reissued) during or after it. Recomputing a past month gives the cards it had."""
    first, last = month_first_last(month)
    query = (select(Card.member_id, Card.id, Card.number, Card.kind)
             .where(or_(Card.valid_from.is_(None), Card.valid_from <= last),
                    or_(Card.valid_until.is_(None), Card.valid_until >= first),
                    or_(Card.status == "active", Card.status_changed_on >= first)))
    if member_ids is not None:
        query = query.where(Card.member_id.in_(member_ids))
    cards: dict[int, list] = {}
    for member_id, card_id, number, kind in db.session.execute(query):
        cards.setdefault(member_id, []).append((card_id, number, kind))
    return cards


def _event_query(month: str, reissue_member_id: int | None = None):
    """Card events whose fee the month bills: not billed yet, on or before the month's end, not
    brought over by the master import (the previous system billed those). For a reissue: the
    events the month billed."""
    _, last = month_first_last(month)
    query = (select(CardEvent.id, CardEvent.member_id, CardEvent.kind, CardEvent.card_id, Card.number, Card.kind)
             .join(Card, Card.id == CardEvent.card_id))
    if reissue_member_id is not None:
        return query.where(CardEvent.billed_month == month, CardEvent.member_id == reissue_member_id)
    return query.where(CardEvent.fee_billed.is_(False), CardEvent.occurred_on <= last,
                       or_(CardEvent.note.is_(None), CardEvent.note != MASTER_IMPORT_NOTE))


def _adjustment_charges(month: str, billed_on: list[int] | None = None) -> dict[int, list[Charge]]:
    """Pending corrections of earlier invoices (or, for a reissue, those billed on `billed_on`)."""
    original = Invoice.__table__.alias("original")
    query = (select(InvoiceAdjustment.id, InvoiceAdjustment.member_id, InvoiceAdjustment.amount,
                    InvoiceAdjustment.description, original.c.number)
             .join(original, original.c.id == InvoiceAdjustment.original_invoice_id)
             .order_by(InvoiceAdjustment.id))
    if billed_on is not None:
        query = query.where(InvoiceAdjustment.billed_invoice_id.in_(billed_on))
    else:
        query = query.where(InvoiceAdjustment.billed_invoice_id.is_(None), original.c.month < month)
    charges: dict[int, list[Charge]] = {}
    for adjustment_id, member_id, amount, description, number in db.session.execute(query):
        charges.setdefault(member_id, []).append(
            Charge(f"訂正（請求書 {number}）{description}", int(amount), TAXABLE_10, f"adjustment:{adjustment_id}",
                   None, "adjustment"))
    return charges


def _member_infos(member_ids: set) -> dict[int, _MemberInfo]:
    infos = {}
    query = (select(Member.id, Member.code, Member.name, Member.member_group, Agency.code, Member.payment_method)
             .outerjoin(Agency, Agency.id == Member.agency_id))
    if len(member_ids) < 500:
        query = query.where(Member.id.in_(member_ids or {0}))
    for member_id, code, name, group, agency, payment in db.session.execute(query):
        if member_id in member_ids:
            infos[member_id] = _MemberInfo(member_id, code, name, group, agency, payment)
    return infos


def _contract_shares(usage_rows, rules, infos) -> tuple[int, dict[int, int]]:
    """契約単位割引 per contract_discount rule over the operator-wide totals (vehicles = cards with
    usage that month for the rule's road operator); passed on only under a member_discount
    pass_through rule, split by each member's usage of that operator (allocate_pro_rata) × ratio."""
    received, shares = 0, {}
    pass_rules = [r for r in rules if r.type == "member_discount" and r.params["method"] == "pass_through"]
    for rule in (r for r in rules if r.type == "contract_discount"):
        weights: dict[int, int] = {}
        total, cards = 0, set()
        for member_id, usage in usage_rows:
            wanted = rule.params.get("road_operator")
            if wanted and not usage.road_operator.startswith(str(wanted)):
                continue
            if not rule.scope.matches_card(usage.card_kind):
                continue
            total += usage.discount_base
            cards.add(usage.card_id)
            weights[member_id] = weights.get(member_id, 0) + usage.discount_base
        discount, _ = contract_discount(total, len(cards), rule.params["threshold_total"],
                                        rule.params["threshold_average"], rule.decimal("rate"), rule.rounding)
        received += discount
        if not discount or not pass_rules:
            continue
        for member_id, share in allocate_pro_rata(discount, weights).items():
            info = infos[member_id]
            share_rule = next((r for r in pass_rules
                               if r.scope.matches_member(info.code, info.group, info.agency_code)), None)
            if share_rule is None or not share:
                continue
            passed, _ = pass_through(share, share_rule.decimal("ratio"), share_rule.rounding)
            if passed:
                shares[member_id] = shares.get(member_id, 0) + passed
    return received, shares


def _gather(month: str, reissue_of: Invoice | None = None) -> _Inputs:
    rules = rules_for_month(month)
    usage_rows = _usage_groups(month)
    only = reissue_of.member_id if reissue_of is not None else None
    events = db.session.execute(_event_query(month, only)).all()
    if reissue_of is not None:
        adjustments = _adjustment_charges(month, billed_on=_correction_chain(reissue_of))
    else:
        adjustments = _adjustment_charges(month)
    cards = _active_cards(month, {only} if only is not None else None)
    member_ids = {m for m, _ in usage_rows} | {e[1] for e in events} | set(cards) | set(adjustments)
    infos = _member_infos(member_ids)
    contract_total, shares = _contract_shares(usage_rows, rules, infos)
    members: dict[int, MemberMonth] = {}
    wanted = member_ids if only is None else {only}
    for member_id in wanted:
        info = infos.get(member_id)
        if info is None:
            continue
        members[member_id] = MemberMonth(info.code, info.group, info.agency_code, month, [],
                                         cards.get(member_id, []), [], shares.get(member_id, 0),
                                         adjustments.get(member_id, []))
    for member_id, usage in usage_rows:
        if member_id in members:
            members[member_id].usages.append(usage)
    for event_id, member_id, kind, card_id, number, card_kind in events:
        if member_id in members:
            members[member_id].events.append(CardEventFee(event_id, kind, card_id, number, card_kind))
    return _Inputs(month, rules, members, infos, usage_rows, contract_total, [e[0] for e in events])


# ── the draft ─────────────────────────────────────────────────────────────────────────────────


def _totals(result) -> dict:
    usage = discount = fee = adjustment = 0
    for line in result.lines:
        kind, amount = line.charge.kind, line.charge.amount
        if kind == "usage":
            usage += amount
        elif kind == "member_discount":
            discount -= amount
        elif kind == "adjustment":
            adjustment += amount
        else:
            fee += amount
    taxable = tax = non_taxable = 0
    for subtotal in result.subtotals:
        if subtotal.category == TAXABLE_10:
            taxable, tax = subtotal.total_including_tax, subtotal.tax
        elif subtotal.category == NON_TAXABLE:
            non_taxable = subtotal.total_including_tax
    return dict(usage_total=usage, discount_total=discount, fee_total=fee, adjustment_total=adjustment,
                taxable_total=taxable, tax_amount=tax, non_taxable_total=non_taxable, total=result.total,
                operator_discount_total=result.operator_discount)


def _compute(inputs: _Inputs) -> list[tuple[int, object]]:
    """(member id, InvoiceResult) for every member with something to bill, by member code."""
    results = []
    for member_id in sorted(inputs.members, key=lambda m: inputs.info[m].code):
        result = calculate_invoice(inputs.members[member_id], inputs.rules)
        if result.lines:
            results.append((member_id, result))
    return results


def _lock_run(month: str) -> BillingRun | None:
    return db.session.scalar(select(BillingRun).where(BillingRun.month == month).with_for_update())


def run_billing(month: str) -> BillingSummary:
    """Create or recompute the month's draft. Refused for a closed month."""
    month = parse_month(month)
    started = dt.datetime.now()
    session = db.session
    try:
        ensure_month_open(month)
        run = _lock_run(month)
        created = run is None
        if created:
            run = BillingRun(month=month, status=DRAFT, created_at=now_jst())
            session.add(run)
            session.flush()
        elif run.status != DRAFT:
            raise DomainError(f"{month} は締め済みのため再計算できません。", "month")
        timings = {}
        clock = time.perf_counter()
        inputs = _gather(month)
        timings["gather"], clock = time.perf_counter() - clock, time.perf_counter()
        results = _compute(inputs)
        timings["compute"], clock = time.perf_counter() - clock, time.perf_counter()
        username, _ = current_actor()
        _delete_draft_rows(run.id)
        timings["delete"], clock = time.perf_counter() - clock, time.perf_counter()
        totals = _write_invoices(run.id, month, inputs, results, username)
        totals.pop("ids", None)
        timings["write"], clock = time.perf_counter() - clock, time.perf_counter()
        run.recomputed_at = now_jst()
        run.recompute_count = (run.recompute_count or 0) + (0 if created else 1)
        run.member_count = run.invoice_count = len(results)
        run.contract_discount_total = inputs.contract_total
        for key, value in totals.items():
            setattr(run, key, value)
        run.input_fingerprint = inputs.fingerprint()
        session.commit()
        if session.connection().dialect.name == "postgresql":
            # The draft replaced thousands of rows: fresh statistics, or the planner keeps the numbers
            # of the empty tables and joins invoice lines by nested loops (seconds instead of ms).
            session.execute(text("ANALYZE invoice, invoice_line, invoice_tax_subtotal"))
            session.commit()
        timings["commit"], clock = time.perf_counter() - clock, time.perf_counter()
    except Exception:
        session.rollback()
        raise
    summary = BillingSummary(month, created, run.invoice_count, run.usage_total, run.operator_discount_total,
                             run.contract_discount_total, run.discount_total, run.fee_total, run.adjustment_total,
                             run.tax_total, run.total, (dt.datetime.now() - started).total_seconds())
    summary.warnings = billing_warnings(month)
    timings["warnings"] = time.perf_counter() - clock
    summary.timings = timings
    return summary


def _delete_draft_rows(run_id: int) -> None:
    draft_ids = select(_invoice.c.id).where(_invoice.c.billing_run_id == run_id,
                                            _invoice.c.status == INVOICE_DRAFT)
    session = db.session
    session.execute(delete(_line).where(_line.c.invoice_id.in_(draft_ids)))
    session.execute(delete(_subtotal).where(_subtotal.c.invoice_id.in_(draft_ids)))
    session.execute(delete(_invoice).where(_invoice.c.billing_run_id == run_id, _invoice.c.status == INVOICE_DRAFT))


def _write_invoices(run_id, month, inputs, results, username, kind=REGULAR, extra=None) -> dict:
    """Invoices (ids back in order), then their lines and tax subtotals, in bulk."""
    created_at = now_jst()
    rows, run_totals = [], dict(usage_total=0, operator_discount_total=0, discount_total=0, fee_total=0,
                                adjustment_total=0, tax_total=0, total=0)
    for member_id, result in results:
        totals = _totals(result)
        rows.append(dict(billing_run_id=run_id, member_id=member_id, month=month, kind=kind, status=INVOICE_DRAFT,
                         payment_method=inputs.info[member_id].payment_method, created_at=created_at,
                         created_by=username, **totals, **(extra or {})))
        for key in ("usage_total", "operator_discount_total", "discount_total", "fee_total", "adjustment_total",
                    "total"):
            run_totals[key] += totals[key]
        run_totals["tax_total"] += totals["tax_amount"]
    if not rows:
        return run_totals
    ids = _reserve_invoice_ids(len(rows))
    columns = ("id", *rows[0])
    _bulk_insert(_invoice, columns, [(invoice_id, *row.values()) for invoice_id, row in zip(ids, rows)])
    lines, subtotals = [], []
    for invoice_id, (_, result) in zip(ids, results):
        position = 0
        for line in result.lines:
            charge = line.charge
            position += 1
            lines.append((invoice_id, position, charge.kind, charge.description[:200], charge.card_id, charge.amount,
                          charge.tax_category, charge.rule_id or None, line.breakdown))
        for subtotal in result.subtotals:
            subtotals.append((invoice_id, subtotal.category, subtotal.total_including_tax, subtotal.tax))
    _bulk_insert(_line, LINE_COLUMNS, lines)
    _bulk_insert(_subtotal, SUBTOTAL_COLUMNS, subtotals)
    run_totals["ids"] = ids
    return run_totals


LINE_COLUMNS = ("invoice_id", "position", "kind", "description", "card_id", "amount", "tax_category", "rule_id",
                "breakdown")
SUBTOTAL_COLUMNS = ("invoice_id", "category", "total_including_tax", "tax")


def _reserve_invoice_ids(count: int) -> list[int]:
    """Ids for `count` new invoices, so that lines can be written with them in the same bulk pass:
    from the table's sequence on PostgreSQL; on SQLite after the highest id (this transaction
    already holds SQLite's write lock: it deleted the draft rows)."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return list(db.session.scalars(text("SELECT nextval(pg_get_serial_sequence('invoice', 'id')) "
                                            "FROM generate_series(1, :n)").bindparams(n=count)))
    start = (db.session.scalar(select(func.max(_invoice.c.id))) or 0) + 1
    return list(range(start, start + count))


def _copy_value(value) -> str:
    """One field in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                .replace("\r", "\\r"))
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def _bulk_insert(table, columns: tuple, rows: list[tuple]) -> None:
    """Many rows through the database's bulk path on the session's connection (same transaction):
    COPY on PostgreSQL, the driver's executemany elsewhere."""
    if not rows:
        return
    connection = db.session.connection()
    cursor = connection.connection.dbapi_connection.cursor()
    if connection.dialect.name == "postgresql":
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for start in range(0, len(rows), 5000):  # text format built here: faster than write_row per row
                copy.write("".join("\t".join(map(_copy_value, row)) + "\n" for row in rows[start:start + 5000]))
    elif connection.dialect.paramstyle == "qmark":
        cursor.executemany(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                           rows)
    else:
        connection.execute(table.insert(), [dict(zip(columns, row)) for row in rows])


# ── warnings and review ───────────────────────────────────────────────────────────────────────


def billing_warnings(month: str) -> list[BillingWarning]:
    """What staff must look at before the close; `blocking` ones stop it. One pass over the month's
    usage rows counts the flagged ones; who is invoiced and which cards are used come from the draft
    when there is one (the close checks that the draft matches its inputs), else from the usage."""
    month = parse_month(month)
    session = db.session
    warnings = []
    batch_ids = _active_batch_ids(month)
    u = UsageRecord.__table__.c
    unregistered = no_member = after_loss = 0
    if batch_ids:
        unregistered_flag = u.flags.in_(flag_values(FLAG_UNREGISTERED_CARD))
        unregistered, no_member, after_loss = session.execute(
            select(func.coalesce(func.sum(case((unregistered_flag, 1), else_=0)), 0),
                   func.coalesce(func.sum(case((u.member_id.is_(None) & ~unregistered_flag, 1), else_=0)), 0),
                   func.coalesce(func.sum(case((u.flags.in_(flag_values(FLAG_USED_AFTER_LOSS)), 1), else_=0)), 0))
            .where(u.usage_month == month, u.batch_id.in_(batch_ids))).one()
    if unregistered:
        warnings.append(BillingWarning("unregistered_card", "未登録カードの走行明細があります。カードを登録するか、"
                                       "登録済みのカードに結び付けてください（走行明細 › 未登録カード）。",
                                       int(unregistered), True))
    if no_member:
        warnings.append(BillingWarning("usage_without_member", "組合員が決まらない走行明細があります"
                                       "（カードまたは組合員の設定を確認してください）。", int(no_member), True))
    if after_loss:
        warnings.append(BillingWarning("used_after_loss", "紛失・解約後に利用された走行明細があります"
                                       "（請求には含めます。不正利用でないか確認してください）。", int(after_loss),
                                       False, "alert"))
    run = session.scalar(select(BillingRun).where(BillingRun.month == month))
    if run is not None and run.recomputed_at is not None:
        member_ids = set(session.scalars(select(Invoice.member_id).where(Invoice.billing_run_id == run.id,
                                                                         Invoice.status != CANCELLED)))
        used_cards = set(session.scalars(
            select(_line.c.card_id).join(_invoice, _invoice.c.id == _line.c.invoice_id)
            .where(_invoice.c.billing_run_id == run.id, _line.c.kind == "usage").distinct()))
    else:
        member_ids, used_cards = set(), set()
        if batch_ids:
            for member_id, card_id in session.execute(
                    select(u.member_id, u.card_id).where(u.usage_month == month, u.batch_id.in_(batch_ids),
                                                         u.member_id.is_not(None)).distinct()):
                member_ids.add(member_id)
                used_cards.add(card_id)
    no_method, no_account = [], []
    if member_ids:
        query = select(Member.id, Member.code, Member.payment_method, Member.bank_code, Member.branch_code,
                       Member.account_type, Member.account_number, Member.account_holder_kana).order_by(Member.code)
        if len(member_ids) < 500:
            query = query.where(Member.id.in_(member_ids))
        for member_id, code, method, bank, branch, account_type, number, holder in session.execute(query):
            if member_id not in member_ids:
                continue
            if method not in PAYMENT_METHODS:
                no_method.append(code)
            elif method == DIRECT_DEBIT and not (bank and branch and account_type and number and holder):
                no_account.append(code)
    if no_method:
        warnings.append(BillingWarning("no_payment_method", "支払方法が未設定の組合員があります: "
                                       + _codes(no_method), len(no_method), True))
    if no_account:
        warnings.append(BillingWarning("incomplete_bank_account", "口座振替なのに口座情報（銀行・支店・預金種目・"
                                       "口座番号・名義カナ）が揃っていない組合員があります: " + _codes(no_account),
                                       len(no_account), True))
    idle = sum(1 for cards in _active_cards(month).values() for card_id, _, _ in cards if card_id not in used_cards)
    if idle:
        warnings.append(BillingWarning("cards_without_usage", "当月の利用がないカードにもカード管理料などを"
                                       "請求します。", idle, False, "info"))
    return warnings


def _codes(codes: list[str], limit: int = 10) -> str:
    text = "、".join(codes[:limit])
    return text + (f" ほか{len(codes) - limit}件" if len(codes) > limit else "")


def _effective_invoices(month: str):
    """The month's invoices that count: the draft or issued ones, without those a correction cancelled."""
    return select(Invoice).where(Invoice.month == month, Invoice.status != CANCELLED)


def review(month: str) -> Review:
    month = parse_month(month)
    session = db.session
    run = session.scalar(select(BillingRun).where(BillingRun.month == month))
    previous = _previous_month(month)
    last_totals = dict(session.execute(select(Invoice.member_id, func.sum(Invoice.total))
                                       .where(Invoice.month == previous, Invoice.status != CANCELLED)
                                       .group_by(Invoice.member_id)).all())
    totals = ReviewTotals()
    rows = []
    query = (select(Invoice, Member.code, Member.name).join(Member, Member.id == Invoice.member_id)
             .where(Invoice.month == month, Invoice.status != CANCELLED).order_by(Member.code, Invoice.id))
    for invoice, code, name in session.execute(query):
        last = last_totals.get(invoice.member_id)
        rows.append(ReviewRow(invoice.member_id, code, name, invoice.id, invoice.number, invoice.kind, invoice.status,
                              invoice.usage_total, invoice.discount_total, invoice.fee_total, invoice.adjustment_total,
                              invoice.tax_amount, invoice.total, int(last) if last is not None else None,
                              invoice.total - int(last) if last is not None else None))
        totals.usage += invoice.usage_total
        totals.operator_discounts_received += invoice.operator_discount_total
        totals.member_discounts += invoice.discount_total
        totals.fees += invoice.fee_total
        totals.adjustments += invoice.adjustment_total
        totals.tax += invoice.tax_amount
        totals.total += invoice.total
        totals.invoice_count += 1
    if run is not None:
        totals.operator_discounts_received += run.contract_discount_total
    return Review(month, run, totals, rows, billing_warnings(month))


def _previous_month(month: str) -> str:
    from app.domain.billing_dates import add_months

    return add_months(month, -1)


# ── the close ─────────────────────────────────────────────────────────────────────────────────


def _next_numbers(count: int) -> list[str]:
    """`count` numbers from the one gap-free sequence. The counter row is locked (FOR UPDATE) until
    the calling transaction ends, and rolls back with it, so no number is lost or handed out twice."""
    session = db.session
    table = InvoiceNumberCounter.__table__
    last = session.scalar(select(table.c.last_value).where(table.c.name == COUNTER_NAME).with_for_update())
    if last is None:
        session.execute(insert(table).values(name=COUNTER_NAME, last_value=0))
        last = session.scalar(select(table.c.last_value).where(table.c.name == COUNTER_NAME).with_for_update())
    if count:
        session.execute(update(table).where(table.c.name == COUNTER_NAME).values(last_value=last + count))
    return [format_invoice_number(last + i) for i in range(1, count + 1)]


def format_invoice_number(value: int) -> str:
    return f"{value:0{NUMBER_DIGITS}d}"


def _operator_dates(month: str) -> tuple[dt.date, dt.date]:
    settings = db.session.query(OperatorSettings).first()
    invoice_day = (settings.invoice_day if settings and settings.invoice_day else 20)
    debit_day = (settings.debit_day if settings and settings.debit_day else DEFAULT_DEBIT_DAY)
    offset = settings.debit_month_offset if settings and settings.debit_month_offset is not None else 2
    return invoice_date_for(month, invoice_day), debit_date_for(month, debit_day, offset)


def close_billing_run(month: str, closed_by: str) -> BillingRun:
    """Number, date and issue the month's invoices, mark what they billed, close the month."""
    month = parse_month(month)
    session = db.session
    try:
        run = _lock_run(month)
        if run is None:
            raise DomainError(f"{month} の請求の下書きがありません。先に請求の下書きを作成してください（画面の「下書きを作成・再計算」または flask etc bill {month}）。")
        if run.status != DRAFT:
            raise DomainError(f"{month} は締め済みです（{run.closed_at:%Y/%m/%d %H:%M} {run.closed_by}）。")
        reasons = [str(w) for w in billing_warnings(month) if w.blocking]
        earlier = session.scalars(select(BillingRun.month).where(BillingRun.month < month, BillingRun.status == DRAFT)
                                  .order_by(BillingRun.month)).all()
        if earlier:
            reasons.append(f"前の月（{'、'.join(earlier)}）がまだ締められていません。古い月から締めてください。")
        inputs = _gather(month)
        if inputs.fingerprint() != run.input_fingerprint:
            reasons.append("下書きの作成後に走行明細・カード・異動・訂正・料金表などが変わりました。"
                           f"下書きを再計算してから締めてください（画面の「下書きを作成・再計算」または flask etc bill {month}）。")
        if reasons:
            raise DomainError(f"{month} は締められません:\n" + "\n".join(f"・{r}" for r in reasons))
        invoice_date, debit_date = _operator_dates(month)
        ids = session.scalars(select(Invoice.id).join(Member, Member.id == Invoice.member_id)
                              .where(Invoice.billing_run_id == run.id, Invoice.status == INVOICE_DRAFT)
                              .order_by(Member.code, Invoice.id)).all()
        numbers = _next_numbers(len(ids))
        issued_at = now_jst()
        if ids:
            session.execute(update(_invoice).where(_invoice.c.id == bindparam("invoice_id"))
                            .values(number=bindparam("new_number"), status=ISSUED, invoice_date=invoice_date,
                                    debit_date=debit_date, issued_at=issued_at),
                            [dict(invoice_id=i, new_number=n) for i, n in zip(ids, numbers)])
        _, last = month_first_last(month)
        if inputs.event_ids:
            session.execute(update(CardEvent.__table__).where(CardEvent.__table__.c.id.in_(inputs.event_ids))
                            .values(fee_billed=True, billed_month=month))
        billed = session.execute(select(_line.c.invoice_id, _line.c.rule_id)
                                 .join(_invoice, _invoice.c.id == _line.c.invoice_id)
                                 .where(_invoice.c.billing_run_id == run.id, _line.c.kind == "adjustment",
                                        _line.c.rule_id.like("adjustment:%"))).all()
        if billed:
            adjustments = InvoiceAdjustment.__table__
            session.execute(update(adjustments).where(adjustments.c.id == bindparam("adjustment_id"))
                            .values(billed_invoice_id=bindparam("invoice_id_")),
                            [dict(adjustment_id=int(rule.split(":", 1)[1]), invoice_id_=invoice_id)
                             for invoice_id, rule in billed])
        run.status = CLOSED
        run.closed_at = issued_at
        run.closed_by = closed_by
        session.commit()
    except Exception:
        session.rollback()
        raise
    return run


# ── corrections ───────────────────────────────────────────────────────────────────────────────


def _issued_invoice(invoice_id: int) -> Invoice:
    invoice = db.session.get(Invoice, invoice_id, with_for_update=True)
    if invoice is None:
        raise DomainError("請求書が見つかりません。")
    if invoice.status == CANCELLED:
        replacement = (db.session.get(Invoice, invoice.cancelled_by_invoice_id)
                       if invoice.cancelled_by_invoice_id else None)
        where = f"訂正後の請求書 {replacement.number}" if replacement is not None else "訂正後の請求書"
        raise DomainError(f"請求書 {invoice.number} は訂正により取り消されています。{where}に対して行ってください。")
    if invoice.status != ISSUED:
        raise DomainError("発行前（下書き）の請求書は訂正できません。請求処理をやり直してください。")
    return invoice


def add_adjustment(invoice_id: int, amount: int, description: str, created_by: str) -> InvoiceAdjustment:
    """An extra charge (+) or a credit (−) against an issued invoice, billed on the member's invoice
    of the next open month (its line names the original number). The original never changes."""
    session = db.session
    try:
        invoice = _issued_invoice(invoice_id)
        if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
            raise DomainError("訂正額は0以外の整数（円）です（追加請求は正、返金・減額は負）。", "amount")
        description = (description or "").strip()
        if not description:
            raise DomainError("訂正の内容（理由）を入力してください。", "description")
        adjustment = InvoiceAdjustment(original_invoice_id=invoice.id, member_id=invoice.member_id, amount=amount,
                                       description=description[:200], created_by=created_by, created_at=now_jst())
        session.add(adjustment)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return adjustment


def adjustments_for(invoice_id: int) -> list[InvoiceAdjustment]:
    """Corrections against the invoice, and those it billed (both sides show them)."""
    return list(db.session.scalars(select(InvoiceAdjustment).where(or_(
        InvoiceAdjustment.original_invoice_id == invoice_id, InvoiceAdjustment.billed_invoice_id == invoice_id))
        .order_by(InvoiceAdjustment.id)))


def _correction_chain(invoice: Invoice) -> list[int]:
    """The invoice and every invoice it corrects, back to the regular one."""
    chain, current = [], invoice
    while current is not None:
        chain.append(current.id)
        current = db.session.get(Invoice, current.corrects_invoice_id) if current.corrects_invoice_id else None
    return chain


def reissue_invoice(invoice_id: int, reason: str, created_by: str) -> Invoice:
    """A corrected invoice (new number from the same sequence), recomputed from the month's data with
    the month's tariff; the original is marked cancelled and points at it. Amounts of the original
    never change."""
    session = db.session
    try:
        original = _issued_invoice(invoice_id)
        reason = (reason or "").strip()
        if not reason:
            raise DomainError("訂正の理由を入力してください。", "reason")
        inputs = _gather(original.month, reissue_of=original)
        member = inputs.members.get(original.member_id)
        if member is None:
            raise DomainError("この組合員の当月のデータがありません。")
        result = calculate_invoice(member, inputs.rules)
        issued_at = now_jst()
        totals = _write_invoices(original.billing_run_id, original.month, inputs, [(original.member_id, result)],
                                 created_by, kind=CORRECTED,
                                 extra=dict(corrects_invoice_id=original.id, correction_reason=reason[:200]))
        new_id = totals["ids"][0]
        number = _next_numbers(1)[0]
        invoice_date = issued_at.date()
        session.execute(update(_invoice).where(_invoice.c.id == new_id).values(
            number=number, status=ISSUED, invoice_date=invoice_date, debit_date=original.debit_date,
            issued_at=issued_at))
        original.status = CANCELLED
        original.cancelled_by_invoice_id = new_id
        session.commit()
    except Exception:
        session.rollback()
        raise
    return session.get(Invoice, new_id)


# ── the operator's check: computed vs reported discounts, margin ─────────────────────────────


def operator_check(month: str) -> OperatorCheck:
    month = parse_month(month)
    session = db.session
    rules = rules_for_month(month)
    usage_rows = _usage_groups(month)
    reports = session.execute(select(OperatorDiscountReport.road_operator, OperatorDiscountReport.card_number,
                                     func.sum(OperatorDiscountReport.amount))
                              .where(OperatorDiscountReport.month == month)
                              .group_by(OperatorDiscountReport.road_operator, OperatorDiscountReport.card_number)).all()
    member_codes = dict(session.execute(select(Member.id, Member.code)).all()) if usage_rows else {}
    card_member = {usage.card_id: member_id for member_id, usage in usage_rows}

    def reported_for(rule, card_number: str) -> int | None:
        wanted = str(rule.params.get("road_operator") or "")
        amounts = [int(amount) for road, number, amount in reports
                   if (road or "").startswith(wanted) and (number == card_number or (
                       card_number and len(number) == 15 and card_number.startswith(number)))]
        return sum(amounts) if amounts else None

    rows = []
    for rule in (r for r in rules if r.type == "vehicle_discount"):
        for usage in _vehicle_discount_groups(rule, [u for _, u in usage_rows]):
            computed, _ = vehicle_discount_for(usage, rule, month)
            reported = reported_for(rule, usage.card_number)
            rows.append(OperatorCheckRow(rule.rule_id, usage.road_operator, usage.card_id, usage.card_number,
                                         member_codes.get(card_member.get(usage.card_id), ""), usage.discount_base,
                                         computed, reported, None if reported is None else reported - computed))
    for rule in (r for r in rules if r.type == "contract_discount"):
        received, _ = _contract_shares(usage_rows, [rule], {})
        wanted = str(rule.params.get("road_operator") or "")
        base = sum(u.discount_base for _, u in usage_rows
                   if u.road_operator.startswith(wanted) and rule.scope.matches_card(u.card_kind))
        reported = reported_for(rule, "")
        rows.append(OperatorCheckRow(rule.rule_id, str(rule.params.get("road_operator") or ""), None, "", "", base,
                                     received, reported, None if reported is None else reported - received))
    received = sum(row.reported if row.reported is not None else row.computed for row in rows)
    passed_on, fees = session.execute(select(func.coalesce(func.sum(Invoice.discount_total), 0),
                                             func.coalesce(func.sum(Invoice.fee_total), 0))
                                      .where(Invoice.month == month, Invoice.status != CANCELLED)).one()
    differences = sum(1 for row in rows if row.difference)
    return OperatorCheck(month, rows, received, int(passed_on), int(fees), received - int(passed_on) + int(fees),
                         differences)

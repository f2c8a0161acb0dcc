"""What a month's invoices are computed from: usage rows (one SQL GROUP BY), card histories, card
events, pending corrections, credits to carry, members, the tariff valid that month. `gather(month)`
reads them all; `Inputs.fingerprint()` is what the close (and the review page) compare with the
draft's.

This module only reads rows. Every decision about money is the domain's: the discount bases and
不課税 parts (app.domain.discount_base), the cards in force (app.domain.cards_in_force), the billable
events and correction lines (app.domain.billable_events), the contract aggregation
(app.domain.pricing.contract_discount)."""
import hashlib
from dataclasses import dataclass, field

from sqlalchemy import case, func, or_, select, text

from app.domain.billable_events import MASTER_IMPORT_NOTE, EventRecord, adjustment_charge, is_billable_by
from app.domain.billing_dates import month_first_last
from app.domain.cards_in_force import (ISSUING_EVENTS, STOPPING_EVENTS, CardEventRecord, CardHistory,
                                       cards_in_force)
from app.domain.discount_base import UsageGroup, is_etc2_commercial, member_usages
from app.domain.invoice_calculation import CardEventFee, CarriedCredit, MemberMonth, carried_invoice_id
from app.domain.pricing.contract_discount import contract_shares
from app.domain.pricing.non_taxable_usage import NonTaxableUsage
from app.extensions import db
from app.models import Agency, Card, CardEvent, Member, Vehicle
from app.models.billing import ISSUED, BillingRun, Invoice, InvoiceAdjustment, InvoiceLine
from app.models.payment import DebitResultImport, Payment, WriteOff
from app.models.tariff import TariffRule
from app.models.usage import BATCH_ACTIVE, NOT_BILLED_FLAGS, IcMaster, ImportBatch, UsageRecord

from ..tariff import rules_for_month


@dataclass
class MemberInfo:
    id: int
    code: str
    name: str
    group: str | None
    agency_code: str | None
    payment_method: str


@dataclass
class Inputs:
    month: str
    rules: list
    members: dict  # member id → MemberMonth
    info: dict  # member id → MemberInfo
    usage_rows: list  # (member_id, CardUsage)
    contract_total: int  # 契約単位割引 received, computed
    event_ids: list
    contract_results: list = field(default_factory=list)  # ContractResult per contract_discount rule
    groups: list | None = None  # the month's UsageGroups (all members): the warnings count from them

    def cards_in_force(self) -> dict[int, list[tuple[int, str, str]]]:
        return {member_id: member.active_cards for member_id, member in self.members.items()}

    def fingerprint(self) -> str:
        """SHA-256 of everything the draft is computed from (plain tuples: cheap to print)."""
        parts = [repr(self.rules)]
        for member_id in sorted(self.members):
            member = self.members[member_id]
            info = self.info[member_id]
            parts.append(repr((member_id, info.code, info.group, info.agency_code, info.payment_method,
                               sorted((u.card_id, u.road_operator, u.card_number, u.card_kind, u.amount_billed,
                                       u.discount_base, u.rows, u.etc2_commercial, u.general_toll_base,
                                       u.public_corp_base, u.amount_before_discount) for u in member.usages),
                               sorted((n.card_id, n.rule_id, n.amount, n.rows) for n in member.non_taxable),
                               sorted(member.active_cards),
                               sorted((e.event_id, e.kind, e.card_id) for e in member.events),
                               member.contract_discount_share,
                               [(a.rule_id, a.amount, a.description) for a in member.adjustments],
                               sorted((c.invoice_id, c.amount) for c in member.carried_credits))))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def active_batch_ids(month: str) -> list[int]:
    return list(db.session.scalars(select(ImportBatch.id).where(ImportBatch.usage_month == month,
                                                                ImportBatch.status == BATCH_ACTIVE)))


def billable_rows(month: str, batch_ids: list[int]):
    """The WHERE of the month's billable usage rows (CONTRACTS.md): a member and a card, an active
    batch, no flag in NOT_BILLED_FLAGS (重複の疑い, 期ずれ)."""
    u = UsageRecord.__table__.c
    # `flags = 0 OR …`: the same rows, but PostgreSQL estimates `flags = 0` from its statistics (most rows),
    # where `flags & n = 0` alone is guessed at 0.5% of the rows and the GROUP BY planned for a few groups.
    return (u.usage_month == month, u.batch_id.in_(batch_ids), u.member_id.is_not(None), u.card_id.is_not(None),
            or_(u.flags == 0, u.flags.op("&")(NOT_BILLED_FLAGS) == 0))


def usage_groups(month: str, non_taxable_kinds=()) -> list[UsageGroup]:
    """The month's billable rows as UsageGroups: ONE GROUP BY over every field the domain looks at
    (card, operator, 備考, 平日朝夕), amounts summed. Rows whose IC a non_taxable_usage rule names
    are read one by one with their ICs (they are few: the 関西空港 toll gate)."""
    batch_ids = active_batch_ids(month)
    if not batch_ids:
        return []
    u = UsageRecord.__table__.c
    where = billable_rows(month, batch_ids)
    ic_names = sorted({name for kind in non_taxable_kinds for name in kind.ic_names})
    by_ic = or_(u.entry_ic.in_(ic_names), u.exit_ic.in_(ic_names)) if ic_names else None
    keys = (u.member_id, u.card_id, u.road_operator, u.remarks, u.peak_time)
    sums = (func.sum(u.amount_billed).label("billed"), func.count().label("rows"),
            func.sum(u.amount_general_toll).label("general"), func.sum(u.amount_public_corp).label("public"),
            func.sum(u.amount_before_discount).label("before"),
            func.count(u.amount_before_discount).label("with_before"))
    grouped = select(*keys, *sums).where(*where)
    if by_ic is not None:
        grouped = grouped.where(~func.coalesce(by_ic, False))
    grouped = grouped.group_by(*keys)
    if db.session.connection().dialect.name == "postgresql":
        # The month's groups (≈160,000 at 1,000,000 rows) hashed in memory rather than sorted on disk (4 MB
        # default), for the rest of this transaction; then ordered by member and card. The domain sorts
        # the groups by member, card and operator (member_usages): Python sorts a nearly sorted list in one
        # pass, a hash aggregate's order in n log n tuple comparisons (≈1 s for 160,000 groups), and the
        # database sorts the integers in a fraction of that. (SQLite groups through a B-tree on the keys:
        # its groups come out in that order already, and an ORDER BY would make it sort them again.)
        db.session.execute(text("SET LOCAL work_mem = '64MB'"))
        grouped = grouped.order_by(u.member_id, u.card_id)
    sums_by_key = db.session.execute(grouped).all()
    cards = _card_facts({row[1] for row in sums_by_key})
    groups = []
    for member_id, card_id, road, remarks, peak, billed, rows, general, public, before, with_before in sums_by_key:
        number, kind, etc2 = cards[card_id]
        groups.append(UsageGroup(member_id, card_id, number, kind, road, int(billed or 0), int(rows), remarks,
                                 bool(peak), None, int(general or 0), int(public or 0),
                                 int(before) if with_before == rows and before is not None else None, etc2))
    if by_ic is not None:
        query = (select(u.member_id, u.card_id, u.road_operator, u.remarks, u.peak_time, u.amount_billed,
                        u.amount_general_toll, u.amount_public_corp, u.amount_before_discount, u.entry_ic, u.exit_ic,
                        Card.number, Card.kind, Vehicle.is_etc2, Vehicle.is_commercial)
                 .join(Card, Card.id == u.card_id).outerjoin(Vehicle, Vehicle.id == Card.vehicle_id)
                 .where(*where, by_ic))
        for (member_id, card_id, road, remarks, peak, billed, general, public, before, entry_ic, exit_ic, number,
             kind, etc2, commercial) in db.session.execute(query):
            groups.append(UsageGroup(member_id, card_id, number, kind, road, int(billed), 1, remarks, bool(peak), None,
                                     int(general or 0), int(public or 0), before,
                                     is_etc2_commercial(etc2, commercial), entry_ic, exit_ic))
    return groups


def _card_facts(card_ids: set) -> dict[int, tuple[str, str, bool]]:
    """card id → (number, kind, ETC2.0 事業用) for the cards with usage (one query; the card table is small)."""
    query = (select(Card.id, Card.number, Card.kind, Vehicle.is_etc2, Vehicle.is_commercial)
             .outerjoin(Vehicle, Vehicle.id == Card.vehicle_id))
    if len(card_ids) < 1000:
        query = query.where(Card.id.in_(card_ids or {0}))
    return {card_id: (number, kind, is_etc2_commercial(etc2, commercial))
            for card_id, number, kind, etc2, commercial in db.session.execute(query) if card_id in card_ids}


def card_histories(month: str, member_ids: set | None = None) -> dict[int, list[CardHistory]]:
    """Every card that could be in force in the month (issued by its end, not expired before its
    start), with its stopping events; the domain decides (cards_in_force)."""
    first, last = month_first_last(month)
    query = (select(Card.member_id, Card.id, Card.number, Card.kind, Card.valid_from, Card.valid_until)
             .where(or_(Card.valid_from.is_(None), Card.valid_from <= last),
                    or_(Card.valid_until.is_(None), Card.valid_until >= first)))
    if member_ids is not None:
        query = query.where(Card.member_id.in_(member_ids))
    rows = db.session.execute(query).all()
    events: dict[int, list] = {}
    if rows:
        # Only the events the domain can use: stops and replacements, and the issue of a card with no
        # valid_from (the many issue events of dated cards would be read for nothing).
        event_query = (select(CardEvent.card_id, CardEvent.kind, CardEvent.occurred_on, CardEvent.new_card_id)
                       .join(Card, Card.id == CardEvent.card_id)
                       .where(or_(CardEvent.kind.in_(STOPPING_EVENTS), CardEvent.new_card_id.is_not(None),
                                  Card.valid_from.is_(None) & CardEvent.kind.in_(ISSUING_EVENTS))))
        if member_ids is not None:
            event_query = event_query.where(CardEvent.card_id.in_([row[1] for row in rows]))
        for card_id, kind, occurred_on, new_card_id in db.session.execute(event_query):
            events.setdefault(card_id, []).append(CardEventRecord(kind, occurred_on, new_card_id is not None))
    cards: dict[int, list] = {}
    for member_id, card_id, number, kind, valid_from, valid_until in rows:
        cards.setdefault(member_id, []).append(
            CardHistory(card_id, number, kind, valid_from, valid_until, tuple(events.get(card_id, ()))))
    return cards


def active_cards(month: str, member_ids: set | None = None) -> dict[int, list[tuple[int, str, str]]]:
    """The cards in force in the month per member (app.domain.cards_in_force): recomputing a past
    month gives the cards it had."""
    return {member_id: [(c.card_id, c.number, c.kind) for c in cards_in_force(histories, month)]
            for member_id, histories in card_histories(month, member_ids).items()}


def _events(month: str, reissue_member_id: int | None = None) -> list[tuple]:
    """(event id, member id, kind, card id, card number, card kind) of the events whose fee the month
    bills (app.domain.billable_events); for a reissue: the events the month billed."""
    _, last = month_first_last(month)
    query = (select(CardEvent.id, CardEvent.member_id, CardEvent.kind, CardEvent.card_id, Card.number, Card.kind,
                    CardEvent.occurred_on, CardEvent.fee_billed, CardEvent.note)
             .join(Card, Card.id == CardEvent.card_id))
    if reissue_member_id is not None:
        rows = db.session.execute(query.where(CardEvent.billed_month == month,
                                              CardEvent.member_id == reissue_member_id)).all()
        return [row[:6] for row in rows]
    # The WHERE only narrows what is read (master-import events are most of the table); is_billable decides.
    rows = db.session.execute(query.where(CardEvent.fee_billed.is_(False), CardEvent.occurred_on <= last,
                                          or_(CardEvent.note.is_(None), CardEvent.note != MASTER_IMPORT_NOTE))).all()
    return [row[:6] for row in rows if is_billable_by(EventRecord(row[0], row[6], row[7], row[8]), last)]


def _adjustment_charges(month: str, billed_on: list[int] | None = None) -> dict[int, list]:
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
    charges: dict[int, list] = {}
    for adjustment_id, member_id, amount, description, number in db.session.execute(query):
        charges.setdefault(member_id, []).append(adjustment_charge(adjustment_id, amount, description, number))
    return charges


def _carried_credits(month: str, reissue_of: int | None = None) -> dict[int, list[CarriedCredit]]:
    """Issued credits (total < 0) of earlier months not yet carried, and unpaid balances (receivables); for a
    reissue, what the reissued invoice carried."""
    if reissue_of is not None:
        return _carried_by(reissue_of)
    query = select(Invoice.id, Invoice.member_id, Invoice.number, Invoice.month, Invoice.total).where(
        Invoice.status == ISSUED, Invoice.total < 0, Invoice.month < month,
        Invoice.credit_carried_to_invoice_id.is_(None))
    rows = db.session.execute(query).all()
    from ..transfers import received_by_invoice

    # Money received on a credit (a debit collected before a correction turned the invoice into one) is
    # carried with it: the balance is the credit less what came in.
    received = received_by_invoice([row[0] for row in rows]) if rows else {}
    credits: dict[int, list] = {}
    for invoice_id, member_id, number, credit_month, total in rows:
        credits.setdefault(member_id, []).append(
            CarriedCredit(invoice_id, number, credit_month, int(total) - received.get(invoice_id, 0)))
    from ..receivables import unpaid_balances  # issue 11: unpaid balances ride the same carry-over

    for member_id, balances in unpaid_balances(month).items():
        credits.setdefault(member_id, []).extend(balances)
    return credits


def _carried_by(invoice_id: int) -> dict[int, list[CarriedCredit]]:
    """The balances an issued invoice carried, as it billed them (its carried lines): its reissue carries the
    same, not the carried invoices' balances of today — a correction of one of them keeps what was carried and
    carries only the difference into the next open month (receivables.unpaid_balances), so recomputing it here
    would bill that difference twice."""
    line, source = InvoiceLine.__table__, Invoice.__table__.alias("source")
    rows = db.session.execute(
        select(Invoice.member_id, line.c.rule_id, line.c.amount)
        .join(line, line.c.invoice_id == Invoice.id)
        .where(Invoice.id == invoice_id, line.c.kind == "carried_over", line.c.rule_id.like("carried:%"))
        .order_by(line.c.position)).all()
    ids = [carried_invoice_id(rule_id) for _, rule_id, _ in rows]
    names = dict((i, (number, month)) for i, number, month in db.session.execute(
        select(source.c.id, source.c.number, source.c.month).where(source.c.id.in_(ids or [0]))))
    credits: dict[int, list] = {}
    for (member_id, _, amount), carried_id in zip(rows, ids):
        credits.setdefault(member_id, []).append(CarriedCredit(carried_id, *names[carried_id], int(amount)))
    return credits


def _member_infos(member_ids: set) -> dict[int, MemberInfo]:
    infos = {}
    query = (select(Member.id, Member.code, Member.name, Member.member_group, Agency.code, Member.payment_method)
             .outerjoin(Agency, Agency.id == Member.agency_id))
    if len(member_ids) < 500:
        query = query.where(Member.id.in_(member_ids or {0}))
    for member_id, code, name, group, agency, payment in db.session.execute(query):
        if member_id in member_ids:
            infos[member_id] = MemberInfo(member_id, code, name, group, agency, payment)
    return infos


def gather(month: str, reissue_of: Invoice | None = None, rules=None) -> Inputs:
    """The month's inputs. `rules`: the rule versions to bill with, instead of the stored ones (the
    tariff revision's preview computes the month with the revised tariff without saving it)."""
    rules = rules_for_month(month) if rules is None else rules
    non_taxable = [NonTaxableUsage(r) for r in rules if r.type == NonTaxableUsage.name]
    groups = usage_groups(month, non_taxable)
    usage = member_usages(groups, non_taxable)
    only = reissue_of.member_id if reissue_of is not None else None
    events = _events(month, only)
    if reissue_of is not None:
        chain = correction_chain(reissue_of)
        adjustments = _adjustment_charges(month, billed_on=chain)
        credits = _carried_credits(month, reissue_of=reissue_of.id)
    else:
        adjustments = _adjustment_charges(month)
        credits = _carried_credits(month)
    cards = active_cards(month, {only} if only is not None else None)
    member_ids = set(usage) | {e[1] for e in events} | set(cards) | set(adjustments) | set(credits)
    infos = _member_infos(member_ids)
    contract_results, shares = contract_shares(
        rules, {m: u.usages for m, u in usage.items() if m in infos},
        {m: (i.code, i.group, i.agency_code) for m, i in infos.items()})
    members: dict[int, MemberMonth] = {}
    wanted = member_ids if only is None else {only}
    for member_id in wanted:
        info = infos.get(member_id)
        if info is None:
            continue
        mine = usage.get(member_id)
        members[member_id] = MemberMonth(info.code, info.group, info.agency_code, month,
                                         list(mine.usages) if mine else [], cards.get(member_id, []), [],
                                         shares.get(member_id, 0), adjustments.get(member_id, []),
                                         list(mine.non_taxable) if mine else [], credits.get(member_id, []))
    for event_id, member_id, kind, card_id, number, card_kind in events:
        if member_id in members:
            members[member_id].events.append(CardEventFee(event_id, kind, card_id, number, card_kind))
    usage_rows = [(m, u) for m, mu in sorted(usage.items()) for u in mu.usages]
    return Inputs(month, rules, members, infos, usage_rows, sum(r.discount for r in contract_results),
                  [e[0] for e in events], contract_results, groups)


def correction_chain(invoice: Invoice) -> list[int]:
    """The invoice and every invoice it corrects, back to the regular one."""
    chain, current = [], invoice
    while current is not None:
        chain.append(current.id)
        current = db.session.get(Invoice, current.corrects_invoice_id) if current.corrects_invoice_id else None
    return chain


def input_stamp(month: str) -> str:
    """A cheap summary of what `gather(month)` reads, stored with the draft and compared by the review page
    on every view (「入力が変わりました — 再計算してください」, close disabled) — milliseconds, where the
    fingerprint costs a pass over the month's usage (the close still checks that one).

    It changes with: the month's batches (an import, a replacement, a deletion: id, status, rows, amount);
    its flagged rows (assigning 未登録カード rows, confirming 重複の疑い / 期ずれ, through ix_usage_flags);
    members, agencies, cards, vehicles, the IC master and the tariff (count, last change, last id); card
    events (count, last id, how many billed) and corrections (count, last id, how many billed); and what the
    carried balances (前月未収額 / 前月繰越（貸方）, receivables.unpaid_balances) depend on: payments, the banks'
    results, 振込の消込完了, write-off decisions and corrected invoices (`_carry_stamp`). A change that does not
    alter the amounts still asks for a recomputation: that is the safe side."""
    session = db.session
    b = ImportBatch.__table__.c
    u = UsageRecord.__table__.c
    parts = [month,
             session.execute(select(b.id, b.status, b.row_count, b.total_billed, b.flagged_count)
                             .where(b.usage_month == month).order_by(b.id)).all(),
             session.execute(select(u.flags, func.count(), func.coalesce(func.sum(u.card_id), 0))
                             .where(u.usage_month == month, u.flags > 0).group_by(u.flags).order_by(u.flags)).all()]
    for model in (Member, Agency, Card, Vehicle, IcMaster, TariffRule):
        parts.append(tuple(session.execute(select(func.count(), func.max(model.updated_at), func.max(model.id))).one()))
    parts.append(tuple(session.execute(select(func.count(), func.max(CardEvent.id),
                                              func.coalesce(func.sum(case((CardEvent.fee_billed, 1), else_=0)), 0))
                                       ).one()))
    parts.append(tuple(session.execute(select(func.count(), func.max(InvoiceAdjustment.id),
                                              func.count(InvoiceAdjustment.billed_invoice_id))).one()))
    parts.append(_carry_stamp(session))
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _carry_stamp(session) -> tuple:
    """One query, each part an index lookup or a tiny table, never a pass over a large one: the last payment
    (max of the primary key: a payment is only ever added — a correction moves them, and the correction is
    counted below), the last result file (debit_result_import's primary key: a failure records no payment, only
    its result code, written by that import), the last correction (max invoice.cancelled_by_invoice_id through
    ix_invoice_cancelled_by_invoice_id: set on the original by every reissue, always the newest invoice id; it
    also covers the payments and write-offs a reissue moves), the months whose transfers were declared matched
    (billing_run: one row per month) and the write-off decisions (write_off: one row per request, a handful;
    approving, rejecting or a withdrawal by a correction each set decided_at, once)."""
    return tuple(session.execute(select(
        select(func.max(Payment.id)).scalar_subquery(),
        select(func.max(DebitResultImport.id)).scalar_subquery(),
        select(func.max(Invoice.cancelled_by_invoice_id)).scalar_subquery(),
        select(func.count(BillingRun.transfers_reconciled_at)).scalar_subquery(),
        select(func.count(WriteOff.decided_at)).scalar_subquery())).one())

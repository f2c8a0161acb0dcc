"""What a month's invoices are computed from: usage (one SQL GROUP BY), cards in force, card events
to bill, pending corrections, members, the tariff valid that month. `gather(month)` reads them all;
`Inputs.fingerprint()` is what the close (and the review page) compare with the draft's."""
import hashlib
from dataclasses import dataclass, field

from sqlalchemy import case, func, or_, select

from app.domain.billing_dates import month_first_last
from app.domain.invoice_calculation import CardEventFee, CardUsage, MemberMonth, allocate_pro_rata
from app.domain.pricing.breakdown import TAXABLE_10, Charge
from app.domain.pricing.contract import contract_discount
from app.domain.pricing.member_share import pass_through
from app.extensions import db
from app.models import Agency, Card, CardEvent, Member, Vehicle
from app.models.billing import Invoice, InvoiceAdjustment
from app.models.usage import BATCH_ACTIVE, ImportBatch, UsageRecord

from ..tariff import rules_for_month

MASTER_IMPORT_NOTE = "マスタ取込（Excel）"  # app.services.master_import.EVENT_NOTE: billed by the previous system
MISMATCH_TEXT, MISMATCH_CODE = "車両不一致", "02"  # remarks text, or the nexco-fixed 摘要 code (§1.1)


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


def active_batch_ids(month: str) -> list[int]:
    return list(db.session.scalars(select(ImportBatch.id).where(ImportBatch.usage_month == month,
                                                                ImportBatch.status == BATCH_ACTIVE)))


def usage_groups(month: str) -> list[tuple[int, CardUsage]]:
    """(member id, CardUsage) per member × card × road operator, from ONE GROUP BY over the month's
    rows in active batches; card number, kind and ETC2.0 事業用 come from a join on the groups."""
    batch_ids = active_batch_ids(month)
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


def active_cards(month: str, member_ids: set | None = None) -> dict[int, list[tuple[int, str, str]]]:
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


def contract_shares(usage_rows, rules, infos) -> tuple[int, dict[int, int]]:
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


def gather(month: str, reissue_of: Invoice | None = None) -> Inputs:
    rules = rules_for_month(month)
    usage_rows = usage_groups(month)
    only = reissue_of.member_id if reissue_of is not None else None
    events = db.session.execute(_event_query(month, only)).all()
    if reissue_of is not None:
        adjustments = _adjustment_charges(month, billed_on=correction_chain(reissue_of))
    else:
        adjustments = _adjustment_charges(month)
    cards = active_cards(month, {only} if only is not None else None)
    member_ids = {m for m, _ in usage_rows} | {e[1] for e in events} | set(cards) | set(adjustments)
    infos = _member_infos(member_ids)
    contract_total, shares = contract_shares(usage_rows, rules, infos)
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
    return Inputs(month, rules, members, infos, usage_rows, contract_total, [e[0] for e in events])



def correction_chain(invoice: Invoice) -> list[int]:
    """The invoice and every invoice it corrects, back to the regular one."""
    chain, current = [], invoice
    while current is not None:
        chain.append(current.id)
        current = db.session.get(Invoice, current.corrects_invoice_id) if current.corrects_invoice_id else None
    return chain


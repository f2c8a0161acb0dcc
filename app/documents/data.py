"""Everything the four member documents of one invoice need, read once: `load_invoice_documents`.

The result is frozen dataclasses of plain values (str, int, date, datetime, bytes, tuples), no ORM
object, so it can be pickled into a render worker process and rendered there without a database
(app/documents/render.py). Few set-based queries: the invoice with its member and the invoice it
corrects, the operator row, the lines, the tax subtotals, the cards with their vehicles, and the
month's usage rows of the member.

Which usage rows the 走行明細書 lists: exactly those the month billed — the WHERE of
app.services.billing.inputs.billable_rows (an active import batch, a member and a card, no flag in
NOT_BILLED_FLAGS: 重複の疑い and 期ずれ stay out until staff confirm them; 未登録カード rows have no
member). A closed month never changes (imports are refused), so these are the rows the invoice's
通行料金 lines were summed from; the statement also says how many of the member's rows were left out.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.domain.bank_account import ACCOUNT_TYPES
from app.domain.card_number import format_card_number, mask_card_number
from app.domain.plate import Plate
from app.domain.wareki import SEIREKI
from app.models import Card, Member, OperatorSettings, Vehicle
from app.models.billing import LINE_KINDS, Invoice, InvoiceLine, InvoiceTaxSubtotal
from app.models.operator import COMPANY
from app.models.usage import BATCH_ACTIVE, FLAG_NAMES, NOT_BILLED_FLAGS, ImportBatch, UsageRecord
from app.services.billing.inputs import active_cards, billable_rows


@dataclass(frozen=True)
class BankAccountInfo:
    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str
    account_type: str  # 普通 / 当座 / …
    account_number: str  # full; documents mask the member's (formatting), print the operator's
    holder_kana: str


@dataclass(frozen=True)
class OperatorInfo:
    name: str
    postal_code: str
    address: str
    phone: str
    registration_number: str  # 適格請求書発行事業者登録番号 T+13 digits ('' when not set)
    member_term: str  # 組合員 / 支店・営業所
    date_style: str  # seireki / wareki (app.domain.wareki)
    bank: BankAccountInfo | None  # the account members pay into by 振込
    logo: bytes | None  # PNG or JPEG, printed top left
    logo_mime: str


@dataclass(frozen=True)
class MemberInfo:
    code: str
    name: str
    kana: str
    postal_code: str
    address: str
    contact_person: str
    bank: BankAccountInfo | None  # the account debited (口座振替)


@dataclass(frozen=True)
class InvoiceInfo:
    id: int
    number: str  # '' for a draft
    month: str  # YYYY-MM (usage month)
    kind: str  # regular / corrected
    status: str  # draft / issued / cancelled
    invoice_date: dt.date | None
    debit_date: dt.date | None  # 振替日 (口座振替) or お支払期日 (振込); None for a credit
    payment_method: str  # direct_debit / bank_transfer
    usage_total: int
    discount_total: int  # positive: what the member saves
    fee_total: int
    adjustment_total: int  # 訂正 and 前月繰越（貸方）, signed
    taxable_total: int  # 10% 対象（税込）
    tax_amount: int
    non_taxable_total: int
    total: int  # 請求金額; below zero: a credit carried to the next invoice
    corrects_number: str  # the invoice this one corrects (訂正請求書), '' otherwise
    correction_reason: str
    cancelled_by_number: str  # the corrected invoice that replaced this one, '' otherwise

    @property
    def is_credit(self) -> bool:
        return self.total < 0

    @property
    def period(self) -> tuple[dt.date, dt.date]:
        """取引期間: the usage month, first to last day."""
        year, month = int(self.month[:4]), int(self.month[5:7])
        first = dt.date(year, month, 1)
        last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1))
        return first, last


@dataclass(frozen=True)
class LineInfo:
    position: int
    kind: str  # usage, non_taxable, member_discount, fee, rebate, adjustment, carried_over, …
    kind_name: str  # 通行料金, 割引, 手数料, 訂正, 前月繰越（貸方）, 不課税 …
    description: str  # as stored, but a card number in it masked (see _masked_description)
    card_id: int | None
    amount: int  # signed, tax included
    tax_category: str  # 10% / 不課税 / 繰越


@dataclass(frozen=True)
class TaxSubtotalInfo:
    category: str  # 10% / 不課税 / 繰越
    total_including_tax: int
    tax: int


@dataclass(frozen=True)
class CardInfo:
    """One row of the カード明細書 (and the heading of a card's passages on the 走行明細書)."""
    card_id: int
    number: str
    masked_number: str
    kind: str  # corporate / credit
    plate: str  # 品川 100 あ 12-34, '' for a card without a vehicle
    vehicle_class: int | None
    trips: int  # passages billed
    usage: int  # 通行料金 and 不課税 lines of the card (what the road operators billed)
    discount: int  # 割引 lines of the card, signed (≤ 0)
    fees: int  # fee lines of the card (card event fees)
    operator_discount: int  # the road operators' discounts already in the rows (深夜割引 …), positive

    @property
    def net(self) -> int:
        return self.usage + self.discount + self.fees


@dataclass(frozen=True)
class UsageRow:
    card_id: int
    entry_at: dt.datetime | None
    exit_at: dt.datetime
    entry_ic: str
    exit_ic: str
    road_operator: str
    vehicle_class: int | None
    amount_before_discount: int | None
    discount: int  # the road operator's discount on the passage, positive
    amount_billed: int
    discount_kinds: str  # 深夜割引・平日朝夕 … ('' when none)


@dataclass(frozen=True)
class InvoiceDocuments:
    """What render_document needs for the four documents of one invoice."""
    operator: OperatorInfo
    member: MemberInfo
    invoice: InvoiceInfo
    lines: tuple[LineInfo, ...]
    tax_subtotals: tuple[TaxSubtotalInfo, ...]
    cards: tuple[CardInfo, ...]  # by card number
    usages: tuple[UsageRow, ...]  # by card number, then exit time
    excluded: tuple[tuple[str, int], ...]  # (flag name, rows) of the member's month not billed

    def subtotal(self, category: str) -> TaxSubtotalInfo | None:
        return next((s for s in self.tax_subtotals if s.category == category), None)

    def member_lines(self) -> tuple[LineInfo, ...]:
        """Lines of no card (組合員管理料, カード管理料, 訂正, 前月繰越 …): the card statement's last row."""
        return tuple(line for line in self.lines if line.card_id is None)


_CORRECTED, _REPLACEMENT = aliased(Invoice), aliased(Invoice)  # built once: an alias costs ~1 ms to make


def load_invoice_documents(session, invoice_id: int) -> InvoiceDocuments:
    """Read one invoice's documents' data. Raises LookupError for an unknown invoice id."""
    found = load_invoices_documents(session, [invoice_id])
    if invoice_id not in found:
        raise LookupError(f"請求書 id={invoice_id} がありません。")
    return found[invoice_id]


def load_invoices_documents(session, invoice_ids) -> dict[int, InvoiceDocuments]:
    """The documents' data of several invoices with the same few set-based queries as one (the render
    batch reads the invoices it has claimed together: building and running a statement costs more
    than its rows, docs/performance.md "Documents"). Unknown ids are left out of the result."""
    ids = sorted(set(invoice_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Invoice, Member, _CORRECTED.number, _REPLACEMENT.number)
        .join(Member, Member.id == Invoice.member_id)
        .outerjoin(_CORRECTED, _CORRECTED.id == Invoice.corrects_invoice_id)
        .outerjoin(_REPLACEMENT, _REPLACEMENT.id == Invoice.cancelled_by_invoice_id)
        .where(Invoice.id.in_(ids))).all()
    if not rows:
        return {}
    operator = _operator(session.scalars(select(OperatorSettings).order_by(OperatorSettings.id).limit(1)).first())
    found = [invoice.id for invoice, *_ in rows]
    line_rows: dict[int, list] = {i: [] for i in found}
    for invoice_id, *line in session.execute(
            select(InvoiceLine.invoice_id, InvoiceLine.position, InvoiceLine.kind, InvoiceLine.description,
                   InvoiceLine.card_id, InvoiceLine.amount, InvoiceLine.tax_category)
            .where(InvoiceLine.invoice_id.in_(found)).order_by(InvoiceLine.invoice_id, InvoiceLine.position)):
        line_rows[invoice_id].append(line)
    subtotals: dict[int, list] = {i: [] for i in found}
    for invoice_id, category, total, tax in session.execute(
            select(InvoiceTaxSubtotal.invoice_id, InvoiceTaxSubtotal.category, InvoiceTaxSubtotal.total_including_tax,
                   InvoiceTaxSubtotal.tax)
            .where(InvoiceTaxSubtotal.invoice_id.in_(found)).order_by(InvoiceTaxSubtotal.id)):
        subtotals[invoice_id].append(TaxSubtotalInfo(category, int(total), int(tax)))
    members_by_month: dict[str, set[int]] = {}
    for invoice, *_ in rows:
        members_by_month.setdefault(invoice.month, set()).add(invoice.member_id)
    usages: dict[tuple[str, int], list[UsageRow]] = {}
    excluded: dict[tuple[str, int], tuple] = {}
    in_force: dict[tuple[str, int], set[int]] = {}
    for month, member_ids in members_by_month.items():
        month_usages, month_excluded = _usage_rows(session, month, member_ids)
        for member_id in member_ids:
            usages[(month, member_id)] = month_usages.get(member_id, [])
            excluded[(month, member_id)] = month_excluded.get(member_id, ())
        for member_id, cards_of_member in active_cards(month, member_ids).items():
            in_force[(month, member_id)] = {card_id for card_id, _, _ in cards_of_member}
    card_ids = ({line[3] for lines in line_rows.values() for line in lines if line[3]}
                | {u.card_id for rows_ in usages.values() for u in rows_}
                | {card_id for cards_ in in_force.values() for card_id in cards_})
    cards_by_id = _cards(session, card_ids)
    result = {}
    for invoice, member, corrects_number, cancelled_by_number in rows:
        key = (invoice.month, invoice.member_id)
        member_usages = usages[key]
        own = ({line[3] for line in line_rows[invoice.id] if line[3]} | {u.card_id for u in member_usages}
               | in_force.get(key, set()))
        cards = {card_id: cards_by_id[card_id] for card_id in cards_by_id if card_id in own}
        lines = tuple(LineInfo(position, kind, LINE_KINDS.get(kind, kind),
                               _masked_description(description, cards.get(card_id)), card_id, int(amount), category)
                      for position, kind, description, card_id, amount, category in line_rows[invoice.id])
        card_infos = _card_infos(cards, lines, member_usages)
        order = {info.card_id: i for i, info in enumerate(card_infos)}
        ordered = tuple(sorted(member_usages, key=lambda u: (order.get(u.card_id, 0), u.exit_at, u.entry_at or u.exit_at)))
        result[invoice.id] = InvoiceDocuments(
            operator, _member(member), _invoice(invoice, corrects_number, cancelled_by_number), lines,
            tuple(subtotals[invoice.id]), card_infos, ordered, excluded[key])
    return result


def _bank(holder) -> BankAccountInfo | None:
    if holder is None or not holder.has_bank_account:
        return None
    return BankAccountInfo(holder.bank_code or "", holder.bank_name or "", holder.branch_code or "",
                           holder.branch_name or "", ACCOUNT_TYPES.get(holder.account_type, "") if holder.account_type else "",
                           holder.account_number or "", holder.account_holder_kana or "")


def _operator(settings: OperatorSettings | None) -> OperatorInfo:
    if settings is None:
        return OperatorInfo("", "", "", "", "", "組合員", SEIREKI, None, None, "")
    return OperatorInfo(settings.name or "", settings.postal_code or "", settings.address or "", settings.phone or "",
                        settings.registration_number or "",
                        "支店・営業所" if settings.operator_type == COMPANY else "組合員",
                        settings.date_style or SEIREKI, _bank(settings),
                        bytes(settings.logo_image) if settings.logo_image else None, settings.logo_mime or "")


def _member(member: Member) -> MemberInfo:
    return MemberInfo(member.code, member.name, member.kana or "", member.postal_code or "", member.address or "",
                      member.contact_person or "", _bank(member))


def _invoice(invoice: Invoice, corrects_number, cancelled_by_number) -> InvoiceInfo:
    return InvoiceInfo(invoice.id, invoice.number or "", invoice.month, invoice.kind, invoice.status,
                       invoice.invoice_date, invoice.debit_date, invoice.payment_method or "",
                       int(invoice.usage_total), int(invoice.discount_total), int(invoice.fee_total),
                       int(invoice.adjustment_total), int(invoice.taxable_total), int(invoice.tax_amount),
                       int(invoice.non_taxable_total), int(invoice.total), corrects_number or "",
                       invoice.correction_reason or "", cancelled_by_number or "")


def _usage_rows(session, month: str, member_ids: set[int]) -> tuple[dict[int, list[UsageRow]], dict[int, tuple]]:
    """Per member: the billed passages of the month, and the count of its rows the month did not bill."""
    batch_ids = list(session.scalars(select(ImportBatch.id).where(ImportBatch.usage_month == month,
                                                                  ImportBatch.status == BATCH_ACTIVE)))
    if not batch_ids:
        return {}, {}
    u = UsageRecord.__table__.c
    rows = session.execute(
        select(u.member_id, u.card_id, u.entry_at, u.exit_at, u.entry_ic, u.exit_ic, u.road_operator,
               u.vehicle_class, u.amount_before_discount, u.discount, u.amount_billed, u.discounts, u.peak_time)
        .where(*billable_rows(month, batch_ids), u.member_id.in_(member_ids))
        .order_by(u.member_id, u.card_id, u.exit_at, u.batch_id, u.line_no)).all()
    usages: dict[int, list[UsageRow]] = {}
    for (member_id, card_id, entry_at, exit_at, entry_ic, exit_ic, road, vehicle_class, before, discount, billed,
         kinds, peak) in rows:
        usages.setdefault(member_id, []).append(
            UsageRow(card_id, entry_at, exit_at, entry_ic or "", exit_ic or "", road or "", vehicle_class,
                     None if before is None else int(before), int(discount or 0), int(billed),
                     _discount_kinds(kinds, peak)))
    left_out = session.execute(
        select(u.member_id, u.flags, func.count()).where(u.usage_month == month, u.batch_id.in_(batch_ids),
                                                         u.member_id.in_(member_ids),
                                                         u.flags.op("&")(NOT_BILLED_FLAGS) != 0)
        .group_by(u.member_id, u.flags)).all()
    counts: dict[int, dict[str, int]] = {}
    for member_id, flags, count in left_out:
        for bit, name in FLAG_NAMES.items():
            if bit & NOT_BILLED_FLAGS & flags:
                counts.setdefault(member_id, {})
                counts[member_id][name] = counts[member_id].get(name, 0) + int(count)
    return usages, {member_id: tuple(sorted(c.items())) for member_id, c in counts.items()}


def _discount_kinds(kinds: str | None, peak: bool) -> str:
    """'深夜割引:1360;休日割引:300' → '深夜割引・休日割引' (the amounts are in the discount column)."""
    names = [part.split(":", 1)[0].strip() for part in (kinds or "").split(";") if part.strip()]
    if peak and "平日朝夕" not in "".join(names):
        names.append("平日朝夕")
    return "・".join(dict.fromkeys(name for name in names if name))


def _cards(session, card_ids: set) -> dict[int, tuple]:
    """card id → (number, kind, plate text, vehicle class)."""
    if not card_ids:
        return {}
    rows = session.execute(
        select(Card.id, Card.number, Card.kind, Vehicle.plate_region, Vehicle.plate_class_number, Vehicle.plate_kana,
               Vehicle.plate_serial, Vehicle.vehicle_class)
        .outerjoin(Vehicle, Vehicle.id == Card.vehicle_id).where(Card.id.in_(card_ids))).all()
    return {card_id: (number, kind, str(Plate(region, class_number, kana, serial)) if region else "", vehicle_class)
            for card_id, number, kind, region, class_number, kana, serial, vehicle_class in rows}


def _masked_description(description: str, card) -> str:
    """Lines name their card in full (通行料金 100001-0000-00001-1); paper that goes by post shows
    only the last four digits, like the card statement."""
    if card is None:
        return description
    number = card[0]
    return description.replace(format_card_number(number), mask_card_number(number)).replace(
        number, mask_card_number(number))


def _card_infos(cards: dict, lines: tuple[LineInfo, ...], usages: list[UsageRow]) -> tuple[CardInfo, ...]:
    sums: dict[int, dict] = {card_id: dict(usage=0, discount=0, fees=0, trips=0, operator=0) for card_id in cards}
    for line in lines:
        if line.card_id is None or line.card_id not in sums:
            continue
        key = ("usage" if line.kind in ("usage", "non_taxable")
               else "discount" if line.kind in ("member_discount", "rebate", "operator_discount") else "fees")
        sums[line.card_id][key] += line.amount
    for usage in usages:
        if usage.card_id in sums:
            sums[usage.card_id]["trips"] += 1
            sums[usage.card_id]["operator"] += usage.discount
    infos = []
    for card_id, (number, kind, plate, vehicle_class) in cards.items():
        s = sums[card_id]
        infos.append(CardInfo(card_id, number, mask_card_number(number), kind, plate, vehicle_class, s["trips"],
                              s["usage"], s["discount"], s["fees"], s["operator"]))
    return tuple(sorted(infos, key=lambda c: (c.number, c.card_id)))

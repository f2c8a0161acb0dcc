"""What staff look at before the close: `billing_warnings(month)` (blocking ones stop the close),
`review(month)` (the month's invoices against last month's) and `operator_check(month)` (road
operators' discounts as computed vs as reported, and the operator's margin)."""
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import func, or_, select

from app.domain.billing_dates import add_months
from app.domain.discount_base import member_usages
from app.domain.member_month import EXPRESSWAY
from app.domain.pricing.contract_discount import ContractDiscount
from app.domain.pricing.non_taxable_usage import NonTaxableUsage
from app.domain.pricing.vehicle_discount import VehicleDiscount, band_key
from app.domain.month import Month
from app.extensions import db
from app.models import Card, Member, OperatorSettings
from app.models.billing import (CANCELLED, DRAFT, INVOICE_DRAFT, BillingDiscount, BillingRun, Invoice, InvoiceLine,
                                OperatorDiscountReport)
from app.models.member import PAYMENT_METHODS, DIRECT_DEBIT
from app.models.usage import (FLAG_OFF_MONTH, FLAG_SUSPECTED_DUPLICATE, FLAG_UNREGISTERED_CARD, FLAG_USED_AFTER_LOSS,
                              NOT_BILLED_FLAGS, UsageRecord)

from ..tariff import rules_ending_without_successor, rules_for_month
from ..usage_rematch import flag_counts
from .inputs import active_batch_ids, active_cards, input_stamp, usage_groups

_invoice = Invoice.__table__
_line = InvoiceLine.__table__


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
    inputs_changed: bool = False  # a draft whose inputs changed since: recompute before closing
    offset: int = 0  # rows shown: from `offset` (all of them unless the page asked for a page)

    @property
    def can_close(self) -> bool:
        return (self.run is not None and self.run.status == DRAFT and not self.inputs_changed
                and not any(w.blocking for w in self.warnings))


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
    row_count: int | None = None  # all rows (when `rows` holds only the first ones), else len(rows)

    @property
    def total_rows(self) -> int:
        return len(self.rows) if self.row_count is None else self.row_count



def billing_warnings(month: str, cards_in_force: dict | None = None, groups: list | None = None,
                     invoiced: tuple[set, set] | None = None) -> list[BillingWarning]:
    """What staff must look at before the close; `blocking` ones stop it. No pass over the month's usage:
    flagged rows are counted through ix_usage_flags (usage_month, flags), rows without a member through
    ix_usage_month_member, and the billable rows without a road operator from the month's usage groups
    (`groups`: the draft's own, else one GROUP BY). Who is invoiced and which cards are used come from the
    draft when there is one (the close checks that the draft matches its inputs), else from the usage;
    `invoiced` = (member ids, card ids with a usage line) of the draft being written, from the draft
    itself (its invoices are the month's only live ones: corrections exist only after the close)."""
    month = str(Month.of(month))
    session = db.session
    warnings = []
    batch_ids = active_batch_ids(month)
    u = UsageRecord.__table__.c
    unregistered = no_member = after_loss = duplicates = off_month = no_operator = 0
    if batch_ids:
        in_month = (u.usage_month == month, u.batch_id.in_(batch_ids))
        counts = flag_counts(month, batch_ids)
        unregistered, after_loss = counts[FLAG_UNREGISTERED_CARD], counts[FLAG_USED_AFTER_LOSS]
        duplicates, off_month = counts[FLAG_SUSPECTED_DUPLICATE], counts[FLAG_OFF_MONTH]
        # 道路事業者不明 on a corporate card: its NEXCO discount would silently be 0 (issue 7 item 1). Rows
        # not withheld (重複の疑い, 期ずれ) with a card: those with a member are the billable rows, i.e. the
        # usage groups; those without one are read through the member index with the rows lacking a member.
        no_operator_cards: dict[int, int] = {}
        for card_id, road, flags, rows in session.execute(
                select(u.card_id, u.road_operator, u.flags, func.count())
                .where(*in_month, u.member_id.is_(None)).group_by(u.card_id, u.road_operator, u.flags)):
            if flags is not None and not flags & FLAG_UNREGISTERED_CARD:  # as `flags IN (…)`: NULL is neither
                no_member += rows
            if card_id is not None and not road and flags is not None and not flags & NOT_BILLED_FLAGS:
                no_operator_cards[card_id] = no_operator_cards.get(card_id, 0) + rows
        if no_operator_cards:
            corporate = set(session.scalars(select(Card.id).where(Card.id.in_(no_operator_cards),
                                                                  Card.kind == "corporate")))
            no_operator = sum(rows for card_id, rows in no_operator_cards.items() if card_id in corporate)
        if groups is None:
            groups = usage_groups(month)
        no_operator += sum(g.rows for g in groups if not g.road_operator and g.card_kind == "corporate")
    if unregistered:
        warnings.append(BillingWarning("unregistered_card", "未登録カードの走行明細があります。カードを登録するか、"
                                       "登録済みのカードに結び付けてください（走行明細 › 未登録カード）。",
                                       int(unregistered), True))
    if no_member:
        warnings.append(BillingWarning("usage_without_member", "組合員が決まらない走行明細があります"
                                       "（カードまたは組合員の設定を確認してください）。", int(no_member), True))
    if no_operator:
        warnings.append(BillingWarning("unknown_road_operator", "道路事業者が分からないコーポレートカードの走行明細があります。"
                                       "車両単位割引が計算できません（走行明細 › 道路事業者不明 で IC ごとに道路事業者を"
                                       "設定してください）。", int(no_operator), True))
    if off_month:
        warnings.append(BillingWarning("off_month", "期ずれの走行明細があります（利用日がファイルの月から1か月以上"
                                       "離れています。確認して受け入れるまで請求しません）。", int(off_month), False,
                                       "alert"))
    if duplicates:
        warnings.append(BillingWarning("suspected_duplicate", "重複の疑いの走行明細があります（別の取込と同じ利用のため"
                                       "請求しません。別の利用なら確認してください）。", int(duplicates), False, "info"))
    if after_loss:
        warnings.append(BillingWarning("used_after_loss", "紛失・解約後に利用された走行明細があります"
                                       "（請求には含めます。不正利用でないか確認してください）。", int(after_loss),
                                       False, "alert"))
    run = session.scalar(select(BillingRun).where(BillingRun.month == month)) if invoiced is None else None
    if invoiced is not None:
        member_ids, used_cards = invoiced
    elif run is not None and run.recomputed_at is not None:
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
    if cards_in_force is None:  # the caller's gather has them already (draft, close)
        cards_in_force = active_cards(month)
    idle = sum(1 for cards in cards_in_force.values() for card_id, _, _ in cards if card_id not in used_cards)
    if idle:
        warnings.append(BillingWarning("cards_without_usage", "当月の利用がないカードにもカード管理料などを"
                                       "請求します。", idle, False, "info"))
    warnings.extend(_ended_rule_warnings(month))
    return warnings


def recipient_warnings(month: str) -> list[BillingWarning]:
    """What the issued documents need before any number is assigned (issue 10, "Bad input and faults"): the
    address of every member invoiced in the month's draft (the invoice's 宛先 and the mailing list) and the
    operator's 登録番号 (適格請求書: 消費税法 57条の4 第1項1号). Read fresh on every call (cheap): fixing a
    member or the operator settings clears them without recomputing the draft."""
    session = db.session
    warnings = []
    settings = session.query(OperatorSettings).first()
    term = settings.member_term if settings is not None else "組合員"
    if settings is None or not (settings.registration_number or "").strip():
        warnings.append(BillingWarning(
            "no_registration_number", "運営者の適格請求書発行事業者登録番号（T＋13桁）が未設定です。登録番号のない"
            "請求書は適格請求書になりません（マスタ管理 › 運営者設定で登録してください）。", 1, True))
    run_id = session.scalar(select(BillingRun.id).where(BillingRun.month == month, BillingRun.status == DRAFT))
    if run_id is not None:
        blank = or_(Member.address.is_(None), func.trim(Member.address) == "")
        missing = session.execute(
            select(Member.code, Member.name).join(Invoice, Invoice.member_id == Member.id)
            .where(Invoice.billing_run_id == run_id, Invoice.status == INVOICE_DRAFT, blank)
            .distinct().order_by(Member.code)).all()
        if missing:
            warnings.append(BillingWarning(
                "member_without_address", f"住所が未登録の{term}があります（請求書の宛先になります。{term}の"
                "編集で住所を登録してください）: " + _codes([f"{code} {name}" for code, name in missing]),
                len(missing), True))
    return warnings


def _ended_rule_warnings(month: str) -> list[BillingWarning]:
    """Tariff rules whose last version ends by the month's end with no later version (issue 7 item 9):
    named, so that a rule nobody meant to stop is noticed. 【要確認】 unless the version says
    `ended: true`; a deliberately ended one is named (【参考】) in the month it ends and the next."""
    ended = rules_ending_without_successor(month)
    unmeant = [r for r in ended if not r.params.get("ended")]
    recent = Month.of(month).previous().first_day
    meant = [r for r in ended if r.params.get("ended") and r.valid_to >= recent]
    warnings = []
    if unmeant:
        warnings.append(BillingWarning(
            "rule_ends_without_successor", "料金表の規則が終わり、後の版がありません（終了後の月には請求されません。"
            "止めるつもりなら ended: true を、続けるなら次の版を追加してください）: "
            + _codes([f"{r.rule_id}（{r.label}）{r.valid_to:%Y/%m/%d}まで" for r in unmeant]),
            len(unmeant), False, "alert"))
    if meant:
        warnings.append(BillingWarning(
            "rule_ended", "終了指定（ended: true）の規則: "
            + _codes([f"{r.rule_id}（{r.label}）{r.valid_to:%Y/%m/%d}まで" for r in meant]), len(meant), False, "info"))
    return warnings


def _codes(codes: list[str], limit: int = 10) -> str:
    text = "、".join(codes[:limit])
    return text + (f" ほか{len(codes) - limit}件" if len(codes) > limit else "")


def draft_inputs_changed(run: BillingRun | None, month: str) -> bool:
    """A draft whose inputs (imports, cards, tariff …) changed since it was computed: recompute before closing."""
    return (run is not None and run.status == DRAFT and run.recomputed_at is not None
            and run.input_stamp != input_stamp(month))


def review(month: str, offset: int = 0, limit: int | None = None) -> Review:
    """Totals (SQL sums over the month's live invoices), the invoices from `offset` (`limit` of them, or
    all) with last month's totals, the warnings, and whether the draft's inputs changed since
    (`input_stamp`: cheap, on every view)."""
    month = str(Month.of(month))
    session = db.session
    run = session.scalar(select(BillingRun).where(BillingRun.month == month))
    live = (Invoice.month == month, Invoice.status != CANCELLED)
    sums = session.execute(select(func.count(), *(func.coalesce(func.sum(column), 0) for column in (
        Invoice.usage_total, Invoice.operator_discount_total, Invoice.discount_total, Invoice.fee_total,
        Invoice.adjustment_total, Invoice.tax_amount, Invoice.total))).where(*live)).one()
    count, usage, operator, discounts, fees, adjustments, tax, total = (int(v) for v in sums)
    totals = ReviewTotals(usage, operator + (run.contract_discount_total if run is not None else 0), discounts, fees,
                          adjustments, tax, total, count)
    query = (select(Invoice.member_id, Member.code, Member.name, Invoice.id, Invoice.number, Invoice.kind,
                    Invoice.status, Invoice.usage_total, Invoice.discount_total, Invoice.fee_total,
                    Invoice.adjustment_total, Invoice.tax_amount, Invoice.total)
             .join(Member, Member.id == Invoice.member_id).where(*live).order_by(Member.code, Invoice.id))
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    found = session.execute(query).all()
    previous = add_months(month, -1)
    last_query = (select(Invoice.member_id, func.sum(Invoice.total))
                  .where(Invoice.month == previous, Invoice.status != CANCELLED).group_by(Invoice.member_id))
    if limit is not None:
        last_query = last_query.where(Invoice.member_id.in_({row[0] for row in found} or {0}))
    last_totals = dict(session.execute(last_query).all())
    rows = []
    for member_id, code, name, invoice_id, number, kind, status, *amounts in found:
        last = last_totals.get(member_id)
        invoice_total = amounts[-1]
        rows.append(ReviewRow(member_id, code, name, invoice_id, number, kind, status, *amounts,
                              int(last) if last is not None else None,
                              invoice_total - int(last) if last is not None else None))
    changed = draft_inputs_changed(run, month)
    if run is not None and run.draft_warnings is not None and not changed:
        warnings = [BillingWarning(**w) for w in run.draft_warnings]  # what the draft found: nothing changed since
    else:
        warnings = billing_warnings(month)
    if run is not None and run.status == DRAFT:
        warnings = warnings + recipient_warnings(month)
    return Review(month, run, totals, rows, warnings, changed, offset)


class ComputedDiscount(NamedTuple):
    """One road-operator discount as computed (a NamedTuple: one per card and rule, ≈110,000 a month)."""

    rule_id: str
    road_operator: str
    card_id: int | None  # None: the contract-level discount
    card_number: str
    member_id: int | None
    discount_base: int
    discount: int
    comparable: bool  # the operator reports it (高速国道 rules): compared with the report


def computed_discounts(month: str, rules, usage_rows, band_discounts: dict | None = None,
                       contract_results: list | None = None) -> list[ComputedDiscount]:
    """車両単位割引 per card and rule, 契約単位割引 per rule, as the domain computes them from the month's
    usage groups ((member id, CardUsage) pairs): written with the draft (billing_discount).

    The draft passes what its invoice calculation already computed: `band_discounts` (member id →
    {rule id: [(group, discount)]}, every group the member's vehicle_discount rules computed) and
    `contract_results` (契約単位割引 per rule, over the same usages).

    While every card's rows belong to one member (the usual month), the month's groups of a rule are the
    union of the members' groups, in the order `VehicleDiscount.groups` gives them: taken as computed (a
    member the rule was not applied to, out of its scope, is grouped here). A card with rows of two
    members (a card moved during the month) is one month-wide group that no member computed: then the
    month's usage is grouped again, and each group whose rule, card, operator, base and ETC2.0 flag a
    member computed takes that discount."""
    usages = [usage for _, usage in usage_rows]
    card_member: dict[int, int] = {}  # card id → the last member with its rows (the row's member_id)
    by_member: dict[int, list] = {}
    shared_card = False
    for member_id, usage in usage_rows:
        by_member.setdefault(member_id, []).append(usage)
        shared_card = shared_card or card_member.get(usage.card_id, member_id) != member_id
        card_member[usage.card_id] = member_id
    computed_by_member = band_discounts or {}
    found = []
    for rule in (r for r in rules if r.type == VehicleDiscount.name):
        kind = VehicleDiscount(rule)
        ordinary = kind.category == EXPRESSWAY
        pairs = []
        if shared_card:
            known = {band_key(rule.rule_id, group): discount for computed in computed_by_member.values()
                     for group, discount in computed.get(rule.rule_id, ())}
            for group in kind.groups(usages):
                discount = known.get(band_key(rule.rule_id, group))
                pairs.append((group, kind.discount(group, month, False)[0] if discount is None else discount))
        else:
            for member_id, mine in by_member.items():
                recorded = computed_by_member.get(member_id, {}).get(rule.rule_id)
                pairs.extend(recorded if recorded is not None
                             else ((group, kind.discount(group, month, False)[0]) for group in kind.groups(mine)))
            pairs.sort(key=lambda pair: (pair[0].card_number, pair[0].card_id, pair[0].card_kind,
                                         pair[0].road_operator))
        for group, computed in pairs:
            if not ordinary and not group.discount_base:
                continue  # no 一般有料道路 / 公社道路 on this card
            # A report names operator and card, not the road category: it is compared with the 高速国道 rule.
            found.append(ComputedDiscount(rule.rule_id, group.road_operator or "", group.card_id, group.card_number,
                                          card_member.get(group.card_id), int(group.discount_base), int(computed),
                                          ordinary))
    contracts = {result.rule_id: result for result in contract_results or ()}
    for rule in (r for r in rules if r.type == ContractDiscount.name):
        kind = ContractDiscount(rule)
        result = contracts.get(rule.rule_id) or kind.compute(usages)
        found.append(ComputedDiscount(rule.rule_id, result.road_operator or "", None, "", None, int(result.base),
                                      int(result.discount), kind.category == EXPRESSWAY))
    return found


def _stored_discounts(run_id: int, limit: int | None = None) -> list[ComputedDiscount]:
    d = BillingDiscount.__table__.c
    query = (select(d.rule_id, d.road_operator, d.card_id, d.card_number, d.member_id, d.discount_base, d.discount,
                    d.comparable).where(d.billing_run_id == run_id).order_by(d.id))
    return [ComputedDiscount(*row) for row in db.session.execute(query if limit is None else query.limit(limit))]


def _margin_parts(month: str) -> tuple[int, int]:
    passed_on, fees = db.session.execute(select(func.coalesce(func.sum(Invoice.discount_total), 0),
                                                func.coalesce(func.sum(Invoice.fee_total), 0))
                                         .where(Invoice.month == month, Invoice.status != CANCELLED)).one()
    return int(passed_on), int(fees)


def operator_check(month: str, limit: int | None = None) -> OperatorCheck:
    """Computed vs reported discounts and the margin. With a draft: the discounts the draft stored (no pass
    over the usage); before any draft: computed from the usage as it is. With `limit` and no report for
    the month (nothing to compare), only the first `limit` rows are read; the sums are SQL's."""
    month = str(Month.of(month))
    session = db.session
    run = session.scalar(select(BillingRun).where(BillingRun.month == month))
    stored = run is not None and run.recomputed_at is not None
    if stored and limit is not None and session.scalar(
            select(OperatorDiscountReport.id).where(OperatorDiscountReport.month == month).limit(1)) is None:
        d = BillingDiscount.__table__.c
        count, received = session.execute(select(func.count(), func.coalesce(func.sum(d.discount), 0))
                                           .where(d.billing_run_id == run.id)).one()
        first = _stored_discounts(run.id, limit)
        codes = dict(session.execute(select(Member.id, Member.code).where(
            Member.id.in_({x.member_id for x in first if x.member_id is not None} or {0}))).all())
        rows = [OperatorCheckRow(x.rule_id, x.road_operator, x.card_id, x.card_number, codes.get(x.member_id, ""),
                                 x.discount_base, x.discount, None, None) for x in first]
        passed_on, fees = _margin_parts(month)
        return OperatorCheck(month, rows, int(received), passed_on, fees, int(received) - passed_on + fees, 0,
                             int(count))
    if stored:
        discounts = _stored_discounts(run.id)
    else:
        rules = rules_for_month(month)
        non_taxable = [NonTaxableUsage(r) for r in rules if r.type == NonTaxableUsage.name]
        usage = member_usages(usage_groups(month, non_taxable), non_taxable)
        discounts = computed_discounts(month, rules, [(m, u) for m, mine in usage.items() for u in mine.usages])
    reports = session.execute(select(OperatorDiscountReport.road_operator, OperatorDiscountReport.card_number,
                                     func.sum(OperatorDiscountReport.amount))
                              .where(OperatorDiscountReport.month == month)
                              .group_by(OperatorDiscountReport.road_operator, OperatorDiscountReport.card_number)).all()
    member_ids = {d.member_id for d in discounts if d.member_id is not None}
    member_codes = dict(session.execute(select(Member.id, Member.code).where(Member.id.in_(member_ids))).all()
                        if len(member_ids) < 500 else session.execute(select(Member.id, Member.code)).all())
    rule_operators = {r.rule_id: str(r.params.get("road_operator") or "") for r in rules_for_month(month)}
    by_number: dict[str, list[tuple[str, int]]] = {}  # card number ('' = contract) → (operator, amount)
    for road, number, amount in reports:
        by_number.setdefault(number or "", []).append((road or "", int(amount)))

    def reported_for(rule_id: str, card_number: str) -> int | None:
        """The reports of the rule's operator for the card (an old 15-digit number matches its 16-digit card)."""
        wanted = rule_operators.get(rule_id, "")
        candidates = by_number.get(card_number, [])
        if len(card_number) == 16:
            candidates = candidates + by_number.get(card_number[:15], [])
        amounts = [amount for road, amount in candidates if road.startswith(wanted)]
        return sum(amounts) if amounts else None

    rows = []
    for d in discounts:
        reported = reported_for(d.rule_id, d.card_number) if d.comparable and reports else None
        rows.append(OperatorCheckRow(d.rule_id, d.road_operator, d.card_id, d.card_number,
                                     member_codes.get(d.member_id, "") if d.member_id is not None else "",
                                     d.discount_base, d.discount, reported,
                                     None if reported is None else reported - d.discount))
    received = sum(row.reported if row.reported is not None else row.computed for row in rows)
    passed_on, fees = _margin_parts(month)
    differences = sum(1 for row in rows if row.difference)
    return OperatorCheck(month, rows, received, passed_on, fees, received - passed_on + fees, differences)

"""代理店手数料 of a closed month: each agency's rules valid in the month applied to its members' issued
invoices (通行料金, 手数料) and cards in force, 源泉徴収 for individuals, the 代理店手数料一覧 (screen, Excel:
`flask etc export agency-commissions YYYY-MM -o FILE.xlsx`) and the 総合振込 file (全銀 種別21) that pays them
(`flask etc export agency-transfer YYYY-MM --date YYYY-MM-DD [--profile CODE] -o FILE`).

The amounts are computed at the close (`keep_agency_commissions`, called by close_billing_run) and kept per
agency (agency_commission): a member moving to another agency, a rule edited or an agency flagged individual
afterwards does not change a closed month. A correction issued after the close does not change them either.
Months closed before commissions were kept are computed from the current data."""
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from app.domain.agency_commission import AgencyMonth, CommissionLine, CommissionRule, commission_lines, withholding
from app.domain.errors import DomainError
from app.domain.kana import to_zengin_kana
from app.domain.month import Month
from app.domain.zengin.files import MAX_AMOUNT, transfer_file, mmdd
from app.domain.zengin.profile import ready_for_files
from app.domain.zengin.records import TRANSFER, Header, TransferData
from app.exports.excel import workbook_bytes
from app.extensions import db
from app.models import Agency, AgencyCommissionRule, AgencyMonthCommission, Member
from app.models.billing import ISSUED, BillingRun, Invoice
from app.models.mixins import now_jst

from .billing.inputs import active_cards
from .collection_profiles import default_profile, find_profile
from .debit_files import bank_kana, file_options, require_closed
from .files import write_atomically

TRANSFER_ACCOUNT_TYPES = (1, 2, 4, 9)  # 預金種目 of a 21 data record (zengin-format.md §6)


@dataclass
class AgencyCommission:
    agency: Agency
    data: AgencyMonth
    lines: list[CommissionLine] = field(default_factory=list)
    individual: bool = False  # 源泉徴収: the agency's flag when the commission was computed

    @property
    def commission(self) -> int:
        return sum(line.commission for line in self.lines)

    @property
    def withheld(self) -> int:
        return withholding(self.commission, self.individual)

    @property
    def paid(self) -> int:
        return self.commission - self.withheld


def _rules() -> list[CommissionRule]:
    rows = db.session.execute(select(AgencyCommissionRule, Agency.code)
                              .join(Agency, Agency.id == AgencyCommissionRule.agency_id)
                              .order_by(Agency.code, AgencyCommissionRule.valid_from, AgencyCommissionRule.id)).all()
    return [CommissionRule(code, rule.basis, rule.valid_from, rule.valid_to,
                           Decimal(rule.rate) if rule.rate is not None else None, rule.amount) for rule, code in rows]


def agency_commissions(month) -> list[AgencyCommission]:
    """Every agency with a rule or members, in code order, for the closed month: as kept at its close."""
    month = require_closed(str(Month.of(month)))
    run = db.session.scalar(select(BillingRun).where(BillingRun.month == month))
    if run.agency_commissions_at is None:  # closed before commissions were kept at the close
        return compute_agency_commissions(month)
    rows = db.session.scalars(select(AgencyMonthCommission).join(Agency, Agency.id == AgencyMonthCommission.agency_id)
                              .where(AgencyMonthCommission.month == month).order_by(Agency.code)).all()
    return [AgencyCommission(row.agency, AgencyMonth(row.agency.code, row.usage_total, row.fee_total, row.cards),
                             [CommissionLine(line["basis"], line["base"],
                                             Decimal(line["rate"]) if line["rate"] is not None else None,
                                             line["amount_per_card"], line["commission"]) for line in row.lines],
                             row.is_individual)
            for row in rows]


def keep_agency_commissions(run: BillingRun) -> int:
    """At the close (inside its transaction): compute the month's commissions and keep them."""
    kept = compute_agency_commissions(run.month)
    db.session.add_all(AgencyMonthCommission(
        month=run.month, agency_id=c.agency.id, is_individual=c.individual, usage_total=c.data.usage_total,
        fee_total=c.data.fee_total, cards=c.data.cards,
        lines=[dict(basis=line.basis, base=line.base, rate=str(line.rate) if line.rate is not None else None,
                    amount_per_card=line.amount_per_card, commission=line.commission) for line in c.lines])
        for c in kept)
    run.agency_commissions_at = now_jst()
    return len(kept)


def compute_agency_commissions(month: str) -> list[AgencyCommission]:
    """From the current data: the month's issued invoices and cards of each agency's members today, the rules
    valid in the month, the agency's individual flag today."""
    first = Month.of(month).first_day
    totals = {agency_id: (int(usage or 0), int(fees or 0)) for agency_id, usage, fees in db.session.execute(
        select(Member.agency_id, func.sum(Invoice.usage_total), func.sum(Invoice.fee_total))
        .join(Member, Member.id == Invoice.member_id)
        .where(Invoice.month == month, Invoice.status == ISSUED, Member.agency_id.is_not(None))
        .group_by(Member.agency_id))}
    members = {}
    for member_id, agency_id in db.session.execute(select(Member.id, Member.agency_id)
                                                   .where(Member.agency_id.is_not(None))):
        members.setdefault(agency_id, set()).add(member_id)
    cards = active_cards(month, set().union(*members.values()) if members else {0})
    rules = _rules()
    result = []
    for agency in db.session.scalars(select(Agency).order_by(Agency.code)):
        usage, fees = totals.get(agency.id, (0, 0))
        count = sum(len(cards.get(member_id, [])) for member_id in members.get(agency.id, ()))
        data = AgencyMonth(agency.code, usage, fees, count)
        lines = commission_lines(first, data, rules)
        if lines or agency.id in members:
            result.append(AgencyCommission(agency, data, lines, bool(agency.is_individual)))
    return result


def commission_list_headers() -> list[str]:
    return ["代理店コード", "代理店名", "個人", "利用額", "手数料", "カード枚数", "代理店手数料", "源泉徴収税額", "振込額", "計算"]


COMMISSION_MONEY = (3, 4, 6, 7, 8)


def commission_list_rows(month) -> list[list]:
    rows, totals = [], [0, 0, 0, 0, 0]
    for c in agency_commissions(month):
        rows.append([c.agency.code, c.agency.name, "個人" if c.individual else "", c.data.usage_total,
                     c.data.fee_total, c.data.cards, c.commission, c.withheld, c.paid,
                     "／".join(line.describe() for line in c.lines) or "規則なし"])
        totals = [a + b for a, b in zip(totals, [c.data.usage_total, c.data.fee_total, c.commission, c.withheld, c.paid])]
    rows.append(["合計", f"{len(rows)}件", "", totals[0], totals[1], None, totals[2], totals[3], totals[4], ""])
    return rows


def export_commission_list(month, path: str | Path) -> int:
    rows = commission_list_rows(month)
    write_atomically(path, workbook_bytes([(f"代理店手数料一覧 {Month.of(month)}", commission_list_headers(), rows,
                                            COMMISSION_MONEY)]))
    return len(rows) - 1


def agency_transfer_file(month, transfer_date: dt.date, profile_code: str | None = None) -> tuple[bytes, int, int]:
    """(bytes, count, total) of the 総合振込 file paying the month's commissions (after 源泉徴収). The header is
    the collection profile's (振込依頼人コード・名, our account): the one named, else the operator's default.
    Refused as a whole, naming every agency that cannot be paid (no account, a name outside the kana)."""
    profile = find_profile(profile_code) if profile_code else (default_profile() or find_profile(None))
    options = file_options(profile)
    errors = ready_for_files(profile, f"収納代行・委託者「{profile.code}」")
    records = []
    for c in agency_commissions(month):
        if c.paid <= 0:
            continue
        agency, who = c.agency, f"代理店 {c.agency.code} {c.agency.name}"
        if not (agency.bank_code and agency.branch_code and agency.account_number and agency.account_holder_kana):
            errors.append(f"{who}: 振込先の口座（銀行・支店・口座番号・口座名義カナ）が登録されていません。")
            continue
        if agency.account_type not in TRANSFER_ACCOUNT_TYPES:
            errors.append(f"{who}: 預金種目は 1 普通, 2 当座, 4 貯蓄, 9 その他 のいずれかです。")
            continue
        if c.paid > MAX_AMOUNT:
            errors.append(f"{who}: 振込額 {c.paid:,}円が上限を超えています。")
            continue
        try:
            payee = to_zengin_kana(agency.account_holder_kana, charset=options.charset, length=30,
                                   label=f"{who} の口座名義カナ")
        except DomainError as error:
            errors.append(error.message)
            continue
        edi = to_zengin_kana(f"ｺﾐﾂｼﾖﾝ{Month.of(month)}", kind="edi", length=20) if options.edi else None
        records.append(TransferData(bank_code=agency.bank_code, bank_name=bank_kana(agency.bank_code),
                                    branch_code=agency.branch_code,
                                    branch_name=bank_kana(agency.bank_code, agency.branch_code),
                                    account_type=agency.account_type, account_number=agency.account_number.zfill(7),
                                    payee_name=payee, amount=c.paid, new_code="0",
                                    customer_code1=str(agency.id), edi=edi))
    if errors:
        raise DomainError(f"{Month.of(month)} の代理店手数料の総合振込データを作成できません（ファイルは作成していません）:\n"
                          + "\n".join(f"・{e}" for e in errors))
    header = Header(kind=TRANSFER, requester_code=profile.requester_code, requester_name=profile.requester_name_kana,
                    date_mmdd=mmdd(transfer_date), bank_code=profile.bank_code, bank_name=bank_kana(profile.bank_code),
                    branch_code=profile.branch_code, branch_name=bank_kana(profile.bank_code, profile.branch_code),
                    account_type=profile.account_type, account_number=profile.account_number)
    return transfer_file(header, records, options), len(records), sum(r.amount for r in records)

"""口座振替データ (全銀 種別91) per collection profile and closed month, kept as numbered batches.

`generate_debit_file(month, profile_code)` takes the month's issued invoices of members paying by
口座振替 whose profile it is (their own, or none while it is the operator's default), leaves out those
with a zero total or a credit (listed with the reason), refuses the whole file when any member cannot be
written (no valid account, a name outside the allowed kana, an amount above 9,999,999,999: every such
member is named, and nothing is stored), and stores the bytes with their SHA-256. Generating again
returns the same batch while the bytes would be the same; when invoices (or accounts, or the profile)
changed, the new bytes become the next numbered batch. States: generated → sent → result imported."""
import hashlib
from dataclasses import dataclass, field

import jaconv
from sqlalchemy import func, select

from app.domain.bank_account import lookup_bank, lookup_branch
from app.domain.errors import DomainError
from app.domain.kana import to_zengin_kana
from app.domain.month import Month
from app.domain.zengin.files import MAX_AMOUNT, FileOptions, debit_file, mmdd
from app.domain.zengin.profile import ready_for_files
from app.domain.zengin.records import DEBIT, DebitData, Header
from app.extensions import db
from app.labels import member_term
from app.models import Member
from app.models.billing import CLOSED, ISSUED, BillingRun, Invoice
from app.models.member import DIRECT_DEBIT
from app.models.mixins import now_jst
from app.models.payment import GENERATED, SENT, CollectionProfile, DebitBatch, DebitBatchItem

from .actor import current_actor
from .collection_profiles import default_profile, find_profile
from .month_lock import lock_month
from .unit_of_work import transactional

DEBIT_ACCOUNT_TYPES = (1, 2, 3, 9)  # 預金種目 of a 91 data record (zengin-format.md §6)


@dataclass(frozen=True)
class Excluded:
    member_code: str
    member_name: str
    invoice_number: str
    amount: int
    reason: str

    def __str__(self):
        return f"{self.member_code} {self.member_name}（請求書 {self.invoice_number}、{self.amount:,}円）: {self.reason}"


@dataclass
class DebitFileResult:
    batch: DebitBatch
    created: bool
    excluded: list[Excluded] = field(default_factory=list)

    def __str__(self):
        b = self.batch
        head = (f"{b.month} {b.profile.code} 口座振替データ 第{b.number}回: {b.record_count:,}件 {b.total_amount:,}円 "
                f"引落日 {b.debit_date:%Y/%m/%d} SHA-256 {b.sha256}")
        return head + ("" if self.created else "（前回と同じ内容のため、作成済みの第{}回と同じファイルです）".format(b.number))


def file_options(profile: CollectionProfile) -> FileOptions:
    return FileOptions(separator=profile.separator or "crlf", customer_number=profile.customer_number or "numeric",
                       charset=profile.charset or "strict", use_new_code=bool(profile.use_new_code),
                       edi=bool(profile.use_edi))


def bank_kana(bank_code: str, branch_code: str | None = None) -> str:
    """The optional (※) bank or branch name of a record: zengin-code's kana in half width; blank when the
    strict bank-name class refuses it (13 foreign banks have '.', zengin-format.md §7.1)."""
    try:
        bank = lookup_bank(bank_code)
        kana = lookup_branch(bank, branch_code).kana if branch_code is not None else bank.kana
        return to_zengin_kana(jaconv.z2h(kana, kana=True, ascii=True, digit=True), kind="bank", length=15,
                              abbreviate=False)
    except DomainError:
        return ""


def profile_condition(profile: CollectionProfile):
    """Members debited by `profile`: assigned to it, or to none while it is the operator's default."""
    condition = Member.collection_profile_id == profile.id
    default = default_profile()
    if default is not None and default.id == profile.id:
        condition = condition | Member.collection_profile_id.is_(None)
    return condition


def debit_invoices(month: str, profile: CollectionProfile) -> list[tuple[Invoice, Member]]:
    """The month's issued invoices (corrections replace what they cancel) of the profile's members that pay
    by 口座振替, in member-code order."""
    return db.session.execute(
        select(Invoice, Member).join(Member, Member.id == Invoice.member_id)
        .where(Invoice.month == month, Invoice.status == ISSUED, Invoice.payment_method == DIRECT_DEBIT,
               profile_condition(profile))
        .order_by(Member.code, Invoice.id)).all()


def require_closed(month: str) -> str:
    month = str(Month.of(month))
    run = db.session.scalar(select(BillingRun).where(BillingRun.month == month))
    if run is None or run.status != CLOSED:
        raise DomainError(f"{month} はまだ締められていません。口座振替データは締めた月だけ作成できます。")
    return month


def _previous_items(profile: CollectionProfile, month: str) -> dict[int, DebitBatchItem]:
    """Each member's last debit record for this profile in an earlier month (for 新規コード)."""
    rows = db.session.execute(
        select(DebitBatchItem).join(DebitBatch, DebitBatch.id == DebitBatchItem.batch_id)
        .where(DebitBatch.profile_id == profile.id, DebitBatch.month < month)
        .order_by(DebitBatch.month, DebitBatch.number, DebitBatchItem.line_no)).scalars()
    return {item.member_id: item for item in rows}


def _new_code(previous: DebitBatchItem | None, data: dict) -> str:
    if previous is None:
        return "1"  # 第1回引落分
    same = (previous.bank_code, previous.branch_code, previous.account_type, previous.account_number) == (
        data["bank_code"], data["branch_code"], data["account_type"], data["account_number"])
    return "0" if same else "2"  # 2 = 変更分


def _member_record(profile, options, member: Member, invoice: Invoice) -> dict:
    """The record's values for one member; DomainError naming the member for anything that cannot be written."""
    who = f"{member_term()} {member.code} {member.name}"
    if not (member.bank_code and member.branch_code and member.account_number and member.account_holder_kana):
        raise DomainError(f"{who}: 口座（銀行・支店・口座番号・口座名義カナ）が登録されていません。")
    try:
        bank = lookup_bank(member.bank_code)
        lookup_branch(bank, member.branch_code)
    except DomainError as error:
        raise DomainError(f"{who}: {error.message}（支店の統廃合なら flask etc update-banks で確認できます）") from None
    if member.account_type not in DEBIT_ACCOUNT_TYPES:
        raise DomainError(f"{who}: 預金種目「{member.account_type_name() or member.account_type or '未設定'}」は"
                          "口座振替に使えません（1 普通, 2 当座, 3 納税準備, 9 その他）。")
    number = (member.account_number or "").strip()
    if not (number.isdigit() and len(number) <= 7):
        raise DomainError(f"{who}: 口座番号「{number}」は7桁以内の数字です。")
    holder = to_zengin_kana(member.account_holder_kana, charset=options.charset, length=30,
                            label=f"{who} の口座名義カナ")
    if invoice.total > MAX_AMOUNT:
        raise DomainError(f"{who}: 請求金額 {invoice.total:,}円が全銀ファイルの上限（{MAX_AMOUNT:,}円）を超えています。")
    if options.customer_number == "text":
        customer = to_zengin_kana(member.code, charset=options.charset, length=20, abbreviate=False,
                                  label=f"{who} の顧客番号（{member_term()}コード）")
    else:
        customer = str(member.id)  # the member's internal number: digits, never reused (docs/payments.md)
    return dict(bank_code=bank.code, branch_code=member.branch_code, account_type=member.account_type,
                account_number=number.zfill(7), holder_name=holder, amount=int(invoice.total),
                customer_number=customer)


def build_debit_file(month: str, profile: CollectionProfile):
    """(bytes, debit date, [(invoice, member, values)], excluded): nothing stored. DomainError listing every
    member that cannot be written, or what the profile lacks."""
    options = file_options(profile)
    errors = ready_for_files(profile, f"収納代行・委託者「{profile.code}」")
    included, excluded = [], []
    previous = _previous_items(profile, month) if options.use_new_code else {}
    for invoice, member in debit_invoices(month, profile):
        if invoice.total <= 0:
            reason = ("請求金額が0円のため振替しません" if invoice.total == 0
                      else f"貸方（{invoice.total:,}円）のため振替せず、次の請求書へ繰り越します")
            excluded.append(Excluded(member.code, member.name, invoice.number or "", int(invoice.total), reason))
            continue
        try:
            values = _member_record(profile, options, member, invoice)
        except DomainError as error:
            errors.append(error.message)
            continue
        values["new_code"] = _new_code(previous.get(member.id), values) if options.use_new_code else "0"
        included.append((invoice, member, values))
    if errors:
        raise DomainError(f"{month} {profile.code} の口座振替データを作成できません（ファイルは作成していません）:\n"
                          + "\n".join(f"・{e}" for e in errors))
    if not included:
        raise DomainError(f"{month} {profile.code} に口座振替の対象がありません"
                          + (f"（対象外 {len(excluded)}件: 0円・貸方）。" if excluded else "。"))
    dates = sorted({invoice.debit_date for invoice, _, _ in included})
    if None in dates or len(dates) != 1:
        raise DomainError(f"{month} {profile.code}: 請求書の振替日がそろっていません（{'、'.join(str(d) for d in dates)}）。")
    debit_date = dates[0]
    header = Header(kind=DEBIT, requester_code=profile.requester_code, requester_name=profile.requester_name_kana,
                    date_mmdd=mmdd(debit_date), bank_code=profile.bank_code, bank_name=bank_kana(profile.bank_code),
                    branch_code=profile.branch_code, branch_name=bank_kana(profile.bank_code, profile.branch_code),
                    account_type=profile.account_type, account_number=profile.account_number)
    records = [DebitData(bank_code=v["bank_code"], bank_name=bank_kana(v["bank_code"]), branch_code=v["branch_code"],
                         branch_name=bank_kana(v["bank_code"], v["branch_code"]), account_type=v["account_type"],
                         account_number=v["account_number"], holder_name=v["holder_name"], amount=v["amount"],
                         new_code=v["new_code"], customer_number=v["customer_number"],
                         customer_number_text=options.customer_number == "text")
               for _, _, v in included]
    return debit_file(header, records, options), debit_date, included, excluded


def latest_batch(profile_id: int, month: str) -> DebitBatch | None:
    return db.session.scalar(select(DebitBatch).where(DebitBatch.profile_id == profile_id, DebitBatch.month == month)
                             .order_by(DebitBatch.number.desc()).limit(1))


@transactional
def generate_debit_file(month, profile_code: str | None = None) -> DebitFileResult:
    month = require_closed(str(Month.of(month)))
    profile = find_profile(profile_code)
    lock_month(month)  # two staff generating at once: the second waits and finds the first's batch
    data, debit_date, included, excluded = build_debit_file(month, profile)
    digest = hashlib.sha256(data).hexdigest()
    latest = latest_batch(profile.id, month)
    if latest is not None and latest.sha256 == digest:
        return DebitFileResult(latest, False, excluded)
    number = (db.session.scalar(select(func.max(DebitBatch.number)).where(
        DebitBatch.profile_id == profile.id, DebitBatch.month == month)) or 0) + 1
    batch = DebitBatch(profile=profile, month=month, number=number, status=GENERATED, debit_date=debit_date,
                       record_count=len(included), total_amount=sum(v["amount"] for _, _, v in included),
                       content=data, sha256=digest, excluded=[vars(e) for e in excluded],
                       created_by=current_actor()[0])
    db.session.add(batch)
    db.session.flush()
    db.session.add_all(DebitBatchItem(batch_id=batch.id, line_no=i, invoice_id=invoice.id, member_id=member.id,
                                      **values)
                       for i, (invoice, member, values) in enumerate(included, start=1))
    db.session.flush()
    return DebitFileResult(batch, True, excluded)


def batch_excluded(batch: DebitBatch) -> list[Excluded]:
    return [Excluded(**row) for row in (batch.excluded or [])]


@transactional
def mark_sent(batch_id: int) -> DebitBatch:
    batch = db.session.get(DebitBatch, batch_id)
    if batch is None:
        raise DomainError("口座振替データが見つかりません。")
    if batch.status != GENERATED:
        raise DomainError(f"{batch} は「{batch.status_name()}」です。送信済にできるのは作成済のデータだけです。")
    batch.status, batch.sent_at, batch.sent_by = SENT, now_jst(), current_actor()[0]
    return batch

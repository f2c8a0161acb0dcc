"""口座振替データ (全銀 種別91) per collection profile and closed month, kept as numbered batches.

`generate_debit_file(month, profile_code)` takes the month's issued invoices of members paying by
口座振替 whose profile it is (their own, or none while it is the operator's default), leaves out those
with a zero total or a credit (listed with the reason), refuses the whole file when any member cannot be
written (no valid account, a name outside the allowed kana, an amount above 9,999,999,999: every such
member is named, and nothing is stored), and stores the bytes with their SHA-256. Generating again
returns the same batch while the bytes would be the same; when invoices (or accounts, or the profile)
changed, the new bytes become the next numbered batch. States: generated → sent → result imported.

Nothing is debited twice: every batch of a month holds all the profile's members, so while one batch of the
profile and month is sent (or its result is in), `mark_sent` refuses any other. The only way another goes out
is a 差し替え (`mark_sent(..., replace=True, reason=…)`, the 責任者's screen action): the collector took the new
file in place of the old one before its deadline, and the old batch becomes 差し替え済 (never debited, its result
refused by debit_results). A batch whose result is in is never replaced: its money moved."""
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
from app.models.payment import (DELIVERED, GENERATED, REPLACED, RESULT_IMPORTED, SENT, CollectionProfile, DebitBatch,
                                DebitBatchItem)

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
    # Other batches of the month and profile already with the collector: this file goes only as a 差し替え.
    sent_earlier: list[DebitBatch] = field(default_factory=list)

    @property
    def warning(self) -> str:
        return delivered_warning(self.batch, self.sent_earlier)

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


def batch_name(batch: DebitBatch) -> str:
    return f"{batch.month} {batch.profile.code} 第{batch.number}回"


def delivered_batches(batch: DebitBatch) -> list[DebitBatch]:
    """The other batches of `batch`'s profile and month that went to the collector (送信済 or 結果取込済)."""
    return db.session.scalars(select(DebitBatch).where(
        DebitBatch.profile_id == batch.profile_id, DebitBatch.month == batch.month, DebitBatch.id != batch.id,
        DebitBatch.status.in_(DELIVERED)).order_by(DebitBatch.number)).all()


def replaced_batches(batch: DebitBatch) -> list[DebitBatch]:
    """The batches `batch` was sent in place of (差し替え済 by it), by number."""
    return db.session.scalars(select(DebitBatch).where(DebitBatch.replaced_by_batch_id == batch.id)
                              .order_by(DebitBatch.number)).all()


def _double_debit() -> str:
    return f"同じ月の別のファイルを送ると、両方に載っている{member_term()}が二重に引き落とされます。"


def _sent_words(earlier: DebitBatch) -> str:
    when = f"{earlier.sent_at:%Y/%m/%d %H:%M} {earlier.sent_by or ''}".strip() if earlier.sent_at else ""
    return f"{batch_name(earlier)}は送信済です" + (f"（{when}）" if when else "")


def _settled_by_carry_over(batch: DebitBatch) -> str:
    return (f"第{batch.number}回は送らないでください。訂正との差額は入金の充当先のとおり、"
            "訂正後の請求書の未収（一部入金）または過入金として次の請求書へ繰り越されます。")


def delivered_warning(batch: DebitBatch, delivered: list[DebitBatch]) -> str:
    """What staff must read before sending `batch` while `delivered` went to the collector ('' when nothing did)."""
    if batch.status != GENERATED or not delivered:
        return ""
    lines = []
    for earlier in delivered:
        if earlier.status == RESULT_IMPORTED:
            lines.append(f"{batch_name(earlier)}は結果取込済です（振替結果を取り込み、入金を記録済み）。{_double_debit()}"
                         + _settled_by_carry_over(batch))
        else:
            lines.append(f"{_sent_words(earlier)}。{_double_debit()}この第{batch.number}回は、収納代行・銀行が"
                         f"期限前に第{earlier.number}回の代わりとして受け付ける場合にだけ、差し替えとして送ってください"
                         f"（責任者が「差し替えとして送信済にする」で理由を記録します）。")
    return "\n".join(lines)


@transactional
def generate_debit_file(month, profile_code: str | None = None) -> DebitFileResult:
    month = require_closed(str(Month.of(month)))
    profile = find_profile(profile_code)
    lock_month(month)  # two staff generating at once: the second waits and finds the first's batch
    data, debit_date, included, excluded = build_debit_file(month, profile)
    digest = hashlib.sha256(data).hexdigest()
    latest = latest_batch(profile.id, month)
    if latest is not None and latest.sha256 == digest:
        return DebitFileResult(latest, False, excluded, delivered_batches(latest))
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
    # Still made while another is sent: staff may need the file to ask the collector for a 差し替え.
    return DebitFileResult(batch, True, excluded, delivered_batches(batch))


def batch_excluded(batch: DebitBatch) -> list[Excluded]:
    return [Excluded(**row) for row in (batch.excluded or [])]


@transactional
def mark_sent(batch_id: int, replace: bool = False, reason: str | None = None) -> DebitBatch:
    """送信済: the file went to the collector. Refused while another batch of the month and profile went too,
    unless `replace`: the collector took this file in place of that one (送信済, not 結果取込済), which becomes
    差し替え済 with who, when and `reason` (required)."""
    batch = db.session.get(DebitBatch, batch_id)
    if batch is None:
        raise DomainError("口座振替データが見つかりません。")
    lock_month(batch.month)  # two batches marked at once: the second sees the first as sent
    db.session.refresh(batch)
    if batch.status != GENERATED:
        raise DomainError(f"{batch} は「{batch.status_name()}」です。送信済にできるのは作成済のデータだけです。")
    delivered = delivered_batches(batch)
    imported = [b for b in delivered if b.status == RESULT_IMPORTED]
    if not replace:
        if imported:
            raise DomainError(f"{batch_name(imported[0])}は結果取込済です。{_double_debit()}"
                              + _settled_by_carry_over(batch))
        if delivered:
            earlier = delivered[0]
            raise DomainError(f"{_sent_words(earlier)}。{_double_debit()}第{batch.number}回は送信済にしていません。"
                              f"収納代行・銀行が期限前に第{batch.number}回を第{earlier.number}回の代わりとして受け付けた"
                              "場合だけ、責任者が「差し替えとして送信済にする」で理由を添えて差し替えてください"
                              f"（第{earlier.number}回は差し替え済になり、その振替結果は取り込めなくなります）。")
    else:
        reason = (reason or "").strip()
        if not reason:
            raise DomainError("差し替えの理由を入力してください（例: 収納代行が期限前に差し替えを受け付けた、担当者名）。")
        if len(reason) > 200:
            raise DomainError("差し替えの理由は200文字以内で入力してください。")
        if imported:
            raise DomainError(f"{batch_name(imported[0])}は結果取込済です（振替結果を取り込み、お金は動いています）。"
                              "結果取込済のデータは差し替えできません。" + _settled_by_carry_over(batch))
        if not delivered:
            raise DomainError(f"{batch_name(batch)}: 差し替える送信済の口座振替データがありません。"
                              "「送信済にする」を使ってください。")
    who, now = current_actor()[0], now_jst()
    for earlier in delivered:  # replace: every one is 送信済 here
        earlier.status, earlier.replaced_by_batch_id = REPLACED, batch.id
        earlier.replaced_at, earlier.replaced_by, earlier.replacement_reason = now, who, reason
    batch.status, batch.sent_at, batch.sent_by = SENT, now, who
    return batch

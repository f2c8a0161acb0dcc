"""振替結果 (debit results): `import_debit_result(file)` reads the bank's result file of a debit batch and, in
one transaction, records a payment (入金, 口座振替) for every 振替済 record and the result code on every record
of the batch, and marks the batch 結果取込済. The batch is found by the header (委託者コード → the collection
profile, 引落日 → its batch of that date) and every record is matched to the batch's record by 顧客番号, amount
and account (zengin-format.md §2.5). A file that is broken, of another profile, or with a record that does not
match is refused with every problem listed, and nothing is recorded. The same file twice, or a second result
for a batch, is refused naming the earlier import."""
from dataclasses import dataclass, field

from sqlalchemy import select

from app.domain.errors import DomainError
from app.domain.zengin.reader import ResultFileRefused, read_debit_result, result_reason
from app.extensions import db
from app.labels import member_term
from app.models.payment import (REPLACED, RESULT_IMPORTED, SENT, CollectionProfile, DebitBatch, DebitResultImport,
                                Payment)

from .actor import current_actor
from .month_lock import lock_month
from .receivables import paying_invoice, receivable_of
from .unit_of_work import transactional
from .uploads import read_named_file


@dataclass
class FailedDebit:
    member_code: str
    member_name: str
    amount: int
    code: str
    reason: str
    known: bool

    def __str__(self):
        return f"{self.member_code} {self.member_name} {self.amount:,}円: {self.code} {self.reason}"


@dataclass
class ResultImportSummary:
    row: DebitResultImport
    batch: DebitBatch
    failed: list[FailedDebit] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __str__(self):
        r = self.row
        return (f"{r.file_name}: {self.batch} の振替結果を取り込みました。振替済 {r.paid_count:,}件 {r.paid_amount:,}円、"
                f"振替不能 {r.failed_count:,}件 {r.failed_amount:,}円"
                + (f"（うち不明な結果コード {r.unknown_count:,}件）" if r.unknown_count else "") + "。")


def _number_key(number: str):
    """A 顧客番号 as compared: digits by value (leading zeros or spaces as written by the bank), else as text."""
    number = number.strip()
    return int(number) if number.isdigit() else number


def _same_number(written: str, stored: str) -> bool:
    return _number_key(written) == _number_key(stored)


def describe_import(row: DebitResultImport) -> str:
    return (f"取込 #{row.id}（{row.imported_at:%Y/%m/%d %H:%M} {row.imported_by or ''}、{row.file_name}、"
            f"{row.batch}）")


def _find_batch(parsed, file_name: str) -> DebitBatch:
    header = parsed.header
    profiles = db.session.scalars(select(CollectionProfile)
                                  .where(CollectionProfile.requester_code == header.requester_code)).all()
    if not profiles:
        raise ResultFileRefused(file_name, [f"委託者コード {header.requester_code} の収納代行・委託者がありません"
                                            "（別の委託者の振替結果ではありませんか）。"])
    batches = db.session.scalars(select(DebitBatch).where(DebitBatch.profile_id.in_([p.id for p in profiles]))
                                 .order_by(DebitBatch.month.desc(), DebitBatch.number.desc())).all()
    dated = [b for b in batches if f"{b.debit_date:%m%d}" == header.date_mmdd]
    if not dated:
        raise ResultFileRefused(file_name, [f"引落日 {header.date_mmdd[:2]}/{header.date_mmdd[2:]} の口座振替データが"
                                            f"委託者コード {header.requester_code} にありません。"])

    def matches(batch):
        # One set per batch, not every record against every item: a month's file has thousands of records and
        # this runs again once the month is locked.
        if len(batch.items) != len(parsed.records):
            return False
        items = {(_number_key(i.customer_number), i.amount) for i in batch.items}
        return all((_number_key(r.customer_number), r.amount) in items for r in parsed.records)

    # Several batches of that day (regenerated after a correction): the one sent, else the newest whose records
    # match. A 差し替え済 batch is never chosen: the collector debited the one that replaced it.
    live = sorted((b for b in dated if b.status != REPLACED), key=lambda b: (b.status != SENT, -b.number))
    for batch in live:
        if matches(batch):
            return batch
    replaced = [b for b in dated if b.status == REPLACED and matches(b)] or ([] if live else dated)
    if replaced:
        raise DomainError(f"{file_name}: {replaced_words(replaced[0])}差し替え済のデータの振替結果からは入金を記録しません"
                          "（収納代行・銀行が差し替え前のファイルで引き落としたのなら、先方に確認してください）。"
                          "何も記録していません。")
    return live[0]


def replaced_words(batch: DebitBatch) -> str:
    new = batch.replaced_by_batch
    return (f"{batch} は {batch.replaced_at:%Y/%m/%d %H:%M}（{batch.replaced_by or ''}）に {new} へ差し替え済です"
            f"（理由: {batch.replacement_reason}）。振替結果は {new} のものを取り込んでください。")


@transactional
def import_debit_result(source, file_name: str | None = None) -> ResultImportSummary:
    file_name, body, digest = read_named_file(source, file_name, "振替結果", "PAYMENT_FILE_MAX_BYTES")
    earlier = db.session.scalar(select(DebitResultImport).where(DebitResultImport.sha256 == digest))
    if earlier is not None:
        raise DomainError(f"{file_name}: 同じファイルは {describe_import(earlier)} で取込済みです。何も記録していません。")
    try:
        parsed = read_debit_result(body)
    except ResultFileRefused as refused:
        raise ResultFileRefused(file_name, refused.errors) from None
    batch = _find_batch(parsed, file_name)
    # A 差し替え marked at this moment: wait for it, then find the batch again as it now stands.
    lock_month(batch.month)
    db.session.expire_all()
    batch = _find_batch(parsed, file_name)
    done = db.session.scalar(select(DebitResultImport).where(DebitResultImport.batch_id == batch.id))
    if done is not None:
        raise DomainError(f"{file_name}: {batch} の振替結果は {describe_import(done)} で取込済みです。何も記録していません。")
    errors, pairs, used, mentioned = [], [], set(), set()
    items = list(batch.items)
    term = member_term()
    for record in parsed.records:
        matches = [i for i in items if i.id not in used and _same_number(record.customer_number, i.customer_number)]
        if not matches:
            errors.append(f"{record.record_no}件目: 顧客番号「{record.customer_number.strip()}」は {batch} にありません。")
            continue
        mentioned.add(matches[0].id)
        item = next((i for i in matches if i.amount == record.amount), None)
        if item is None:
            errors.append(f"{record.record_no}件目（{term} {matches[0].member.code}）: 金額が {record.amount:,}円です"
                          f"（依頼は {matches[0].amount:,}円）。")
            continue
        if (record.bank_code, record.branch_code, record.account_number) != (
                item.bank_code, item.branch_code, item.account_number):
            errors.append(f"{record.record_no}件目（{term} {item.member.code}）: 口座が依頼と違います"
                          f"（{record.bank_code}-{record.branch_code} {record.account_number}）。")
            continue
        used.add(item.id)
        pairs.append((record, item))
    for item in items:
        if item.id not in used and item.id not in mentioned:
            errors.append(f"{term} {item.member.code} {item.member.name}: 振替結果にこの{term}のレコードがありません。")
    if errors:
        raise ResultFileRefused(file_name, errors)
    row = DebitResultImport(batch=batch, file_name=file_name, sha256=digest, imported_by=current_actor()[0],
                            paid_count=parsed.paid_count, paid_amount=parsed.paid_amount,
                            failed_count=parsed.failed_count, failed_amount=parsed.failed_amount,
                            unknown_count=sum(1 for r in parsed.records if not r.known_code))
    db.session.add(row)
    db.session.flush()
    failed, warnings, moved = [], list(parsed.warnings), []
    for record, item in pairs:
        item.result_code, item.result_import_id = record.result_code, row.id
        if record.paid:
            # Matched on the record as sent; the money counts where the invoice's balance lives now (an
            # invoice corrected, or its balance carried, after the file was sent).
            invoice, why = paying_invoice(item.invoice)
            db.session.add(Payment(invoice_id=invoice.id, member_id=item.member_id, amount=item.amount,
                                   received_on=batch.debit_date, method="debit", result_import_id=row.id,
                                   created_by=current_actor()[0]))
            if why:
                moved.append((item, invoice, why))
        else:
            failed.append(FailedDebit(item.member.code, item.member.name, item.amount, record.result_code,
                                      result_reason(record.result_code), record.known_code))
    batch.status = RESULT_IMPORTED
    db.session.flush()
    for item, invoice, why in moved:
        warnings.append(f"{term} {item.member.code} {item.member.name}: {'、'.join(why)}。振替済 {item.amount:,}円は"
                        f"請求書 {invoice.number} の入金として記録しました（{_balance_words(invoice.id)}）。")
    return ResultImportSummary(row, batch, failed, warnings)


def _balance_words(invoice_id: int) -> str:
    """What the invoice's payments leave, in words: staff see at once what is still owed or paid twice."""
    r = receivable_of(invoice_id)
    total = int(r.invoice.total)
    if r.received < total:
        return f"請求金額 {total:,}円、入金計 {r.received:,}円、未収 {total - r.received:,}円"
    if r.received > total:
        return (f"請求金額 {total:,}円、入金計 {r.received:,}円、過入金 {r.received - total:,}円は"
                "次の請求書で前月繰越（貸方）になります")
    return f"請求金額 {total:,}円、入金済"


def failed_debits(row: DebitResultImport) -> list[FailedDebit]:
    """The records of an imported result that were not paid, with the reason in Japanese."""
    return [FailedDebit(i.member.code, i.member.name, i.amount, i.result_code, result_reason(i.result_code),
                        i.result_code in "0123489")
            for i in row.batch.items if i.result_import_id == row.id and i.result_code != "0"]

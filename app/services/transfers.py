"""振込入金 (transfers received) and what is still owed.

A transfer is entered by hand or imported from the bank's statement CSV (日付, 振込依頼人名カナ, 金額; UTF-8 or
cp932, a header line allowed; all lines or none, the same file twice refused). Each one waits on the 振込入金
screen with the invoices suggested for it (app.domain.reconciliation.suggest: by the payer's kana and the amount
still owed) until staff match it (消込), which records a payment (入金, 振込) against that invoice."""
import csv
import datetime as dt
import io

from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.domain.japanese_date import parse_date_input
from app.domain.reconciliation import Candidate, suggest
from app.extensions import db
from app.models import Member
from app.models.billing import ISSUED, Invoice
from app.models.payment import Payment, TransferReceipt

from .actor import current_actor
from .receivables import paying_invoice
from .unit_of_work import transactional
from .uploads import read_named_file


class TransferImportRefused(DomainError):
    def __init__(self, file_name: str, errors: list[str]):
        self.errors = errors
        super().__init__(f"{file_name}: 振込入金のCSVに{len(errors)}件の誤りがあるため取り込みませんでした。何も登録していません。")


def received_by_invoice(invoice_ids=None) -> dict[int, int]:
    """Payments received per invoice (all invoices, or those given)."""
    query = select(Payment.invoice_id, func.sum(Payment.amount)).group_by(Payment.invoice_id)
    if invoice_ids is not None:
        query = query.where(Payment.invoice_id.in_(list(invoice_ids)))
    return {invoice_id: int(total) for invoice_id, total in db.session.execute(query)}


def outstanding_invoices() -> list[tuple[Invoice, Member, int]]:
    """Issued invoices with something still owed: (invoice, member, amount owed). A balance carried into a later
    invoice lives there now (receivables.paying_invoice: a payment matched to the carried invoice is recorded on
    the carrying one), so it is offered once, on the carrying invoice with that invoice's balance — never on the
    carried invoice with its old balance, which would invite matching the same money twice."""
    received = received_by_invoice()
    rows = db.session.execute(select(Invoice, Member).join(Member, Member.id == Invoice.member_id)
                              .where(Invoice.status == ISSUED, Invoice.total > 0,
                                     Invoice.credit_carried_to_invoice_id.is_(None))
                              .order_by(Invoice.month, Member.code)).all()
    return [(invoice, member, int(invoice.total) - received.get(invoice.id, 0)) for invoice, member in rows
            if int(invoice.total) > received.get(invoice.id, 0)]


def _amount(value) -> int:
    text = str(value or "").replace(",", "").replace("円", "").strip()
    if not text.isdigit() or int(text) <= 0:
        raise DomainError(f"金額「{value}」は1円以上の整数です。", "amount")
    return int(text)


def _receipt(received_on, payer_kana, amount, source, file_sha256=None) -> TransferReceipt:
    payer = (payer_kana or "").strip()
    if not payer:
        raise DomainError("振込依頼人名を入力してください。", "payer_kana")
    day = received_on if isinstance(received_on, dt.date) else parse_date_input(str(received_on or ""))
    return TransferReceipt(received_on=day, payer_kana=payer[:60], amount=_amount(amount), source=source,
                           file_sha256=file_sha256, created_by=current_actor()[0])


@transactional
def add_transfer(received_on, payer_kana, amount) -> TransferReceipt:
    receipt = _receipt(received_on, payer_kana, amount, "手入力")
    db.session.add(receipt)
    db.session.flush()
    return receipt


@transactional
def import_transfer_csv(source, file_name: str | None = None) -> str:
    file_name, body, digest = read_named_file(source, file_name, "振込入金", "PAYMENT_FILE_MAX_BYTES")
    earlier = db.session.scalar(select(TransferReceipt).where(TransferReceipt.file_sha256 == digest).limit(1))
    if earlier is not None:
        raise DomainError(f"{file_name}: 同じファイルは {earlier.created_at:%Y/%m/%d %H:%M} に {earlier.created_by or ''} が"
                          f"取込済みです（{earlier.source.rsplit(' ', 1)[0]}）。何も登録していません。")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = body.decode("cp932", errors="replace")
    errors, receipts = [], []
    for line_no, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not any(cell.strip() for cell in row):
            continue
        if line_no == 1 and row and not any(ch.isdigit() for ch in row[0]):
            continue  # header line (日付,振込依頼人名,金額)
        if len(row) < 3:
            errors.append(f"{line_no}行目: 日付・振込依頼人名・金額の3列が必要です。")
            continue
        if any(cell.strip() for cell in row[3:]):
            errors.append(f"{line_no}行目: 列が4つ以上あります（金額に「,」を含めるときは \"2,000\" のように引用符で囲んでください）。")
            continue
        try:
            receipts.append(_receipt(row[0].strip(), row[1], row[2], f"{file_name} {line_no}行目", digest))
        except DomainError as error:
            errors.append(f"{line_no}行目: {error.message}")
    if errors:
        raise TransferImportRefused(file_name, errors)
    if not receipts:
        raise TransferImportRefused(file_name, ["振込入金の行がありません。"])
    db.session.add_all(receipts)
    db.session.flush()
    return f"{file_name}: 振込入金 {len(receipts):,}件（{sum(r.amount for r in receipts):,}円）を登録しました。消込を待っています。"


def open_receipts() -> list[TransferReceipt]:
    return db.session.scalars(select(TransferReceipt).where(~TransferReceipt.payment.has())
                              .order_by(TransferReceipt.received_on, TransferReceipt.id)).all()


def suggestions_for(receipts: list[TransferReceipt]) -> dict[int, list[tuple]]:
    """receipt id → [(suggestion, invoice, member, owed)], best first."""
    owed = outstanding_invoices()
    by_id = {invoice.id: (invoice, member, amount) for invoice, member, amount in owed}
    candidates = [Candidate(invoice.id, (member.kana or "", member.account_holder_kana or "", member.name or ""), amount)
                  for invoice, member, amount in owed]
    return {receipt.id: [(s, *by_id[s.invoice_id]) for s in suggest(receipt.payer_kana, int(receipt.amount), candidates)]
            for receipt in receipts}


@transactional
def match_transfer(receipt_id: int, invoice_id: int) -> Payment:
    receipt = db.session.get(TransferReceipt, receipt_id)
    invoice = db.session.get(Invoice, invoice_id)
    if receipt is None or invoice is None or invoice.status != ISSUED:
        raise DomainError("振込入金または請求書が見つかりません（取消済みの請求書には消し込めません）。")
    if receipt.payment is not None:
        raise DomainError(f"{receipt} は請求書 {receipt.payment.invoice.number} に消込済みです。")
    # A balance already carried into a later invoice is owed there: the payment counts on that invoice (paid
    # twice, the excess shows as 過入金 there and is carried on as a credit).
    invoice, _ = paying_invoice(invoice)
    payment = Payment(invoice_id=invoice.id, member_id=invoice.member_id, amount=int(receipt.amount),
                      received_on=receipt.received_on, method="transfer", transfer_receipt_id=receipt.id,
                      created_by=current_actor()[0])
    db.session.add(payment)
    db.session.flush()
    return payment

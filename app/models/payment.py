"""入金 (payments): 収納代行・委託者 (collection profiles: one per bank, card company or factoring company
that debits members' accounts) and the 全銀 debit files produced for them (debit batches), with the
invoices each file debits. See docs/payments.md."""
from sqlalchemy import (JSON, BigInteger, Boolean, Column, Date, DateTime, ForeignKey, Integer, LargeBinary, String,
                        UniqueConstraint, false)
from sqlalchemy.orm import relationship

from flask_appbuilder import Model

from .mixins import BankAccountMixin, TimestampMixin, now_jst

PROFILE_KINDS = {"bank": "銀行", "card_company": "カード会社（収納代行）", "factoring": "ファクタリング会社"}

GENERATED, SENT, RESULT_IMPORTED, REPLACED = "generated", "sent", "result_imported", "replaced"
BATCH_STATUSES = {GENERATED: "作成済", SENT: "送信済", RESULT_IMPORTED: "結果取込済", REPLACED: "差し替え済"}
# A batch in these states went to the collector and may still be (or was) debited: a second one of the same
# profile and month must not go too (docs/payments.md, 送信と差し替え).
DELIVERED = (SENT, RESULT_IMPORTED)


class CollectionProfile(TimestampMixin, BankAccountMixin, Model):
    """収納代行・委託者: who debits the members (委託者コード and 委託者名 given by that collector), the
    collector's account where the money arrives (取引銀行・支店・預金種目・口座番号: BankAccountMixin), the
    debit day, and the file variant it wants (zengin-format.md §8)."""

    __tablename__ = "collection_profile"
    id = Column(Integer, primary_key=True)
    code = Column(String(20), nullable=False, unique=True)  # what CLI options and YAML name it by
    name = Column(String(100), nullable=False)
    kind = Column(String(20), nullable=False, default="bank")
    requester_code = Column(String(10))  # 委託者コード N(10)
    requester_name_kana = Column(String(40))  # 委託者名, half-width kana as written in the file
    debit_day = Column(Integer)  # 振替日 (day of month); empty: the operator's
    separator = Column(String(10), nullable=False, default="crlf", server_default="crlf")  # crlf / none
    customer_number = Column(String(10), nullable=False, default="numeric", server_default="numeric")
    charset = Column(String(10), nullable=False, default="strict", server_default="strict")  # strict / wide
    use_new_code = Column(Boolean, nullable=False, default=False, server_default=false())  # 新規コード 1/2
    use_edi = Column(Boolean, nullable=False, default=False, server_default=false())  # 総合振込: EDI情報
    note = Column(String(200))

    def __repr__(self):
        return f"{self.code} {self.name}"

    def kind_name(self) -> str:
        return PROFILE_KINDS.get(self.kind, self.kind)


class DebitBatch(Model):
    """One 全銀 口座振替 依頼ファイル (種別91) for a collection profile and a closed month: its bytes as
    sent and their SHA-256. Generating again for the same invoices gives the same bytes (and this
    batch); changed invoices give a new numbered batch. generated → sent → result imported; a sent batch
    becomes replaced when the collector took a later batch of the same month in its place (差し替え)."""

    __tablename__ = "debit_batch"
    __table_args__ = (UniqueConstraint("profile_id", "month", "number", name="uq_debit_batch_number"),)
    id = Column(Integer, primary_key=True)
    profile_id = Column(Integer, ForeignKey("collection_profile.id"), nullable=False, index=True)
    profile = relationship("CollectionProfile")
    month = Column(String(7), nullable=False, index=True)  # usage month YYYY-MM
    number = Column(Integer, nullable=False)  # 1, 2, … per profile and month
    status = Column(String(20), nullable=False, default=GENERATED)
    debit_date = Column(Date, nullable=False)
    record_count = Column(Integer, nullable=False)
    total_amount = Column(BigInteger, nullable=False)
    content = Column(LargeBinary, nullable=False)
    sha256 = Column(String(64), nullable=False)
    excluded = Column(JSON)  # [{member_code, member_name, invoice_number, amount, reason}]
    created_at = Column(DateTime, nullable=False, default=now_jst)
    created_by = Column(String(128))
    sent_at = Column(DateTime)
    sent_by = Column(String(128))
    # 差し替え: the collector accepted the batch named here in place of this one (never debited, no result).
    replaced_by_batch_id = Column(Integer, ForeignKey("debit_batch.id"))
    replaced_by_batch = relationship("DebitBatch", remote_side=[id], foreign_keys=[replaced_by_batch_id])
    replaced_at = Column(DateTime)
    replaced_by = Column(String(128))
    replacement_reason = Column(String(200))

    items = relationship("DebitBatchItem", order_by="DebitBatchItem.line_no", viewonly=True)

    def __repr__(self):
        return f"口座振替データ {self.month} {self.profile.code if self.profile else ''} 第{self.number}回"

    def status_name(self) -> str:
        return BATCH_STATUSES.get(self.status, self.status)

    @property
    def file_name(self) -> str:
        code = self.profile.code if self.profile else "profile"
        return f"debit_{code}_{self.month}_{self.number}.txt"


class DebitBatchItem(Model):
    """A data record of a debit batch: which invoice it debits, under which 顧客番号, for how much."""

    __tablename__ = "debit_batch_item"
    id = Column(Integer, primary_key=True)
    batch_id = Column(Integer, ForeignKey("debit_batch.id"), nullable=False, index=True)
    line_no = Column(Integer, nullable=False)  # 1-based data record number
    invoice_id = Column(Integer, ForeignKey("invoice.id"), nullable=False, index=True)
    invoice = relationship("Invoice")
    member_id = Column(Integer, ForeignKey("member.id"), nullable=False, index=True)
    member = relationship("Member")
    customer_number = Column(String(20), nullable=False)
    amount = Column(BigInteger, nullable=False)
    # The account as written in the record: result records are matched on it too (zengin-format.md §2.5), and
    # the next month's 新規コード compares with it (2 = 変更分).
    bank_code = Column(String(4), nullable=False)
    branch_code = Column(String(3), nullable=False)
    account_type = Column(Integer, nullable=False)
    account_number = Column(String(7), nullable=False)
    holder_name = Column(String(30), nullable=False)  # 預金者名 as written (half-width)
    new_code = Column(String(1), nullable=False, default="0")
    # 振替結果 (docs/payments.md): the bank's code for this record once its result file is imported.
    result_code = Column(String(1))
    result_import_id = Column(Integer, ForeignKey("debit_result_import.id"), index=True)


class DebitResultImport(Model):
    """振替結果: one imported result file of a debit batch (the same file twice is refused by its SHA-256)."""

    __tablename__ = "debit_result_import"
    id = Column(Integer, primary_key=True)
    batch_id = Column(Integer, ForeignKey("debit_batch.id"), nullable=False, unique=True)
    batch = relationship("DebitBatch")
    file_name = Column(String(255), nullable=False)
    sha256 = Column(String(64), nullable=False, unique=True)
    imported_at = Column(DateTime, nullable=False, default=now_jst)
    imported_by = Column(String(128))
    paid_count = Column(Integer, nullable=False, default=0)
    paid_amount = Column(BigInteger, nullable=False, default=0)
    failed_count = Column(Integer, nullable=False, default=0)
    failed_amount = Column(BigInteger, nullable=False, default=0)
    unknown_count = Column(Integer, nullable=False, default=0)  # codes outside the JBA list (not paid)

    def __repr__(self):
        return f"振替結果 {self.file_name}"


PAYMENT_METHODS = {"debit": "口座振替", "transfer": "振込"}


class Payment(Model):
    """入金: money received against an invoice — a 振替済 record of a result file, or a transfer matched to
    the invoice (by hand or from a CSV line). An invoice is paid when its payments reach its total."""

    __tablename__ = "payment"
    id = Column(Integer, primary_key=True)
    invoice_id = Column(Integer, ForeignKey("invoice.id"), nullable=False, index=True)
    invoice = relationship("Invoice")
    member_id = Column(Integer, ForeignKey("member.id"), nullable=False, index=True)
    member = relationship("Member")
    amount = Column(BigInteger, nullable=False)
    received_on = Column(Date, nullable=False)
    method = Column(String(20), nullable=False)  # debit / transfer
    result_import_id = Column(Integer, ForeignKey("debit_result_import.id"), index=True)
    transfer_receipt_id = Column(Integer, ForeignKey("transfer_receipt.id"), unique=True)
    created_at = Column(DateTime, nullable=False, default=now_jst)
    created_by = Column(String(128))

    def __repr__(self):
        return f"入金 {self.amount:,}円（{PAYMENT_METHODS.get(self.method, self.method)} {self.received_on}）"


class TransferReceipt(Model):
    """振込入金: one transfer received (from the bank's statement CSV, or typed in), waiting to be matched
    to an invoice (消込) or matched (its payment)."""

    __tablename__ = "transfer_receipt"
    id = Column(Integer, primary_key=True)
    received_on = Column(Date, nullable=False)
    payer_kana = Column(String(60), nullable=False)  # 振込依頼人名 as the bank shows it
    amount = Column(BigInteger, nullable=False)
    source = Column(String(255), nullable=False)  # file name and line, or 手入力
    file_sha256 = Column(String(64), index=True)  # the CSV it came from (the same file twice is refused)
    created_at = Column(DateTime, nullable=False, default=now_jst)
    created_by = Column(String(128))
    payment = relationship("Payment", uselist=False, viewonly=True)

    def __repr__(self):
        return f"振込入金 {self.received_on} {self.payer_kana} {self.amount:,}円"


WRITE_OFF_REQUESTED, WRITE_OFF_APPROVED, WRITE_OFF_REJECTED = "requested", "approved", "rejected"
# A request still waiting when its invoice is corrected is withdrawn (docs/payments.md, 償却): its amount and
# reason were the cancelled invoice's, so staff ask again on the corrected one.
WRITE_OFF_WITHDRAWN = "withdrawn"
WRITE_OFF_STATUSES = {WRITE_OFF_REQUESTED: "承認待ち", WRITE_OFF_APPROVED: "承認済（償却）", WRITE_OFF_REJECTED: "却下",
                      WRITE_OFF_WITHDRAWN: "取下げ（請求書の訂正）"}


class WriteOff(Model):
    """未収の償却 (write-off): staff ask, with a reason, that an unpaid invoice is not carried to the next one;
    the 責任者 approves (or rejects). An approved write-off stops the carry-over of that invoice's balance, up to
    its amount; a correction moves it to the corrected invoice, or withdraws it while it waits."""

    __tablename__ = "write_off"
    id = Column(Integer, primary_key=True)
    invoice_id = Column(Integer, ForeignKey("invoice.id"), nullable=False, index=True)
    invoice = relationship("Invoice")
    member_id = Column(Integer, ForeignKey("member.id"), nullable=False, index=True)
    member = relationship("Member")
    amount = Column(BigInteger, nullable=False)  # the balance written off
    reason = Column(String(200), nullable=False)
    status = Column(String(20), nullable=False, default=WRITE_OFF_REQUESTED)
    requested_by = Column(String(128), nullable=False)
    requested_at = Column(DateTime, nullable=False, default=now_jst)
    decided_by = Column(String(128))
    decided_at = Column(DateTime)

    def __repr__(self):
        return f"償却 {self.amount:,}円（{self.reason}）"

    def status_name(self) -> str:
        if self.status == WRITE_OFF_WITHDRAWN and self.invoice is not None and self.invoice.cancelled_by_invoice:
            return (f"取下げ（請求書 {self.invoice.number} は訂正により請求書 {self.invoice.cancelled_by_invoice.number} "
                    "に替わりました。償却は訂正後の請求書で改めて依頼してください）")
        return WRITE_OFF_STATUSES.get(self.status, self.status)

"""請求処理 (billing runs), 請求書 (invoices) with their lines and per-rate tax subtotals, 訂正 (adjustments),
the invoice number counter and the road operators' reported discounts (for the operator check).

A closed run and an issued invoice never change: corrections are new rows that point at the old ones
(InvoiceAdjustment billed next month, or a corrected invoice that cancels the original). Amounts are
integer yen. See docs/billing.md."""
from sqlalchemy import (JSON, BigInteger, Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.orm import relationship

from flask_appbuilder import Model

from app.domain.tariff import kept_for_line

from .mixins import now_jst

DRAFT, CLOSED = "draft", "closed"
RUN_STATUSES = {DRAFT: "下書き", CLOSED: "締め済"}

INVOICE_DRAFT, ISSUED, CANCELLED = "draft", "issued", "cancelled"
INVOICE_STATUSES = {INVOICE_DRAFT: "下書き", ISSUED: "発行済", CANCELLED: "取消（訂正済）"}
REGULAR, CORRECTED = "regular", "corrected"
INVOICE_KINDS = {REGULAR: "通常", CORRECTED: "訂正"}
LINE_KINDS = {"usage": "通行料金", "member_discount": "割引", "fee": "手数料", "adjustment": "訂正",
              "rebate": "還元", "operator_discount": "道路事業者割引", "carried_over": "前月繰越（貸方）",
              "non_taxable": "不課税"}


class BillingRun(Model):
    """請求処理: one billing month, draft → closed. A closed month never changes (imports included)."""

    __tablename__ = "billing_run"
    id = Column(Integer, primary_key=True)
    month = Column(String(7), nullable=False, unique=True)  # YYYY-MM
    status = Column(String(10), nullable=False, default=DRAFT)
    created_at = Column(DateTime, nullable=False, default=now_jst)
    recomputed_at = Column(DateTime)  # last run_billing of the draft
    recompute_count = Column(Integer, nullable=False, default=0, server_default="0")
    closed_at = Column(DateTime)
    closed_by = Column(String(128))
    # when the close computed and kept the month's 代理店手数料 (agency_commission); NULL for months closed
    # before they were kept, whose commissions are computed from the current data
    agency_commissions_at = Column(DateTime)
    member_count = Column(Integer, nullable=False, default=0, server_default="0")  # members invoiced
    invoice_count = Column(Integer, nullable=False, default=0, server_default="0")
    # 通行料金 (as billed by the road operators)
    usage_total = Column(BigInteger, nullable=False, default=0, server_default="0")
    # 車両単位割引 received (computed)
    operator_discount_total = Column(BigInteger, nullable=False, default=0, server_default="0")
    # 契約単位割引 received (computed)
    contract_discount_total = Column(BigInteger, nullable=False, default=0, server_default="0")
    # discounts passed on to members (positive)
    discount_total = Column(BigInteger, nullable=False, default=0, server_default="0")
    fee_total = Column(BigInteger, nullable=False, default=0, server_default="0")
    adjustment_total = Column(BigInteger, nullable=False, default=0, server_default="0")
    tax_total = Column(BigInteger, nullable=False, default=0, server_default="0")
    total = Column(BigInteger, nullable=False, default=0, server_default="0")
    # What the draft was computed from (usage, events, adjustments, cards, members, tariff): the close
    # refuses a draft whose inputs changed since (re-run the billing first).
    input_fingerprint = Column(String(64))
    # A cheap summary of the same inputs (app.services.billing.inputs.input_stamp: no pass over the usage
    # rows), compared by the review page on every view: 「入力が変わりました — 再計算してください」.
    input_stamp = Column(String(64))
    # The warnings as the draft found them (code, message, count, blocking, level): what the review page
    # shows while the stamp is unchanged, instead of counting the month's usage rows on every view.
    draft_warnings = Column(JSON)
    # 振込の消込完了 (issue 11): staff declare the month's transfers matched; only then do its 振込 invoices
    # still unpaid carry into the next invoice as 前月未収額 (a transfer not yet entered is never billed twice).
    transfers_reconciled_at = Column(DateTime)
    transfers_reconciled_by = Column(String(128))

    def __repr__(self):
        return f"{self.month} {RUN_STATUSES.get(self.status, self.status)}"

    def status_name(self) -> str:
        return RUN_STATUSES.get(self.status, self.status)

    def credit_count(self) -> int:
        """Issued invoices of the run whose total is below zero (貸方: not debited, carried forward)."""
        return sum(1 for invoice in self.invoices if invoice.status == ISSUED and invoice.total < 0)


class Invoice(Model):
    """請求書: one member, one month. Draft rows are replaced on every recomputation; the number,
    invoice date and debit date are set at the close, after which the row never changes except for
    being marked cancelled by a corrected invoice."""

    __tablename__ = "invoice"
    __table_args__ = (
        # One regular invoice per member and month (double billing is impossible by construction);
        # corrected invoices may follow one another.
        Index("uq_invoice_regular_member_month", "member_id", "month", "kind", unique=True,
              sqlite_where=text("kind = 'regular'"), postgresql_where=text("kind = 'regular'")),
        Index("ix_invoice_month_member", "month", "member_id"),
    )
    id = Column(Integer, primary_key=True)
    billing_run_id = Column(Integer, ForeignKey("billing_run.id"), nullable=False, index=True)
    billing_run = relationship("BillingRun", backref="invoices")
    member_id = Column(Integer, ForeignKey("member.id"), nullable=False, index=True)
    member = relationship("Member")
    month = Column(String(7), nullable=False)  # usage month YYYY-MM
    kind = Column(String(10), nullable=False, default=REGULAR)
    status = Column(String(10), nullable=False, default=INVOICE_DRAFT)
    number = Column(String(20), unique=True)  # NULL until the close (docs/billing.md: numbering)
    invoice_date = Column(Date)
    debit_date = Column(Date)
    payment_method = Column(String(20))  # the member's at computation time
    usage_total = Column(BigInteger, nullable=False, default=0)
    discount_total = Column(BigInteger, nullable=False, default=0)  # positive: what the member saves
    fee_total = Column(BigInteger, nullable=False, default=0)
    adjustment_total = Column(BigInteger, nullable=False, default=0)  # signed
    taxable_total = Column(BigInteger, nullable=False, default=0)  # 10% 対象（税込）
    tax_amount = Column(BigInteger, nullable=False, default=0)  # うち消費税 (once per rate)
    non_taxable_total = Column(BigInteger, nullable=False, default=0)
    total = Column(BigInteger, nullable=False, default=0)  # 請求金額
    operator_discount_total = Column(BigInteger, nullable=False, default=0)  # 車両単位割引 on its cards (margin)
    # Indexed: deleting draft invoices checks these references (PostgreSQL would scan the table per row).
    corrects_invoice_id = Column(Integer, ForeignKey("invoice.id"), index=True)
    cancelled_by_invoice_id = Column(Integer, ForeignKey("invoice.id"), index=True)
    correction_reason = Column(String(200))
    # A credit (total < 0, no debit) is carried whole into the member's next invoice as 前月繰越（貸方）;
    # set when that invoice's month is closed, so a credit is carried once and recomputing a draft
    # before then carries it again (docs/billing.md).
    credit_carried_to_invoice_id = Column(Integer, ForeignKey("invoice.id"), index=True)
    created_at = Column(DateTime, nullable=False, default=now_jst)
    issued_at = Column(DateTime)
    created_by = Column(String(128))
    # The tariff rule versions the invoice was computed with (issue 8 item 15), kept once per draft
    # instead of on every line: each line reads its own through its rule id (InvoiceLine.rule_params).
    kept_rule_versions_id = Column(Integer, ForeignKey("kept_rule_versions.id"))
    kept_rule_versions = relationship("KeptRuleVersions")

    lines = relationship("InvoiceLine", order_by="InvoiceLine.position", viewonly=True)
    tax_subtotals = relationship("InvoiceTaxSubtotal", viewonly=True)
    corrects_invoice = relationship("Invoice", remote_side=[id], foreign_keys=[corrects_invoice_id])
    cancelled_by_invoice = relationship("Invoice", remote_side=[id], foreign_keys=[cancelled_by_invoice_id])
    credit_carried_to_invoice = relationship("Invoice", remote_side=[id], foreign_keys=[credit_carried_to_invoice_id])

    def __repr__(self):
        return f"請求書 {self.number or '（未採番）'} {self.month}"

    def status_name(self) -> str:
        return INVOICE_STATUSES.get(self.status, self.status)

    def kind_name(self) -> str:
        return INVOICE_KINDS.get(self.kind, self.kind)

    @property
    def is_credit(self) -> bool:
        """A credit (貸方): nothing to debit; carried to the member's next invoice."""
        return (self.total or 0) < 0


class InvoiceLine(Model):
    __tablename__ = "invoice_line"
    __table_args__ = (Index("ix_invoice_line_invoice", "invoice_id", "position"),)
    id = Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    invoice_id = Column(Integer, ForeignKey("invoice.id"), nullable=False)
    position = Column(Integer, nullable=False)
    kind = Column(String(20), nullable=False)  # usage, member_discount, fee, adjustment …
    description = Column(String(200), nullable=False)
    card_id = Column(Integer, ForeignKey("card.id"), index=True)  # indexed for deleting cards (FK check)
    amount = Column(BigInteger, nullable=False)  # signed yen, tax included
    tax_category = Column(String(10), nullable=False)  # 10% / 不課税
    rule_id = Column(String(130))
    breakdown = Column(Text)
    invoice = relationship("Invoice", viewonly=True)

    def kind_name(self) -> str:
        return LINE_KINDS.get(self.kind, self.kind)

    @property
    def rule_params(self) -> list[dict] | None:
        """The rule versions the line was computed with (id, label, valid_from, params, rounding; both of a
        'ruleA+ruleB' line): a rule corrected after the month closed does not change what the closed
        invoice says it used (issue 8 item 15). Read from the invoice's kept rule versions."""
        kept = self.invoice.kept_rule_versions if self.invoice is not None else None
        return kept_for_line(self.rule_id, kept.versions if kept is not None else None)


class KeptRuleVersions(Model):
    """The tariff rule versions a draft (or a corrected invoice) was computed with, as invoice lines show
    them (app.domain.tariff.kept_rule_versions): one row per distinct content, found by its SHA-256
    (unique; inserted if absent, so every month computed with the same tariff shares one row). Rows are
    never changed or deleted: a closed invoice points at what it used, whatever the tariff becomes."""

    __tablename__ = "kept_rule_versions"
    id = Column(Integer, primary_key=True)
    sha256 = Column(String(64), nullable=False, unique=True)
    versions = Column(JSON, nullable=False)  # [{id, label, type, valid_from, valid_to, params, rounding}]
    created_at = Column(DateTime, nullable=False, default=now_jst)


class InvoiceTaxSubtotal(Model):
    """Per tax rate: the total including tax and the tax in it, rounded once (インボイス制度)."""

    __tablename__ = "invoice_tax_subtotal"
    id = Column(Integer, primary_key=True)
    invoice_id = Column(Integer, ForeignKey("invoice.id"), nullable=False, index=True)
    category = Column(String(10), nullable=False)
    total_including_tax = Column(BigInteger, nullable=False)
    tax = Column(BigInteger, nullable=False)


class InvoiceAdjustment(Model):
    """訂正: an extra charge (+) or a credit (−) against an issued invoice, billed on the member's
    invoice of the next open month (billed_invoice_id is set when that month closes)."""

    __tablename__ = "invoice_adjustment"
    id = Column(Integer, primary_key=True)
    original_invoice_id = Column(Integer, ForeignKey("invoice.id"), nullable=False, index=True)
    original_invoice = relationship("Invoice", foreign_keys=[original_invoice_id])
    member_id = Column(Integer, ForeignKey("member.id"), nullable=False, index=True)
    member = relationship("Member")
    amount = Column(BigInteger, nullable=False)
    description = Column(String(200), nullable=False)
    created_by = Column(String(128), nullable=False)
    created_at = Column(DateTime, nullable=False, default=now_jst)
    billed_invoice_id = Column(Integer, ForeignKey("invoice.id"), index=True)
    billed_invoice = relationship("Invoice", foreign_keys=[billed_invoice_id])

    def __repr__(self):
        return f"訂正 {self.amount:+,}円（{self.description}）"


class InvoiceNumberCounter(Model):
    """The one gap-free invoice number sequence: last number handed out. Locked (SELECT … FOR UPDATE
    on PostgreSQL) by the transaction that numbers invoices; rolled back with it."""

    __tablename__ = "invoice_number_counter"
    name = Column(String(20), primary_key=True)
    last_value = Column(BigInteger, nullable=False, default=0)


class OperatorDiscountReport(Model):
    """What a road operator reports as its discount for a card (or, with no card, for the contract)
    in a month: checked against Tollbook's computation (operator check)."""

    __tablename__ = "operator_discount_report"
    __table_args__ = (UniqueConstraint("month", "road_operator", "card_number", "source",
                                       name="uq_operator_discount_report"),)
    id = Column(Integer, primary_key=True)
    month = Column(String(7), nullable=False, index=True)
    road_operator = Column(String(40), nullable=False)
    card_number = Column(String(16), nullable=False, default="")  # '' = contract-level (契約単位割引)
    amount = Column(BigInteger, nullable=False)
    source = Column(String(255), nullable=False)
    imported_at = Column(DateTime, nullable=False, default=now_jst)


class MonthLock(Model):
    """One row per usage month, locked (SELECT … FOR UPDATE) by every transaction that changes what
    the month bills: imports, card events, card assignments, the draft, the close and re-issues
    (app/services/month_lock.py). On SQLite the same transactions begin with BEGIN IMMEDIATE instead."""

    __tablename__ = "month_lock"
    month = Column(String(7), primary_key=True)  # YYYY-MM


class BillingDiscount(Model):
    """The road operators' discounts as the draft computed them, per card and rule (車両単位割引) and per
    contract rule (契約単位割引, card_id NULL): what the operator check shows next to the reported amounts,
    read as stored instead of aggregating the month's usage again on every view. Rewritten with the draft."""

    __tablename__ = "billing_discount"
    id = Column(Integer, primary_key=True)
    billing_run_id = Column(Integer, ForeignKey("billing_run.id"), nullable=False, index=True)
    rule_id = Column(String(60), nullable=False)
    road_operator = Column(String(40), nullable=False, default="")
    card_id = Column(Integer)  # NULL: the contract-level discount
    card_number = Column(String(16), nullable=False, default="")
    member_id = Column(Integer)
    discount_base = Column(BigInteger, nullable=False, default=0)  # 割引対象額
    discount = Column(BigInteger, nullable=False, default=0)  # computed
    comparable = Column(Boolean, nullable=False, default=True)  # compared with the operator's report

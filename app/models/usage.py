"""走行明細 (usage records), the import batches they came in, import profiles and the IC master."""
from sqlalchemy import (JSON, BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer, SmallInteger, String,
                        Text, false, text)
from sqlalchemy.orm import relationship, validates

from flask_appbuilder import Model

from app.domain.ic_name import normalize_ic_name

from .mixins import TimestampMixin, now_jst

# Flags on a usage record (bit mask): what the office must look at.
FLAG_UNREGISTERED_CARD = 1  # 未登録カード: the card number is not in the master
FLAG_USED_AFTER_LOSS = 2  # 紛失後利用: used on or after the card's loss / cancellation date
# 重複の疑い: the same card, exit date-time, exit IC and 通行料金 as a row of another live batch (the same
# trip delivered in two files). Kept, listed, NOT billed until staff confirm it as a separate trip.
FLAG_SUSPECTED_DUPLICATE = 4
# 期ずれ: dated more than one month away from the file's month. NOT billed until staff accept it.
FLAG_OFF_MONTH = 8
# Staff looked at the row: a genuine separate trip, or an accepted 期ずれ. Re-checks never re-flag it.
FLAG_CONFIRMED = 16
FLAG_NAMES = {FLAG_UNREGISTERED_CARD: "未登録カード", FLAG_USED_AFTER_LOSS: "紛失後利用",
              FLAG_SUSPECTED_DUPLICATE: "重複の疑い", FLAG_OFF_MONTH: "期ずれ", FLAG_CONFIRMED: "確認済"}
# The one place that says which flags keep a row out of billing. A row is billable iff it has a
# member and a card, its batch is active, and flags & NOT_BILLED_FLAGS == 0.
NOT_BILLED_FLAGS = FLAG_SUSPECTED_DUPLICATE | FLAG_OFF_MONTH
# flags the office must still act on (FLAG_CONFIRMED is a record of a decision, not a warning)
ATTENTION_FLAGS = FLAG_UNREGISTERED_CARD | FLAG_USED_AFTER_LOSS | NOT_BILLED_FLAGS
ALL_FLAGS = sum(FLAG_NAMES)


def flag_values(bits: int) -> list[int]:
    """Every flags value with one of `bits` set: `flags IN (…)` can use the (usage_month, flags) index,
    `flags & bit` cannot."""
    return [value for value in range(ALL_FLAGS + 1) if value & bits]

# Where a row's road operator came from.
OPERATOR_FROM_FILE, OPERATOR_FROM_IC, OPERATOR_FROM_STAFF = "file", "ic", "staff"

BATCH_ACTIVE, BATCH_REPLACED, BATCH_DELETED = "active", "replaced", "deleted"
BATCH_STATUSES = {BATCH_ACTIVE: "取込済", BATCH_REPLACED: "差替済（旧）", BATCH_DELETED: "削除済"}


class ImportProfile(TimestampMixin, Model):
    """取込形式: how one kind of usage file is laid out. Data, editable by staff (see docs/usage-import.md)."""

    __tablename__ = "import_profile"
    id = Column(Integer, primary_key=True)
    name = Column(String(40), nullable=False, unique=True)  # etc-meisai, nexco-fixed, tollbook-csv …
    label = Column(String(100), nullable=False)
    file_type = Column(String(10), nullable=False, default="csv")  # csv / fixed
    encoding = Column(String(20), nullable=False, default="cp932")  # cp932 / utf-8 (BOM is skipped)
    header_rows = Column(Integer, nullable=False, default=1)
    # field name → CSV column (header text or 0-based index) or, for fixed width, [start, width]
    columns = Column(JSON, nullable=False)
    date_format = Column(String(20), nullable=False, default="YY/MM/DD")  # YY/MM/DD, YYYY/MM/DD, YYYYMMDD, R/MM/DD
    time_format = Column(String(10), nullable=False, default="HH:MM")  # HH:MM, HHMM
    discount_sign = Column(String(10), nullable=False, default="negative")  # how the file writes a discount
    vehicle_class_codes = Column(JSON)  # {"01": 1, …} when the file does not use 1..5
    road_operator = Column(String(40))  # fixed operator when the file has no column for it
    # header text variants: {"（入）": "（自）", "時刻": "時分"} (replaced in the file's header before matching)
    header_aliases = Column(JSON)
    peak_time_remark = Column(String(20))  # 備考 token marking a 平日朝夕 trip: （朝夕）
    layout_verified = Column(Boolean, nullable=False, default=True)
    note = Column(Text)

    def __repr__(self):
        # What screens and pickers show: the label people know; the code stays for the CLI and exports.
        return self.label


class IcMaster(TimestampMixin, Model):
    """IC (インターチェンジ) master: name → road, operator and region (地方部 / 大都市近郊)."""

    __tablename__ = "ic_master"
    id = Column(Integer, primary_key=True)
    code = Column(String(10), unique=True)
    name = Column(String(60), nullable=False, index=True)
    road = Column(String(60))
    road_operator = Column(String(40))
    region = Column(String(10))  # rural (地方部) / urban (大都市近郊)

    @validates("name")
    def _normalise_name(self, _key, value):
        """Stored as usage rows are compared (app/domain/ic_name.py), whichever screen or file set it."""
        return normalize_ic_name(value) or value

    def __repr__(self):
        return self.name


class ImportBatch(Model):
    """取込: one received file. Same file (SHA-256) twice is refused; a replacement keeps the old one."""

    __tablename__ = "import_batch"
    __table_args__ = (
        # The idempotency rule is the database's: one live batch per file content, so two imports of
        # the same file at the same moment cannot both commit (a read before the insert could).
        Index("uq_import_batch_live_sha256", "sha256", unique=True,
              sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
    )
    id = Column(Integer, primary_key=True)
    file_name = Column(String(255), nullable=False)
    sha256 = Column(String(64), nullable=False, index=True)
    profile_id = Column(Integer, ForeignKey("import_profile.id"), nullable=False)
    profile = relationship("ImportProfile")
    usage_month = Column(String(7), nullable=False, index=True)  # YYYY-MM
    row_count = Column(Integer, nullable=False, default=0)
    total_billed = Column(BigInteger, nullable=False, default=0)  # 通行料金の合計 (円)
    flagged_count = Column(Integer, nullable=False, default=0)
    # The earliest and latest exit date-time in the file: a new batch is checked for 重複の疑い only
    # against live batches whose span overlaps its own (NULL: imported before this was kept → checked).
    first_exit_at = Column(DateTime)
    last_exit_at = Column(DateTime)
    status = Column(String(10), nullable=False, default=BATCH_ACTIVE, index=True)
    replaces_batch_id = Column(Integer, ForeignKey("import_batch.id"))
    replaces_batch = relationship("ImportBatch", remote_side=[id])
    imported_by = Column(String(128), nullable=False)
    imported_at = Column(DateTime, nullable=False, default=now_jst)

    def __repr__(self):
        return f"取込#{self.id} {self.file_name}"

    def attention_count(self) -> int:
        """Rows of this batch the office must still act on, now (flagged_count is what the import
        found; a registered card or a confirmed row no longer counts). Read through ix_usage_flags."""
        from sqlalchemy import func, select
        from sqlalchemy.orm import object_session

        session = object_session(self)
        if session is None or self.status != BATCH_ACTIVE:
            return 0
        return session.scalar(select(func.count()).select_from(UsageRecord).where(
            UsageRecord.usage_month == self.usage_month, UsageRecord.flags.in_(flag_values(ATTENTION_FLAGS)),
            UsageRecord.batch_id == self.id)) or 0

    def status_name(self) -> str:
        return BATCH_STATUSES.get(self.status, self.status)


class UsageRecord(Model):
    """走行明細: one toll passage as the operator or card company reported it. Amounts in yen."""

    __tablename__ = "usage_record"
    __table_args__ = (
        Index("ix_usage_month_card", "usage_month", "card_id"),
        Index("ix_usage_month_member", "usage_month", "member_id"),
        Index("ix_usage_flags", "usage_month", "flags"),
        Index("ix_usage_batch_line", "batch_id", "line_no"),
        Index("ix_usage_month_exit", "usage_month", "exit_at", "id"),  # the usage list: date order, keyset pages
        # 重複の疑い: the same trip in another live batch is found through this index (one set-based
        # UPDATE … WHERE EXISTS per import, see services/usage_import.py).
        Index("ix_usage_trip", "card_number", "exit_at"),
    )
    id = Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    batch_id = Column(Integer, ForeignKey("import_batch.id"), nullable=False)
    line_no = Column(Integer, nullable=False)
    usage_month = Column(String(7), nullable=False)
    card_number = Column(String(16), nullable=False)
    card_id = Column(Integer, ForeignKey("card.id"))
    member_id = Column(Integer, ForeignKey("member.id"))
    entry_at = Column(DateTime)
    exit_at = Column(DateTime, nullable=False)
    entry_ic = Column(String(60))
    exit_ic = Column(String(60))
    road_operator = Column(String(40))
    vehicle_class = Column(SmallInteger)
    amount_before_discount = Column(Integer)
    discount = Column(Integer, nullable=False, default=0)  # total discount, a positive number of yen
    discounts = Column(Text)  # by kind where the file gives them: "深夜割引:1360;…"
    amount_billed = Column(Integer, nullable=False)  # 通行料金 billed by the operator
    # Category amounts for files that separate them (nexco-fixed); amount_billed stays their sum.
    # NULL for other profiles: the whole amount_billed is of the row operator's ordinary (高速国道) category.
    amount_expressway = Column(Integer)  # 高速国道
    amount_general_toll = Column(Integer)  # 一般有料道路
    amount_public_corp = Column(Integer)  # 公社道路
    amount_rebate_applied = Column(Integer)  # 還元額適用料金 (paid from the card's mileage rebate)
    amount_deferred = Column(Integer)  # 後納料金 (left to pay on the card's bill)
    peak_time = Column(Boolean, nullable=False, default=False, server_default=false())  # 平日朝夕 trip
    road_operator_source = Column(String(10))  # file / ic / staff; NULL while unknown
    plate = Column(String(40))
    remarks = Column(String(200))
    flags = Column(SmallInteger, nullable=False, default=0)
    raw_line = Column(Text)

    batch = relationship("ImportBatch")
    card = relationship("Card")
    member = relationship("Member")

    def flag_names(self) -> str:
        return "・".join(name for bit, name in FLAG_NAMES.items() if (self.flags or 0) & bit)

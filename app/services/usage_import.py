"""Usage import (走行明細の取込): one file → one import batch, all rows or none, never twice.

The file is streamed (memory stays flat with file size): rows are parsed, checked, matched to cards,
flagged and loaded in chunks inside one transaction, through the database's own bulk path
(sqlite3 executemany / PostgreSQL COPY). Any malformed row rolls the whole file back; the error
list names the file, line, column, value and reason.
"""
import codecs
import csv
import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable

from sqlalchemy import Date, delete, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from app.domain.errors import DomainError
from app.domain.month import Month
from app.domain.usage_format import (FIELDS, REQUIRED, Layout, RowError, fits_mask, header_key, is_masked,
                                     is_off_month, make_extractor, make_row_parser, match_masked_card,
                                     resolve_columns, visible_suffix)
from app.extensions import db
from app.models import Card, CardEvent, Vehicle
from app.models.usage import (BATCH_ACTIVE, BATCH_DELETED, BATCH_REPLACED, FLAG_OFF_MONTH,
                              FLAG_UNREGISTERED_CARD, FLAG_USED_AFTER_LOSS, OPERATOR_FROM_FILE, OPERATOR_FROM_IC, ImportBatch,
                              ImportProfile, UsageRecord)

from .actor import current_actor
from .bulk import BulkInserter
from .month_lock import lock_month
from .months import ensure_month_open
from .road_operators import IcOperators
from .unit_of_work import transactional
from .usage_duplicates import clear_duplicates_of, flag_suspected_duplicates
from .usage_rematch import open_months

CHUNK = 10_000
MAX_ERRORS = 1000
USAGE_COLUMNS = ("batch_id", "line_no", "usage_month", "card_number", "card_id", "member_id", "entry_at", "exit_at",
                 "entry_ic", "exit_ic", "road_operator", "vehicle_class", "amount_before_discount", "discount",
                 "discounts", "amount_billed", "plate", "remarks", "flags", "raw_line", "amount_rebate_applied",
                 "amount_deferred", "amount_expressway", "amount_general_toll", "amount_public_corp", "peak_time",
                 "road_operator_source")


@dataclass
class ImportError_:
    file_name: str
    line: int
    column: str
    value: str
    reason: str

    def __str__(self):
        where = f"{self.line}行目" if self.line else "ファイル"
        column = f" {self.column}" if self.column else ""
        value = f"（値: {self.value}）" if self.value not in (None, "") else ""
        return f"{self.file_name} {where}{column}: {self.reason}{value}"


class ImportRefused(DomainError):
    """Nothing was imported. `errors` lists every problem found (up to MAX_ERRORS)."""

    def __init__(self, file_name: str, errors: list[ImportError_], message: str | None = None):
        self.file_name, self.errors = file_name, errors
        super().__init__(message or f"{file_name}: {len(errors)}件のエラーがあるため取り込みませんでした。")


@dataclass
class ImportSummary:
    batch_id: int
    file_name: str
    profile: str
    usage_month: str
    rows: int
    total_billed: int
    flagged: int
    unregistered: int = 0
    used_after_loss: int = 0
    replaced_batch_id: int | None = None
    suspected_duplicates: int = 0
    off_month: int = 0

    def __str__(self):
        text = (f"取込#{self.batch_id} {self.file_name}（{self.profile}, {self.usage_month}）: {self.rows:,}件, "
                f"通行料金合計 {self.total_billed:,}円, 要確認 {self.flagged:,}件"
                f"（未登録カード {self.unregistered:,}件, 紛失後利用 {self.used_after_loss:,}件, "
                f"重複の疑い {self.suspected_duplicates:,}件, 期ずれ {self.off_month:,}件）")
        if self.replaced_batch_id:
            text += f", 取込#{self.replaced_batch_id} を差し替えました"
        return text


def layout_of(profile: ImportProfile) -> Layout:
    return Layout(columns=profile.columns, file_type=profile.file_type, date_format=profile.date_format,
                  time_format=profile.time_format, discount_sign=profile.discount_sign,
                  vehicle_class_codes=profile.vehicle_class_codes, road_operator=profile.road_operator,
                  header_aliases=profile.header_aliases, peak_time_remark=profile.peak_time_remark,
                  encoding=profile.encoding)


def file_sha256(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    handle.seek(0)
    return digest.hexdigest()


class _CardIndex:
    """card number → (card id, member id, loss/cancel date) for every number form a file may carry:
    16 digits; 15 in the old NEXCO fixed layout (the 16th is a check digit); masked by ETC利用照会
    (`********65981010`), matched by the visible digits and, when several cards end so, by the plate's
    一連番号 (app.domain.usage_format.match_masked_card). Built once per import; one dict lookup per row."""

    def __init__(self, session):
        stops = dict(session.execute(
            select(CardEvent.card_id, func.min(CardEvent.occurred_on))
            .where(CardEvent.kind.in_(("loss", "cancel"))).group_by(CardEvent.card_id)).all())
        self.exact: dict[str, tuple] = {}
        self.cards: list[tuple[str, tuple, int | None]] = []
        for card_id, number, member_id, serial in session.execute(
                select(Card.id, Card.number, Card.member_id, Vehicle.plate_serial)
                .outerjoin(Vehicle, Vehicle.id == Card.vehicle_id)):
            stop = stops.get(card_id)
            entry = (card_id, member_id, stop.isoformat() if stop else None)
            self.exact[number] = entry
            if len(number) == 16:
                self.exact.setdefault(number[:15], entry)
            self.cards.append((number, entry, serial))
        self._suffixes: dict[tuple[int, int], dict[str, list]] = {}
        self._masked: dict[tuple[str, str | None], tuple | None] = {}

    def get(self, number: str, plate: str | None):
        known = self.exact.get(number)
        if known is not None or not is_masked(number):
            return known
        key = (number, plate)
        if key not in self._masked:
            visible = visible_suffix(number)
            shape = (len(number), len(visible))
            by_suffix = self._suffixes.get(shape)
            if by_suffix is None:
                by_suffix = self._suffixes[shape] = {}
                for full, entry, serial in self.cards:
                    if len(full) == len(number):
                        by_suffix.setdefault(full[len(full) - len(visible):], []).append((full, entry, serial))
            candidates = [(entry, serial) for full, entry, serial in by_suffix.get(visible, [])
                          if fits_mask(number, full)]
            self._masked[key] = match_masked_card(plate, candidates)
        return self._masked[key]


class _Lines:
    """Decodes the file line by line (so a bad byte is reported on its own line, and the rest of the
    file is still checked), feeds csv.reader, and remembers the raw text and number of the last line.
    cp932 keeps 髙 and 﨑 (plain Shift_JIS would not); a UTF-8 BOM is dropped."""

    def __init__(self, handle: BinaryIO, encoding: str):
        self.handle = handle
        self.utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig")
        self.encoding = "utf-8" if self.utf8 else encoding
        self.line = ""
        self.number = 0
        self.bad: list[tuple[int, str]] = []  # (line number, reason) of lines that did not decode

    def __iter__(self):
        return self

    def __next__(self) -> str:
        raw = next(self.handle)
        self.number += 1
        try:
            text = raw.decode(self.encoding)
        except UnicodeDecodeError as error:
            self.bad.append((self.number, error.reason))
            text = "\n"  # an empty line: csv.reader yields nothing for it
        if self.number == 1 and self.utf8 and text.startswith("\ufeff"):
            text = text[1:]
        self.line = text
        return text


@transactional
def import_usage_file(source: str | Path | BinaryIO, profile_name: str, usage_month: str | None = None,
                      replace: bool = False, file_name: str | None = None,
                      progress: Callable[[int, int, int], None] | None = None) -> ImportSummary:
    session = db.session
    handle = open(source, "rb") if isinstance(source, (str, Path)) else source
    try:
        name = file_name or (Path(source).name if isinstance(source, (str, Path)) else getattr(source, "name", "upload"))
        name = os.path.basename(str(name))
        profile = session.scalar(select(ImportProfile).where(ImportProfile.name == profile_name))
        if profile is None:
            raise ImportRefused(name, [], f"取込形式「{profile_name}」は登録されていません。")
        if usage_month:
            usage_month = _check_month(usage_month)
            ensure_month_open(usage_month)
        handle.seek(0, os.SEEK_END)
        total_bytes = handle.tell()
        handle.seek(0)
        sha = file_sha256(handle)
        _refuse_if_imported(session, name, sha)  # the common case, early; the database has the last word
        if total_bytes == 0:
            raise ImportRefused(name, [ImportError_(name, 0, "", "", "ファイルが空です。")])
        return _load(session, handle, name, sha, profile, usage_month, replace, total_bytes, progress)
    finally:
        if isinstance(source, (str, Path)):
            handle.close()


def _refuse_if_imported(session, name: str, sha: str) -> None:
    earlier = session.scalar(select(ImportBatch).where(ImportBatch.sha256 == sha, ImportBatch.status == BATCH_ACTIVE))
    if earlier is not None:
        raise ImportRefused(name, [], f"{name} は取込#{earlier.id}（{earlier.file_name}、"
                                      f"{earlier.imported_at:%Y/%m/%d %H:%M}、{earlier.imported_by}）で取込済みです。")


def _check_month(value) -> str:
    return str(Month.parse(value, "利用月"))


def detect_encoding(handle: BinaryIO) -> str:
    """For profiles with encoding 'auto': UTF-8 if the start of the file decodes as UTF-8, else cp932."""
    head = handle.read(1 << 16)
    handle.seek(0)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp932"


def _load(session, handle, name, sha, profile, usage_month, replace, total_bytes, progress) -> ImportSummary:
    layout = layout_of(profile)
    encoding = detect_encoding(handle) if profile.encoding == "auto" else profile.encoding
    layout.encoding = encoding
    username, _ = current_actor()
    errors: list[ImportError_] = []
    lines = _Lines(handle, encoding) if profile.file_type == "csv" else None
    try:
        if profile.file_type == "csv" and profile.header_rows:
            header_line = next(csv.reader([next(lines)]), [])
            for _ in range(profile.header_rows - 1):
                next(lines)
            if lines.bad:
                raise UnicodeDecodeError(encoding, b"", 0, 1, lines.bad[0][1])
            header_columns = resolve_columns(layout, header_line)
        else:
            header_columns = resolve_columns(layout, None)
    except UnicodeDecodeError as error:
        raise ImportRefused(name, [ImportError_(name, 1, "", "", f"文字コードが {encoding} ではありません（{error.reason}）。")]) from None
    except StopIteration:
        raise ImportRefused(name, [ImportError_(name, 0, "", "", "ファイルが空です。")]) from None
    except DomainError as error:
        raise ImportRefused(name, [ImportError_(name, 1, "見出し", "", error.message)]) from None
    extract = make_extractor(layout, header_columns)
    parse = make_row_parser(layout)
    skip = profile.header_rows if profile.file_type == "csv" else 0
    cards = _CardIndex(session)
    ic_operators = IcOperators(session)  # a row without a road operator takes its IC's (exit, else entry)

    batch = ImportBatch(file_name=name, sha256=sha, profile=profile, usage_month=usage_month or "0000-00",
                        imported_by=username, status=BATCH_ACTIVE)
    session.add(batch)
    try:
        # The same file imported at the same moment elsewhere: the partial unique index on the hash of
        # live batches refuses the second insert (on PostgreSQL it waits for the first to commit).
        session.flush()
    except IntegrityError:
        session.rollback()
        _refuse_if_imported(session, name, sha)
        raise
    except OperationalError as error:
        if "locked" not in str(error.orig):
            raise
        session.rollback()
        raise ImportRefused(name, [], f"{name}: ほかの取込・請求処理がデータベースに書き込み中のため、取り込めませんでした。"
                                      "しばらくしてからもう一度取り込んでください（何も登録していません）。") from None
    batch_id = batch.id
    month = usage_month
    months_seen: dict[str, int] = {}
    flagged_in: dict[str, int] = {}  # rows already flagged, by exit month (for the 期ずれ count)
    loader = BulkInserter("usage_record", USAGE_COLUMNS, session)  # chunked, same transaction as the batch row
    bad_lines = lines.bad if lines is not None else []  # the same list, filled as lines are decoded
    chunk: list[tuple] = []
    count = total = flagged = unregistered = after_loss = 0
    first_exit, last_exit = "9999", ""
    failed = True
    try:
        try:
            for line_no, cells, raw in _rows_from(lines if lines is not None else handle, profile, skip, encoding):
                try:
                    (card, entry_at, exit_at, entry_ic, exit_ic, road, vclass, before, discount, discounts,
                     billed, plate, remarks, rebate, deferred, expressway, general, public, peak) = parse(extract(cells))
                except RowError as error:
                    if len(errors) < MAX_ERRORS:
                        errors.append(ImportError_(name, line_no, FIELDS.get(error.column, error.column),
                                                   error.value, error.reason))
                    continue
                except UnicodeDecodeError as error:
                    if len(errors) < MAX_ERRORS:
                        errors.append(ImportError_(name, line_no, "", "",
                                                   f"文字コードが {encoding} ではありません（{error.reason}）。"))
                    continue
                except (IndexError, ValueError) as error:
                    if len(errors) < MAX_ERRORS:
                        errors.append(ImportError_(name, line_no, "", "", f"行の形が取込形式と合いません（{error}）。"))
                    continue
                if errors or bad_lines:
                    continue  # keep checking the rest, load nothing more
                known = cards.get(card, plate)
                flags = 0
                if known is None:
                    card_id = member_id = None
                    flags = FLAG_UNREGISTERED_CARD
                    unregistered += 1
                else:
                    card_id, member_id, stop = known
                    if stop is not None and exit_at[:10] >= stop:
                        flags = FLAG_USED_AFTER_LOSS
                        after_loss += 1
                ym = exit_at[:7]
                months_seen[ym] = months_seen.get(ym, 0) + 1
                if exit_at < first_exit:
                    first_exit = exit_at
                if exit_at > last_exit:
                    last_exit = exit_at
                if road:
                    source = OPERATOR_FROM_FILE
                else:
                    road = ic_operators.for_row(exit_ic, entry_ic)
                    source = OPERATOR_FROM_IC if road else None
                chunk.append((batch_id, line_no, month or ym, card, card_id, member_id, entry_at, exit_at, entry_ic,
                              exit_ic, road, vclass, before, discount, discounts, billed, plate, remarks, flags, raw,
                              rebate, deferred, expressway, general, public, peak, source))
                count += 1
                total += billed
                if flags:
                    flagged += 1
                    flagged_in[ym] = flagged_in.get(ym, 0) + 1
                if len(chunk) >= CHUNK:
                    loader.write(chunk)
                    chunk = []
                    if progress:
                        progress(_position(handle), total_bytes, count)
        except UnicodeDecodeError as error:
            errors.append(ImportError_(name, 0, "", "",
                                       f"文字コードが {encoding} ではない箇所があります（{error.reason}）。"))
        except csv.Error as error:
            errors.append(ImportError_(name, lines.number if lines else 0, "", "", f"CSVとして読めません（{error}）。"))
        for number, reason in bad_lines[:MAX_ERRORS]:
            errors.append(ImportError_(name, number, "", "", f"文字コードが {encoding} ではありません（{reason}）。"))
        if errors:
            errors.sort(key=lambda e: e.line)
            raise ImportRefused(name, errors[:MAX_ERRORS])
        if count == 0:
            raise ImportRefused(name, [ImportError_(name, 0, "", "", "明細行がありません（見出しだけのファイルです）。")])
        if chunk:
            loader.write(chunk)
        failed = False
    finally:
        loader.close(failed)
        if failed:
            session.rollback()
    if month is None:
        # Rows were stamped with their own exit month; the batch takes the month most rows fall in.
        month = max(months_seen, key=months_seen.get)
    if progress:
        progress(total_bytes, total_bytes, count)
    try:
        lock_month(month)  # serialised with the month's close (app/services/month_lock.py), then checked
        ensure_month_open(month)
    except DomainError:
        session.rollback()
        raise
    if usage_month is None and len(months_seen) > 1:
        # Only the rows stamped with another month (a file of one month touches none).
        session.execute(update(UsageRecord).where(UsageRecord.batch_id == batch_id, UsageRecord.usage_month != month)
                        .values(usage_month=month))
    off_month = 0
    far = [ym for ym in months_seen if is_off_month(ym, month)]
    if far:
        # 期ずれ: dated more than one month away from the file's month. Kept in the batch's month
        # (where staff see it), flagged and not billed until staff accept it; never moved silently.
        # Compared by date: SQLite holds the bulk-loaded date-times as text without microseconds, which
        # a bound datetime would not compare with exactly (a 00:00 row on the boundary).
        file_month = Month.parse(month)
        exit_day = func.date(UsageRecord.exit_at, type_=Date)
        session.execute(update(UsageRecord).where(
            UsageRecord.batch_id == batch_id,
            (exit_day < file_month.plus(-1).first_day) | (exit_day >= file_month.plus(2).first_day))
            .values(flags=UsageRecord.flags.op("|")(FLAG_OFF_MONTH)).execution_options(synchronize_session=False))
        off_month = sum(months_seen[ym] for ym in far)
        flagged += sum(months_seen[ym] - flagged_in.get(ym, 0) for ym in far)
    replaced = None
    if replace:
        replaced = _replace_previous(session, batch_id, profile, month, name)
    batch.usage_month = month
    batch.first_exit_at = dt.datetime.fromisoformat(first_exit)
    batch.last_exit_at = dt.datetime.fromisoformat(last_exit)
    # after the replacement: a corrected file is not a duplicate of the batch it replaces
    duplicates, newly_flagged = flag_suspected_duplicates(session, batch)
    flagged += newly_flagged
    batch.row_count, batch.total_billed, batch.flagged_count = count, total, flagged
    batch.replaces_batch_id = replaced
    session.commit()
    return ImportSummary(batch_id, name, profile.name, month, count, total, flagged, unregistered, after_loss,
                         replaced, suspected_duplicates=duplicates, off_month=off_month)



def _position(handle) -> int:
    try:
        return handle.tell()
    except (OSError, ValueError):
        return 0


def _rows_from(source, profile, skip, encoding):
    """(line number, cells, raw line) per data row. Fixed width: the bytes of the line (widths are
    bytes in Shift_JIS layouts); CSV: the parsed cells and the line as read."""
    if profile.file_type == "fixed":
        for number, line in enumerate(source, start=1):
            if number <= profile.header_rows:
                continue
            body = line.rstrip(b"\r\n")
            if body.strip() and body.strip() != b"\x1a":  # EOF mark some mainframe exports add
                yield number, body, body.decode(encoding, errors="replace")
        return
    for row in csv.reader(source):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        yield source.number, row, source.line.rstrip("\r\n")


def _replace_previous(session, new_batch_id, profile, month, name) -> int:
    previous = session.scalar(select(ImportBatch).where(
        ImportBatch.profile_id == profile.id, ImportBatch.usage_month == month, ImportBatch.status == BATCH_ACTIVE,
        ImportBatch.id != new_batch_id).order_by(ImportBatch.id.desc()))
    if previous is None:
        session.rollback()
        raise DomainError(f"差し替える取込がありません（{profile.name}, {month}）。差替えでなく通常の取込をしてください。")
    clear_duplicates_of(session, previous.id, open_months())
    session.execute(delete(UsageRecord).where(UsageRecord.batch_id == previous.id))
    previous.status = BATCH_REPLACED
    return previous.id


@transactional
def delete_batch(batch_id: int) -> ImportBatch:
    """Remove a batch's rows while its month is open; the batch row stays, marked 削除済."""
    session = db.session
    batch = session.get(ImportBatch, batch_id)
    if batch is None or batch.status != BATCH_ACTIVE:
        raise DomainError("削除できる取込がありません。")
    ensure_month_open(batch.usage_month)
    clear_duplicates_of(session, batch.id, open_months())
    session.execute(delete(UsageRecord).where(UsageRecord.batch_id == batch.id))
    batch.status = BATCH_DELETED
    return batch


def detect_profile(path: str | Path) -> str:
    """The CSV profile whose required header columns all appear in the file's first line (optional
    columns may be left out, as on import); when several do, the one with the most columns found."""
    with open(path, "rb") as handle:
        head = handle.readline()
    for encoding in ("utf-8-sig", "cp932"):
        try:
            header = next(csv.reader([head.decode(encoding)]), [])
            break
        except UnicodeDecodeError:
            continue
    else:
        header = []
    best, best_found = None, 0
    for profile in db.session.scalars(select(ImportProfile).where(ImportProfile.file_type == "csv")
                                      .order_by(ImportProfile.id)):
        # compared as on import: NFKC, no spaces, the profile's header variants
        names = {header_key(cell, profile.header_aliases) for cell in header}
        texts = {field: header_key(spec, profile.header_aliases) for field, spec in profile.columns.items()
                 if isinstance(spec, str) and not spec.isdigit()}
        required = {texts[field] for field in REQUIRED if field in texts}
        found = len(set(texts.values()) & names)
        if required <= names and found > best_found:
            best, best_found = profile.name, found
    if best is not None:
        return best
    raise DomainError(f"{Path(path).name}: 取込形式を判定できません。--format で指定してください。", "format")

"""Reading one usage row by an import profile: text fields in, a checked usage tuple out.

Pure and fast: the importer calls `parse` once per row of files with millions of rows, so dates
are validated through a small cache instead of strptime, and no objects are built per row.
Every problem is a RowError naming the column, the value and the reason in Japanese.
"""
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from .errors import DomainError
from .japanese_date import era_date

FIELDS = {
    "card_number": "カード番号", "entry_date": "入口日付", "entry_time": "入口時刻", "exit_date": "利用日（出口）",
    "exit_time": "出口時刻", "entry_ic": "入口IC", "exit_ic": "出口IC", "road_operator": "道路事業者",
    "vehicle_class": "車種", "amount_before_discount": "割引前料金", "discount": "割引額",
    "amount_billed": "通行料金", "plate": "車両番号", "remarks": "備考",
    "amount_rebate_applied": "還元額適用料金", "amount_deferred": "後納料金",
    "amount_expressway": "高速国道の金額", "amount_general_toll": "一般有料道路の金額",
    "amount_public_corp": "公社道路の金額",
}
REQUIRED = ("card_number", "exit_date", "amount_billed")
DATE_FORMATS = ("YY/MM/DD", "YYYY/MM/DD", "YYYYMMDD", "YYYY-MM-DD", "和暦")
TIME_FORMATS = ("HH:MM", "HHMM", "HHMMSS", "HH:MM:SS")
_ERA = re.compile(r"^(令和|平成|R|H)\s*(\d{1,2})[./年](\d{1,2})[./月](\d{1,2})日?$")


class RowError(DomainError):
    def __init__(self, column: str, value: str, reason: str):
        super().__init__(reason, column)
        self.column, self.value, self.reason = column, value, reason


@dataclass
class Layout:
    """What an ImportProfile says, as plain data (the service builds it from the table row)."""

    columns: dict  # field → column index (CSV), list of indexes (summed amounts), or [start, width] (fixed)
    file_type: str = "csv"
    date_format: str = "YY/MM/DD"
    time_format: str = "HH:MM"
    discount_sign: str = "negative"
    vehicle_class_codes: dict | None = None
    road_operator: str | None = None
    # Header text variants seen in real files, as replacements applied to both the file's header and
    # the profile's column names after NFKC: {"(入)": "(自)", "時刻": "時分"} (docs/usage-import.md).
    header_aliases: dict | None = None
    # 備考 token that marks a 平日朝夕 trip (ETC利用照会: "（朝夕）"); tokens are split on ";".
    peak_time_remark: str | None = None
    encoding: str = "cp932"  # fixed-width fields are cut from the bytes, then decoded (widths are bytes)
    _dates: dict = field(default_factory=dict)
    _times: dict = field(default_factory=dict)


def parse_date(text: str, fmt: str, cache: dict) -> str:
    """'26/10/01' → '2026-10-01' (ISO text, what the database stores)."""
    hit = cache.get(text)
    if hit is not None:
        return hit
    value = text.strip()
    try:
        if fmt == "YY/MM/DD":
            y, m, d = value.split("/")
            day = dt.date(2000 + int(y), int(m), int(d))
        elif fmt in ("YYYY/MM/DD", "YYYY-MM-DD"):
            y, m, d = value.replace("-", "/").split("/")
            day = dt.date(int(y), int(m), int(d))
        elif fmt == "YYYYMMDD":
            if len(value) != 8 or not value.isdigit():
                raise ValueError
            day = dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
        elif fmt == "和暦":
            match = _ERA.match(value)
            if not match:
                raise ValueError
            era, y, m, d = match.groups()
            day = era_date(era, int(y), int(m), int(d))
        else:
            raise ValueError
    except ValueError:
        raise RowError("", text, f"日付「{text}」を読めません（形式 {fmt}）。") from None
    iso = day.isoformat()
    if len(cache) < 4096:
        cache[text] = iso
    return iso


def parse_time(text: str, fmt: str, cache: dict) -> str:
    hit = cache.get(text)
    if hit is not None:
        return hit
    value = text.strip().replace(":", "")
    if len(value) == 3:
        value = "0" + value
    if not value.isdigit() or len(value) not in (4, 6):
        raise RowError("", text, f"時刻「{text}」を読めません（形式 {fmt}）。")
    h, m, s = int(value[:2]), int(value[2:4]), int(value[4:6] or 0)
    if h > 23 or m > 59 or s > 59:
        raise RowError("", text, f"時刻「{text}」は存在しない時刻です。")
    result = f"{h:02d}:{m:02d}:{s:02d}"
    if len(cache) < 4096:
        cache[text] = result
    return result


def parse_amount(text: str) -> int:
    value = text.strip().replace(",", "").replace("¥", "").replace("円", "").replace("￥", "")
    if not value:
        return 0
    try:
        return int(value)
    except ValueError:
        raise RowError("", text, f"金額「{text}」が数字ではありません。") from None


MASK = "*"
_MASKED = re.compile(r"^[\d*]+$")


def normalize_usage_card_number(text: str) -> str:
    """14–16 digits, or a masked number as ETC利用照会 shows corporate cards: `********65981010`
    (the hidden digits as `*`, the last ones visible). A masked number is kept as written; it is
    matched to a card by its visible digits (see match_masked_card)."""
    value = unicodedata.normalize("NFKC", text).strip().replace("-", "").replace(" ", "")
    if 14 <= len(value) <= 16 and (value.isdigit() or (
            _MASKED.match(value) and sum(ch.isdigit() for ch in value) >= 4)):
        return value
    raise RowError("", text, f"カード番号「{text}」は14〜16桁の数字です（利用照会の ********65981010 の形も読めます）。")


def is_masked(card_number: str) -> bool:
    return MASK in card_number


def visible_suffix(card_number: str) -> str:
    """The digits after the last `*` ('********65981010' → '65981010')."""
    return card_number.rsplit(MASK, 1)[-1]


def fits_mask(masked: str, number: str) -> bool:
    """Whether a full card number shows as `masked` (same length, same digit wherever one is visible)."""
    return len(masked) == len(number) and all(m == MASK or m == n for m, n in zip(masked, number))


def plate_serial_of(plate: str | None) -> int | None:
    """The 一連番号 of a plate as files write it: '5050' (ETC利用照会: the serial part only),
    '品川 300 あ 12-34' → 1234, '・123' → 123. None when there is no number to read."""
    if not plate:
        return None
    last = unicodedata.normalize("NFKC", plate).split()[-1] if plate.split() else ""
    digits = re.sub(r"[-・･.\s]", "", last)
    return int(digits) if digits.isdigit() and 1 <= len(digits) <= 4 else None


def match_masked_card(plate: str | None, candidates: list[tuple[object, int | None]]):
    """The one card a masked number can be. `candidates`: (card, its vehicle's 一連番号) for every
    card whose number ends with the visible digits. One candidate → it; several → the one whose
    一連番号 is the row's plate serial (ETC利用照会 writes only the serial, `5050`). Ambiguous or
    unknown → None: the row becomes 未登録カード, never a guess and never an error."""
    if len(candidates) == 1:
        return candidates[0][0]
    serial = plate_serial_of(plate)
    if serial is None:
        return None
    same_plate = [card for card, card_serial in candidates if card_serial == serial]
    return same_plate[0] if len(same_plate) == 1 else None


def months_apart(a: str, b: str) -> int:
    """'2026-08' and '2026-10' → 2."""
    return abs((int(a[:4]) * 12 + int(a[5:7])) - (int(b[:4]) * 12 + int(b[5:7])))


def is_off_month(row_month: str, file_month: str) -> bool:
    """期ずれ: a row dated more than one month away from its file's month (a September row in an
    October file is an ordinary late passage; an August or December one is not)."""
    return months_apart(row_month, file_month) > 1


def header_key(text: str, aliases: dict | None = None) -> str:
    """A header cell as compared: NFKC (ＩＣ = IC, （ = (), no spaces or BOM, then the profile's
    variants replaced (利用IC（入） → 利用IC(自) with {"(入)": "(自)"})."""
    key = unicodedata.normalize("NFKC", text or "").replace("\ufeff", "")
    key = re.sub(r"\s+", "", key)
    for variant, canonical in (aliases or {}).items():
        key = key.replace(unicodedata.normalize("NFKC", variant), unicodedata.normalize("NFKC", canonical))
    return key


def remark_tokens(remarks: str | None) -> list[str]:
    """備考 as tokens: ETC利用照会 joins them with ';' (`確定;（朝夕）`, `確定;休日割引`)."""
    return [t.strip() for t in (remarks or "").split(";") if t.strip()]


def parse_vehicle_class(text: str, codes: dict | None) -> int | None:
    value = text.strip()
    if not value:
        return None
    if codes:
        code = codes.get(value)
        if code is None:
            raise RowError("", text, f"車種「{text}」は取込形式の車種コードにありません。")
        return code
    if value.isdigit() and 1 <= int(value) <= 5:
        return int(value)
    raise RowError("", text, f"車種「{text}」は1〜5の数字です。")


def resolve_columns(layout: Layout, header: list[str] | None) -> dict:
    """Column specs by header text → indexes. Fixed-width specs pass through as [start, width]."""
    if layout.file_type == "fixed":
        return dict(layout.columns)
    aliases = layout.header_aliases
    names: dict[str, int] = {}
    for i, name in enumerate(header or []):
        names.setdefault(header_key(name, aliases), i)  # the first of two same-named columns

    def index_of(spec):
        if isinstance(spec, int):
            return spec
        if isinstance(spec, str) and spec.isdigit():
            return int(spec)
        key = header_key(spec, aliases)
        if key not in names:
            raise DomainError(f"見出し行に列「{spec}」がありません（取込形式と違うファイルではありませんか）。", "header")
        return names[key]

    resolved = {}
    for name, spec in layout.columns.items():
        if (isinstance(spec, str) and not spec.isdigit() and header_key(spec, aliases) not in names
                and name not in REQUIRED):
            continue  # an optional column this file does not carry
        if isinstance(spec, dict):
            resolved[name] = {kind: index_of(s) for kind, s in spec.items()}
        elif isinstance(spec, list):
            resolved[name] = [index_of(s) for s in spec]
        else:
            resolved[name] = index_of(spec)
    return resolved


ORDER = ("card_number", "entry_date", "entry_time", "exit_date", "exit_time", "entry_ic", "exit_ic",
         "road_operator", "vehicle_class", "amount_before_discount", "discount", "amount_billed", "plate", "remarks",
         "amount_rebate_applied", "amount_deferred", "amount_expressway", "amount_general_toll", "amount_public_corp")
OPTIONAL_AMOUNTS = ORDER[14:]  # empty → NULL (not given), unlike 割引前料金 / 割引額
_MISSING = -1  # a field the file does not have reads as ""


def make_extractor(layout: Layout, columns: dict):
    """row → list of texts in ORDER. CSV: one list comprehension; fixed width: slices of the line.
    A field made of several columns (amounts summed, discounts by kind) comes out as a list or dict."""
    fixed = layout.file_type == "fixed"

    def getter(spec):
        if fixed:
            if isinstance(spec, dict):
                parts = {k: getter(v) for k, v in spec.items()}
                return lambda line: {k: g(line) for k, g in parts.items()}
            if spec and isinstance(spec[0], list):
                parts = [getter(s) for s in spec]
                return lambda line: [g(line) for g in parts]
            cut = slice(spec[0], spec[0] + spec[1])
            encoding = layout.encoding
            return lambda line: line[cut].decode(encoding)
        if isinstance(spec, dict):
            parts = {k: getter(v) for k, v in spec.items()}
            return lambda row: {k: g(row) for k, g in parts.items()}
        if isinstance(spec, list):
            parts = [getter(s) for s in spec]
            return lambda row: [g(row) for g in parts]
        return lambda row: row[spec] if spec < len(row) else ""

    simple = not fixed and all(isinstance(columns.get(n, _MISSING), int) for n in ORDER)
    if simple:
        indexes = [columns.get(n, _MISSING) for n in ORDER]
        width = max(indexes) + 1

        def extract(row):
            if len(row) < width:
                row = row + [""] * (width - len(row))
            row.append("")  # index -1: the fields this file does not have
            return [row[i] for i in indexes]
    elif fixed:
        getters = [getter(columns[n]) if n in columns else (lambda row: "") for n in ORDER]
        need = _fixed_end(list(columns.values()))

        def extract(line):
            if len(line) < need:  # a cut-off record would read its missing amounts as 0 yen
                raise ValueError(f"{len(line)}バイトしかありません。この取込形式では{need}バイト以上必要です")
            return [g(line) for g in getters]
    else:
        getters = [getter(columns[n]) if n in columns else (lambda row: "") for n in ORDER]

        def extract(row):
            return [g(row) for g in getters]
    return extract


def _fixed_end(spec) -> int:
    """The byte just past the last field a fixed-width layout reads."""
    if isinstance(spec, dict):
        return _fixed_end(list(spec.values()))
    if spec and isinstance(spec[0], (list, dict)):
        return max((_fixed_end(s) for s in spec), default=0)
    return spec[0] + spec[1] if spec else 0


def _amount(value) -> int:
    if isinstance(value, list):
        return sum(parse_amount(v) for v in value)
    try:
        return int(value)
    except ValueError:
        return parse_amount(value)


_CLASSES = {str(i): i for i in range(1, 6)}


def make_row_parser(layout: Layout):
    """cells (from make_extractor) → (card_number, entry_at, exit_at, entry_ic, exit_ic, road_operator,
    vehicle_class, amount_before_discount, discount, discounts, amount_billed, plate, remarks,
    amount_rebate_applied, amount_deferred, amount_expressway, amount_general_toll, amount_public_corp,
    peak_time). Raises RowError whose .column is the field name."""
    dates, times = layout._dates, layout._times
    date_format, time_format = layout.date_format, layout.time_format
    negative = layout.discount_sign == "negative"
    classes = {str(k): v for k, v in layout.vehicle_class_codes.items()} if layout.vehicle_class_codes else _CLASSES
    default_road = layout.road_operator
    peak_marker = unicodedata.normalize("NFKC", layout.peak_time_remark) if layout.peak_time_remark else None

    def date_of(text, name):
        iso = dates.get(text)
        if iso is None:
            try:
                iso = parse_date(text, date_format, dates)
            except RowError as error:
                error.column = name
                raise
        return iso

    def time_of(text, name):
        if not text or text.isspace():
            return "00:00:00"
        value = times.get(text)
        if value is None:
            try:
                value = parse_time(text, time_format, times)
            except RowError as error:
                error.column = name
                raise
        return value

    def parse(cells):
        (card, entry_d, entry_t, exit_d, exit_t, entry_ic, exit_ic, road, vclass, before, disc, billed, plate, remarks,
         *optional) = cells
        card = card.strip()
        if len(card) != 16 or not card.isdigit():
            try:
                card = normalize_usage_card_number(card)
            except RowError as error:
                error.column = "card_number"
                raise
        exit_at = f"{date_of(exit_d, 'exit_date')} {time_of(exit_t, 'exit_time')}"
        entry_at = f"{date_of(entry_d, 'entry_date')} {time_of(entry_t, 'entry_time')}" if entry_d and not entry_d.isspace() and entry_t and not entry_t.isspace() else None  # no time: a flat-rate road's passage has an exit only
        name = "vehicle_class"
        try:
            if vclass:
                vehicle_class = classes.get(vclass.strip())
                if vehicle_class is None:
                    vehicle_class = parse_vehicle_class(vclass, layout.vehicle_class_codes)
            else:
                vehicle_class = None
            name = "discount"
            discounts = None
            if isinstance(disc, dict):
                parts = {k: _amount(v) for k, v in disc.items()}
                if negative:
                    parts = {k: -v for k, v in parts.items()}
                if parts and min(parts.values()) < 0:
                    raise RowError("", str(disc), "割引額の符号が取込形式（割引の符号）と逆です。")
                discount = sum(parts.values())
                discounts = ";".join(f"{k}:{v}" for k, v in parts.items() if v) or None
            else:
                discount = _amount(disc) if disc else 0
                if negative:
                    discount = -discount
                if discount < 0:
                    raise RowError("", disc, "割引額の符号が取込形式（割引の符号）と逆です。")
            name = "amount_billed"
            if not billed or (isinstance(billed, str) and billed.isspace()):
                raise RowError("", "", "通行料金がありません。")
            amount_billed = _amount(billed)
            name = "amount_before_discount"
            amount_before = _amount(before) if before and not (isinstance(before, str) and before.isspace()) \
                else amount_billed + discount
            amounts = []
            for name, value in zip(OPTIONAL_AMOUNTS, optional):
                amounts.append(_amount(value) if value and not (isinstance(value, str) and value.isspace())
                               else None)
        except RowError as error:
            error.column = name
            raise
        remarks = remarks.strip() or None
        peak = bool(peak_marker and remarks and peak_marker in
                    (unicodedata.normalize("NFKC", t) for t in remark_tokens(remarks)))
        return (card, entry_at, exit_at, entry_ic.strip() or None, exit_ic.strip() or None,
                road.strip() or default_road, vehicle_class, amount_before, discount, discounts, amount_billed,
                plate.strip() or None, remarks, *amounts, peak)

    return parse

"""マスタ取込用Excel: the workbook cooperatives fill when they move from another system.

Three sheets, 組合員 / 車両 / カード, headers in row 1 (Japanese, matched by name, in any order),
one record per row from row 2. This module only reads and writes the file: cells in, raw values
out. What a value means and whether it is allowed is decided by app/services/master_import.py
with the app/domain validators. The column list below is also what docs/master-import.md documents.
"""
import datetime as dt
import io
import unicodedata
import zipfile
from dataclasses import dataclass, field

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from app.exports.excel import set_value

MEMBERS, VEHICLES, CARDS = "組合員", "車両", "カード"
SHEETS = (MEMBERS, VEHICLES, CARDS)
NOTES = "記入方法"

REQUIRED, CONDITIONAL, OPTIONAL = "必須", "条件付き", "任意"


@dataclass(frozen=True)
class ColumnSpec:
    header: str
    required: str  # 必須: the header must be present and the cell filled; 条件付き: see `format`
    format: str
    example: object = None
    max_length: int | None = None
    text: bool = False  # cell format "@" in the template: keeps leading zeros and all 16 digits


COLUMNS: dict[str, list[ColumnSpec]] = {
    MEMBERS: [
        ColumnSpec("組合員コード", REQUIRED, "20文字以内。登録済みのコードはその組合員を更新します", "M0001", 20, True),
        ColumnSpec("組合員名", REQUIRED, "100文字以内", "株式会社山田運輸", 100),
        ColumnSpec("組合員名カナ", REQUIRED, "全角カタカナ（ひらがな・半角カナは全角カタカナに変換）", "ヤマダウンユ", 100),
        ColumnSpec("郵便番号", OPTIONAL, "8文字以内（全角数字は半角に変換）", "105-0011", 8, True),
        ColumnSpec("住所", OPTIONAL, "200文字以内", "東京都港区芝公園1-2-3", 200),
        ColumnSpec("電話番号", OPTIONAL, "20文字以内（全角数字は半角に変換）", "03-1234-5678", 20, True),
        ColumnSpec("メールアドレス", OPTIONAL, "200文字以内", "info@example.jp", 200),
        ColumnSpec("担当者", OPTIONAL, "60文字以内", "山田 太郎", 60),
        ColumnSpec("代理店コード", OPTIONAL, "登録済みの代理店のコード（代理店の画面で先に登録）", None, 20, True),
        ColumnSpec("支払方法", OPTIONAL, "口座振替 / 振込。空欄は口座振替", "口座振替"),
        ColumnSpec("銀行コード", CONDITIONAL, "4桁の全銀協コード。口座振替の組合員は必須。銀行名は自動で入ります", "0001", None, True),
        ColumnSpec("支店コード", CONDITIONAL, "3桁。支店名は自動で入ります", "001", None, True),
        ColumnSpec("預金種目", CONDITIONAL, "普通 / 当座 / 貯蓄 / その他、または 1 / 2 / 4 / 9", "普通"),
        ColumnSpec("口座番号", CONDITIONAL, "7桁以内の数字（7桁未満は先頭を0で埋めます）", "1234567", None, True),
        ColumnSpec("口座名義カナ", CONDITIONAL, "全角カタカナ（半角カナ可）", "カ）ヤマダウンユ", 60),
        ColumnSpec("状態", OPTIONAL, "在籍 / 脱退。空欄は在籍", "在籍"),
        ColumnSpec("脱退日", OPTIONAL, "日付（2026/11/25）", None),
    ],
    VEHICLES: [
        ColumnSpec("組合員コード", REQUIRED, "組合員シートまたは登録済みの組合員のコード", "M0001", 20, True),
        ColumnSpec("車両番号", REQUIRED, "地名 分類番号 ひらがな 一連番号 を1つのセルに（空白は省略可）", "品川 300 あ 12-34"),
        ColumnSpec("車種", REQUIRED, "1 普通 / 2 大型 / 3 特大 / 4 中型 / 5 軽、または名称", "大型"),
        ColumnSpec("ETC2.0", OPTIONAL, "○ / 空欄（はい・1・TRUE も可）", "○"),
        ColumnSpec("事業用", OPTIONAL, "○ / 空欄（緑・黒ナンバー）", "○"),
        ColumnSpec("備考", OPTIONAL, "200文字以内", None, 200),
    ],
    CARDS: [
        ColumnSpec("カード番号", REQUIRED, "コーポレートは16桁、クレジットは14〜16桁（ハイフン・空白可）",
                   "9011-2345-6789-0123", None, True),
        ColumnSpec("カード種別", REQUIRED, "コーポレート / クレジット", "コーポレート"),
        ColumnSpec("組合員コード", REQUIRED, "組合員シートまたは登録済みの組合員のコード", "M0001", 20, True),
        ColumnSpec("車両番号", CONDITIONAL, "コーポレートカードは必須（車両シートまたは登録済みの同じ組合員の車両）",
                   "品川 300 あ 12-34"),
        ColumnSpec("発行元", CONDITIONAL, "クレジットカードは必須（カード会社名）。コーポレートは空欄で NEXCO", "NEXCO", 60),
        ColumnSpec("有効開始日", OPTIONAL, "日付（2026/11/25）。新規発行の異動日になります", dt.date(2021, 11, 25)),
        ColumnSpec("有効期限", OPTIONAL, "日付、または 2026/11（月末）。コーポレートは空欄なら開始日から5年後の月末",
                   dt.date(2026, 11, 30)),
        ColumnSpec("備考", OPTIONAL, "200文字以内", None, 200),
    ],
}


@dataclass(frozen=True)
class CellError:
    """One problem in the file. str() is the Japanese line shown on the screen and by the CLI."""

    sheet: str | None
    row: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = [f"シート「{self.sheet}」" if self.sheet else "ファイル"]
        if self.row:
            where.append(f"{self.row}行目")
        place = " ".join(where)
        return f"{place} {self.column}: {self.reason}" if self.column else f"{place}: {self.reason}"




@dataclass
class SheetRow:
    number: int  # the Excel row number, as the user sees it
    values: dict  # header → raw cell value (str, int, float, bool, datetime, or None)


@dataclass
class MasterWorkbook:
    sheets: dict[str, list[SheetRow]] = field(default_factory=dict)
    headers: dict[str, set[str]] = field(default_factory=dict)  # the known headers each sheet has
    errors: list[CellError] = field(default_factory=list)


def _key(text) -> str:
    """Header and sheet names as compared: NFKC, no spaces or required marks, 支店・営業所 = 組合員."""
    key = unicodedata.normalize("NFKC", str(text or ""))
    for mark in (" ", "\u3000", "*", "※", "(必須)", "必須"):
        key = key.replace(mark, "")
    return key.replace("支店・営業所", "組合員").strip()


@dataclass(frozen=True)
class Limits:
    """Bounds checked before and while parsing (issue 8 item 9: a 1.2 MB zip bomb took 432 s and
    2.9 GB). None: no bound (the service passes the configured ones)."""

    uncompressed_bytes: int | None = None
    rows: int | None = None
    members: int = 1_000  # zip members: an .xlsx of three sheets has about a dozen


def _mb(size: int) -> str:
    return f"{size / (1 << 20):,.1f} MB"


def _zip_refusal(source, limits: Limits) -> str | None:
    """Why the .xlsx (a zip) is refused before it is parsed, from its directory alone: the sizes
    its members unpack to (zipfile never unpacks a member past its declared size, so a lying
    directory only truncates), and how many members it has."""
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None  # load_workbook reports it as not an .xlsx
    finally:
        source.seek(0)
    if len(members) > limits.members:
        return f"ファイルの中身の数が多すぎます（{len(members):,}個、上限 {limits.members:,}個）。"
    unpacked = sum(member.file_size for member in members)
    if limits.uncompressed_bytes is not None and unpacked > limits.uncompressed_bytes:
        return (f"展開後のサイズが大きすぎます（{_mb(unpacked)}、上限 {_mb(limits.uncompressed_bytes)}）。"
                "ファイルを分けて取り込んでください。")
    return None


def read_workbook(source, limits: Limits = Limits()) -> MasterWorkbook:
    """Read the three sheets (read-only, values not formulas). Missing sheets are simply empty;
    a missing required header is an error, so that no column is silently dropped."""
    result = MasterWorkbook()
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    if isinstance(source, str) or hasattr(source, "__fspath__"):
        with open(source, "rb") as handle:
            return read_workbook(handle, limits)
    refusal = _zip_refusal(source, limits)
    if refusal:
        result.errors.append(CellError(None, None, None, refusal))
        return result
    try:
        book = load_workbook(source, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        result.errors.append(CellError(None, None, None,
                                          "Excelファイル（.xlsx）として読み取れません。Excel 2007以降の形式で保存してください。"))
        return result
    try:
        by_key = {_key(name): name for name in book.sheetnames}
        if not any(_key(sheet) in by_key for sheet in SHEETS):
            result.errors.append(CellError(None, None, None,
                                              "シート「組合員」「車両」「カード」のいずれもありません。ひな形のシート名のままにしてください。"))
        for sheet in SHEETS:
            name = by_key.get(_key(sheet))
            result.sheets[sheet] = [] if name is None else _read_sheet(book[name], sheet, result, limits.rows)
    finally:
        book.close()
    return result


def _too_many_rows(sheet: str, max_rows: int) -> CellError:
    return CellError(sheet, None, None, f"行が多すぎます（上限 {max_rows:,}行）。ファイルを分けて取り込んでください。")


def _read_sheet(ws, sheet: str, result: MasterWorkbook, max_rows: int | None = None) -> list[SheetRow]:
    specs = {_key(spec.header): spec for spec in COLUMNS[sheet]}
    declared = ws.max_row if isinstance(getattr(ws, "max_row", None), int) else 0  # the sheet's <dimension>
    if max_rows is not None and declared > max_rows:
        result.errors.append(_too_many_rows(sheet, max_rows))
        return []
    if hasattr(ws, "reset_dimensions"):  # read-only: read every cell, not only the ones <dimension> claims
        ws.reset_dimensions()
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None) or ()
    positions: dict[str, int] = {}
    for index, cell in enumerate(header):
        spec = specs.get(_key(cell))
        if spec is None:
            continue
        if spec.header in positions:
            result.errors.append(CellError(sheet, 1, spec.header, "同じ列見出しが2回あります。"))
        positions[spec.header] = index
    result.headers[sheet] = set(positions)
    for spec in COLUMNS[sheet]:
        if spec.required == REQUIRED and spec.header not in positions:
            result.errors.append(CellError(sheet, 1, spec.header, "この列がありません（1行目の見出しを確認してください）。"))
    out = []
    for number, values in enumerate(rows, start=2):
        if max_rows is not None and number > max_rows:  # a <dimension> can lie: counted as read
            result.errors.append(_too_many_rows(sheet, max_rows))
            return []
        cells = {h: (values[i] if i < len(values) else None) for h, i in positions.items()}
        cells = {h: (v.strip() if isinstance(v, str) else v) for h, v in cells.items()}
        if all(v in (None, "") for v in cells.values()):
            continue
        out.append(SheetRow(number, cells))
    return out


_HEADER_FONT = Font(bold=True)
_REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
_OPTIONAL_FILL = PatternFill("solid", fgColor="DDEBF7")


def template_bytes() -> bytes:
    """The blank template: the three sheets with headers only (required ones in orange, each with a
    comment giving format and example) and a 記入方法 sheet listing every column with an example."""
    book = Workbook()
    book.remove(book.active)
    for sheet in SHEETS:
        ws = book.create_sheet(sheet)
        for col, spec in enumerate(COLUMNS[sheet], start=1):
            cell = set_value(ws.cell(row=1, column=col), spec.header)
            cell.font = _HEADER_FONT
            cell.fill = _REQUIRED_FILL if spec.required != OPTIONAL else _OPTIONAL_FILL
            example = _example_text(spec.example)
            cell.comment = Comment(f"{spec.required}: {spec.format}" + (f"\n例: {example}" if example else ""),
                                   "Tollbook", width=260, height=110)
            letter = get_column_letter(col)
            ws.column_dimensions[letter].width = max(12, len(spec.header) * 2 + 4)
            if spec.text:
                # Text cells: Excel would drop leading zeros (0005) and round 16-digit card numbers.
                for row in range(2, 1002):
                    ws.cell(row=row, column=col).number_format = "@"
            elif isinstance(spec.example, dt.date):
                for row in range(2, 1002):
                    ws.cell(row=row, column=col).number_format = "yyyy/mm/dd"
        ws.freeze_panes = "A2"
    notes = book.create_sheet(NOTES)
    lines = [["マスタ取込用Excel 記入方法（このシートは取り込みません）"],
             ["1行目の見出しは変えずに、2行目から1行に1件ずつ入力してください。全件にエラーがない場合のみ登録します。"],
             ["組合員 → 車両 → カード の順に登録します。既に登録済みの組合員コードは上書き、車両番号・カード番号は重複登録しません。"],
             [],
             ["シート", "列", "必須", "形式", "例"]]
    lines += [[sheet, spec.header, spec.required, spec.format, _example_text(spec.example)]
              for sheet in SHEETS for spec in COLUMNS[sheet]]
    for number, line in enumerate(lines, start=1):
        for col, value in enumerate(line, start=1):
            set_value(notes.cell(row=number, column=col), value)
    for cell in notes[5]:
        cell.font = _HEADER_FONT
    for letter, width in zip("ABCDE", (10, 16, 10, 70, 24)):
        notes.column_dimensions[letter].width = width
    for row in notes.iter_rows(min_row=6):
        row[3].alignment = Alignment(wrap_text=True)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _example_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return f"{value:%Y/%m/%d}"
    return str(value)

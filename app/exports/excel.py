"""Excel writer for every list: Japanese headers, yen with thousands separators, dates as 2026/11/25.

Every workbook Tollbook writes (list exports, 請求一覧, usage export, IC master, CLI exports, the
master template) puts its values through `set_value`, and the one CSV download through `csv_text`:
text that a spreadsheet would take for a formula (CWE-1236, "CSV/formula injection": a member named
`=HYPERLINK("http://…"&A1,"詳細")` would become a live link in the office's Excel) is written as text.
"""
import datetime as dt
import io
from typing import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill

YEN_FORMAT = "#,##0"
DATE_FORMAT = "yyyy/mm/dd"
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


# A spreadsheet treats text starting with these as a formula (=, +, -, @) or strips them and looks
# at what follows (tab, CR): OWASP "CSV Injection".
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def set_value(cell, value):
    """Put a value in a cell; text is always a string cell, never a formula. openpyxl turns a string
    starting with '=' into a formula cell, so the type is set explicitly; quotePrefix (Excel's
    leading apostrophe) keeps it text when someone edits the cell and presses Enter."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
        if formula_like(value):
            cell.quotePrefix = True
    return cell


def csv_text(value):
    """A CSV field as Excel may open it: formula-like text gets the usual leading apostrophe
    (Excel hides it and shows the text); numbers, dates and other text are left alone."""
    return "'" + value if formula_like(value) else value


def _cell(sheet, value, money: bool):
    cell = set_value(WriteOnlyCell(sheet), value)
    if isinstance(value, dt.datetime):
        cell.number_format = "yyyy/mm/dd hh:mm"
    elif isinstance(value, dt.date):
        cell.number_format = DATE_FORMAT
    elif money and isinstance(value, int) and not isinstance(value, bool):
        cell.number_format = YEN_FORMAT
    return cell


def add_sheet(workbook: Workbook, title: str, headers: Sequence[str], rows: Iterable[Sequence],
              money_columns: Sequence[int] = ()):
    sheet = workbook.create_sheet(title=title[:31])
    header = []
    for text in headers:
        cell = set_value(WriteOnlyCell(sheet), str(text))
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        header.append(cell)
    sheet.append(header)
    money = set(money_columns)
    for row in rows:
        sheet.append([_cell(sheet, value, i in money) for i, value in enumerate(row)])
    return sheet


def workbook_bytes(sheets: Sequence[tuple]) -> bytes:
    """sheets: (title, headers, rows[, money_columns]) tuples → .xlsx bytes (streamed, write-only)."""
    workbook = Workbook(write_only=True)
    for sheet in sheets:
        add_sheet(workbook, *sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

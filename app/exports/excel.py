"""Excel writer for every list: Japanese headers, yen with thousands separators, dates as 2026/11/25."""
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


def _cell(sheet, value, money: bool):
    cell = WriteOnlyCell(sheet, value=value)
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
        cell = WriteOnlyCell(sheet, value=str(text))
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

"""The statements as CSV for members' own systems (accounting, fleet management): cp932 (Shift_JIS
with the Windows extensions, so 髙 and 﨑 survive), CRLF line ends, one header line, amounts as plain
integers, dates YYYY/MM/DD. docs/documents.md lists the columns.

cp932 has no code for a few Unicode characters that look like ones it has (WAVE DASH 〜 vs its
FULLWIDTH TILDE ～, MINUS SIGN − vs FULLWIDTH HYPHEN-MINUS －, …): those are mapped to the cp932 ones;
anything else cp932 cannot write becomes '?' rather than failing the whole file. Text that a
spreadsheet would take for a formula gets a leading apostrophe (app.exports.excel.csv_text)."""
from __future__ import annotations

import csv
import io

from app.exports.excel import csv_text

from . import formatting
from .data import InvoiceDocuments

# Unicode → the character cp932 has for it (the mappings Windows itself applies).
_CP932_LOOKALIKES = str.maketrans({"\u301c": "\uff5e", "\u2212": "\uff0d", "\u2016": "\u2225", "\u00a2": "\uffe0",
                                   "\u00a3": "\uffe1", "\u00ac": "\uffe2", "\u2014": "\u2015"})

USAGE_COLUMNS = ("請求書番号", "利用月", "カード番号（末尾4桁）", "車両番号", "利用日", "入口時刻", "出口時刻", "入口IC",
                 "出口IC", "道路事業者", "車種", "割引前料金", "割引額", "通行料金", "割引の種類")
CARD_COLUMNS = ("請求書番号", "利用月", "カード番号（末尾4桁）", "車両番号", "車種", "件数", "通行料金", "割引", "手数料",
                "差引金額")


def encode_cp932(text: str) -> bytes:
    return text.translate(_CP932_LOOKALIKES).encode("cp932", errors="replace")


def _write(header, rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_text(value) if isinstance(value, str) else ("" if value is None else value)
                         for value in row])
    return encode_cp932(buffer.getvalue())


def usage_statement_csv(data: InvoiceDocuments) -> bytes:
    cards = {card.card_id: card for card in data.cards}
    number, month = data.invoice.number, data.invoice.month

    def rows():
        for u in data.usages:
            card = cards[u.card_id]
            yield (number, month, card.masked_number, card.plate, f"{u.exit_at:%Y/%m/%d}",
                   f"{u.entry_at:%H:%M}" if u.entry_at else "", f"{u.exit_at:%H:%M}", u.entry_ic, u.exit_ic,
                   u.road_operator, formatting.vehicle_class_name(u.vehicle_class or card.vehicle_class),
                   u.amount_before_discount, u.discount, u.amount_billed, u.discount_kinds)
    return _write(USAGE_COLUMNS, rows())


def card_statement_csv(data: InvoiceDocuments) -> bytes:
    number, month = data.invoice.number, data.invoice.month
    return _write(CARD_COLUMNS, ((number, month, c.masked_number, c.plate, formatting.vehicle_class_name(c.vehicle_class),
                                  c.trips, c.usage, c.discount, c.fees, c.net) for c in data.cards))


WRITERS = {"usage-statement": usage_statement_csv, "card-statement": card_statement_csv}

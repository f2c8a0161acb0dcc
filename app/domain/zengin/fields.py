"""The two field kinds of a 全銀 record (zengin-format.md §1): N (digits, right-aligned, zero-filled)
and C (half-width text, left-aligned, space-filled). A value that does not fit is refused, never cut."""
from app.domain.errors import DomainError

RECORD_LENGTH = 120
ENCODING = "cp932"


def numeric(value, length: int, label: str) -> str:
    text = str(value if value is not None else "")
    if text and not (text.isascii() and text.isdigit()):
        raise DomainError(f"{label}「{value}」は数字だけです。", "zengin")
    if len(text) > length:
        raise DomainError(f"{label}「{value}」は{length}桁を超えています。", "zengin")
    return text.rjust(length, "0")


def text(value: str | None, length: int, label: str) -> str:
    """An already normalised value (app.domain.kana.to_zengin_kana); checked to be single-byte cp932."""
    value = value or ""
    try:
        encoded = value.encode(ENCODING)
    except UnicodeEncodeError:
        raise DomainError(f"{label}「{value}」は半角文字だけです。", "zengin") from None
    if len(encoded) != len(value):
        raise DomainError(f"{label}「{value}」に全角文字があります。", "zengin")
    if len(value) > length:
        raise DomainError(f"{label}「{value}」は{length}バイトを超えています。", "zengin")
    return value.ljust(length, " ")


def filler(length: int) -> str:
    return " " * length


def encode(record: str) -> bytes:
    data = record.encode(ENCODING)
    if len(data) != RECORD_LENGTH:  # a programming error, not bad input: every field above is fixed
        raise AssertionError(f"全銀レコードが{len(data)}バイトです（120バイトのはず）: {record!r}")
    return data

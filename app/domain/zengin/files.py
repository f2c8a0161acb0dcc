"""Whole 全銀 files: one header, the data records, the trailer computed from them, the end record
(a single group: some banks refuse multi-group files, zengin-format.md §1 and §8 D8).

The per-collector differences of §8 are `FileOptions`, stored on each collection profile."""
from dataclasses import dataclass
from typing import Sequence

from app.domain.errors import DomainError

from .records import (DEBIT, TRANSFER, DebitData, Header, TransferData, debit_data_record, debit_trailer_record,
                      end_record, header_record, transfer_data_record, transfer_trailer_record)

MAX_AMOUNT = 9_999_999_999  # N(10) per record
MAX_TOTAL = 999_999_999_999  # N(12) in the trailer
MAX_RECORDS = 999_999  # N(6)

SEPARATORS = {"crlf": b"\r\n", "none": b""}
SEPARATOR_NAMES = {"crlf": "CRLF（1レコード122バイト）", "none": "なし（120バイト連続）"}
CHARSETS = {"strict": "標準（全銀協の厳格な文字）", "wide": "拡張（ｦ と ' + , / : ? も可）"}
CUSTOMER_NUMBER_KINDS = {"numeric": "数字（右詰め・ゼロ埋め）", "text": "文字（左詰め・スペース埋め）"}


@dataclass(frozen=True)
class FileOptions:
    separator: str = "crlf"  # §8 D3: CRLF after every record, or none
    customer_number: str = "numeric"  # §8 D5: 顧客番号 N or C
    charset: str = "strict"  # §8 D1/D4
    use_new_code: bool = False  # 新規コード 1 on a mandate's first debit, 2 after account changes; else always 0
    edi: bool = False  # 総合振込: EDI情報 (識別表示 Y) instead of 顧客コード1/2

    def __post_init__(self):
        if self.separator not in SEPARATORS:
            raise DomainError(f"レコード区切り「{self.separator}」は crlf か none です。", "separator")
        if self.customer_number not in CUSTOMER_NUMBER_KINDS:
            raise DomainError(f"顧客番号の形式「{self.customer_number}」は numeric か text です。", "customer_number")
        if self.charset not in CHARSETS:
            raise DomainError(f"文字の範囲「{self.charset}」は strict か wide です。", "charset")


def _join(records: Sequence[bytes], options: FileOptions) -> bytes:
    separator = SEPARATORS[options.separator]
    return b"".join(record + separator for record in records)


def _check_totals(amounts: Sequence[int]) -> int:
    if len(amounts) > MAX_RECORDS:
        raise DomainError(f"1ファイルのデータレコードは{MAX_RECORDS:,}件までです（{len(amounts):,}件）。")
    total = sum(amounts)
    if total > MAX_TOTAL:
        raise DomainError(f"合計金額 {total:,}円が全銀ファイルの上限（{MAX_TOTAL:,}円）を超えています。")
    return total


def debit_file(header: Header, data: Sequence[DebitData], options: FileOptions) -> bytes:
    """預金口座振替 依頼データ (種別91): header, data, trailer (count and total of the data; the result
    fields 0), end."""
    if header.kind != DEBIT:
        raise AssertionError("debit_file needs a 種別91 header")
    if not data:
        raise DomainError("口座振替の対象がありません（データレコード0件のファイルは作りません）。")
    total = _check_totals([d.amount for d in data])
    records = [header_record(header), *(debit_data_record(d) for d in data),
               debit_trailer_record(len(data), total), end_record()]
    return _join(records, options)


def transfer_file(header: Header, data: Sequence[TransferData], options: FileOptions) -> bytes:
    """総合振込 依頼データ (種別21)."""
    if header.kind != TRANSFER:
        raise AssertionError("transfer_file needs a 種別21 header")
    if not data:
        raise DomainError("振込の対象がありません（データレコード0件のファイルは作りません）。")
    total = _check_totals([d.amount for d in data])
    records = [header_record(header), *(transfer_data_record(d) for d in data),
               transfer_trailer_record(len(data), total), end_record()]
    return _join(records, options)


def mmdd(day) -> str:
    return f"{day.month:02d}{day.day:02d}"


def show_records(data: bytes, limit: int | None = None) -> str:
    """The records as text with a 1-based position ruler: how the docs and the closing note show a file."""
    records = split_records(data)
    ruler = "".join(str(i // 10 % 10) if i % 10 == 0 else " " for i in range(1, 121))
    digits = "".join(str(i % 10) for i in range(1, 121))
    lines = [ruler, digits]
    for record in records[:limit]:
        lines.append(record.decode("cp932"))
    return "\n".join(lines)


def split_records(data: bytes) -> list[bytes]:
    """120-byte records, with CRLF, LF or no separator (the reader's checks are in reader.py)."""
    if b"\n" in data:
        return [line.rstrip(b"\r") for line in data.split(b"\n") if line.rstrip(b"\r")]
    return [data[i:i + 120] for i in range(0, len(data), 120)]

"""Reading a 振替結果 file (種別91, the bank's answer to a debit request; zengin-format.md §2.5, §3, §8 D3).

`read_debit_result(data)` returns the header, the data records and the trailer, or raises
ResultFileRefused listing every problem with its record number: wrong record length, CR-only or mixed
separators, a record out of order, digits expected, a trailer that disagrees with its records, a file that is
a request rather than a result. A result code outside the JBA list is not refused: the record is kept,
flagged unknown and counted as not paid (unless `extra_codes` names it, §8 D10)."""
from dataclasses import dataclass, field

from app.domain.errors import DomainError

RESULT_CODES = {
    "0": "振替済",
    "1": "資金不足",
    "2": "取引なし",
    "3": "預金者の都合による振替停止",
    "4": "依頼書なし",
    "8": "委託者の都合による振替停止",
    "9": "その他",
}
PAID = "0"


def result_reason(code: str) -> str:
    if code in RESULT_CODES:
        return RESULT_CODES[code]
    return f"不明な結果コード「{code}」（振替不能として扱います。銀行・収納代行に確認してください）"


class ResultFileRefused(DomainError):
    """Nothing was recorded; `errors` names every problem (record number, field, reason)."""

    def __init__(self, file_name: str, errors: list[str]):
        self.errors = errors
        super().__init__(f"{file_name}: 振替結果ファイルとして読めないため取り込みませんでした（{len(errors)}件の問題）。"
                         "入金は何も記録していません。")


@dataclass(frozen=True)
class ResultHeader:
    requester_code: str
    requester_name: str
    date_mmdd: str
    bank_code: str
    branch_code: str
    account_type: str
    account_number: str


@dataclass(frozen=True)
class ResultRecord:
    record_no: int  # 1-based position in the file (header = 1)
    bank_code: str
    branch_code: str
    account_type: str
    account_number: str
    holder_name: str
    amount: int
    new_code: str
    customer_number: str  # the 20 bytes as written (N zero-filled, or C space-filled)
    result_code: str

    @property
    def paid(self) -> bool:
        return self.result_code == PAID

    @property
    def known_code(self) -> bool:
        return self.result_code in RESULT_CODES


@dataclass
class DebitResultFile:
    header: ResultHeader
    records: list[ResultRecord]
    count: int
    total: int
    paid_count: int
    paid_amount: int
    failed_count: int
    failed_amount: int
    warnings: list[str] = field(default_factory=list)


def _split(data: bytes, errors: list[str], warnings: list[str]) -> list[bytes]:
    crlf, lf, cr = data.count(b"\r\n"), data.count(b"\n"), data.count(b"\r")
    if cr and not lf:
        errors.append("改行が CR だけです（CRLF か区切りなしのファイルにしてください）。")
        return []
    if lf and crlf and crlf != lf:
        errors.append("改行に CRLF と LF が混ざっています。")
        return []
    if lf:
        if not crlf:
            warnings.append("改行が LF だけです（CRLF として読みました）。")
        lines = data.split(b"\r\n" if crlf else b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        return lines
    if len(data) % 120:
        errors.append(f"ファイルの長さ {len(data):,}バイトが120バイトの倍数ではありません。")
        return []
    return [data[i:i + 120] for i in range(0, len(data), 120)]


def _digits(value: str, record_no: int, label: str, errors: list[str]) -> str:
    if not (value.isascii() and value.isdigit()):
        errors.append(f"{record_no}件目（{label}）: 数字のはずが「{value}」です。")
    return value


def read_debit_result(data: bytes, extra_codes: tuple[str, ...] = ()) -> DebitResultFile:
    errors: list[str] = []
    warnings: list[str] = []
    lines = _split(data, errors, warnings)
    records: list[str] = []
    for number, line in enumerate(lines, start=1):
        if len(line) != 120:
            errors.append(f"{number}件目: レコード長が{len(line)}バイトです（120バイトのはず）。")
            continue
        try:
            record = line.decode("cp932")
        except UnicodeDecodeError:
            errors.append(f"{number}件目: 全銀の文字（JIS・cp932 の半角）ではないバイトがあります。")
            continue
        if len(record) != 120:  # a double-byte character: every later position would be read one off
            errors.append(f"{number}件目: 全角文字（2バイト文字）があります（全銀のレコードは半角だけです）。")
            continue
        records.append(record)
    if errors:
        raise ResultFileRefused("振替結果", errors)
    kinds = "".join(r[0] for r in records)
    if not records or kinds[0] != "1" or not kinds.endswith("89") or set(kinds[1:-2]) - {"2"}:
        errors.append(f"レコードの並びが ヘッダー(1)・データ(2)…・トレーラー(8)・エンド(9) ではありません（{kinds[:20]}…）。")
        raise ResultFileRefused("振替結果", errors)
    head = records[0]
    if head[1:3] != "91":
        errors.append(f"1件目: 種別コードが「{head[1:3]}」です（口座振替の結果は 91）。")
    if head[3] != "0":
        errors.append(f"1件目: コード区分が「{head[3]}」です（JIS の 0 のみ読みます）。")
    header = ResultHeader(requester_code=_digits(head[4:14], 1, "委託者コード", errors), requester_name=head[14:54].rstrip(),
                          date_mmdd=_digits(head[54:58], 1, "引落日", errors), bank_code=head[58:62],
                          branch_code=head[77:80], account_type=head[95], account_number=head[96:103])
    results = []
    for no, r in enumerate(records[1:-2], start=2):
        code = r[111]
        amount = _digits(r[80:90], no, "引落金額", errors)
        results.append(ResultRecord(record_no=no, bank_code=_digits(r[1:5], no, "引落銀行番号", errors),
                                    branch_code=_digits(r[20:23], no, "引落支店番号", errors),
                                    account_type=r[42], account_number=_digits(r[43:50], no, "口座番号", errors),
                                    holder_name=r[50:80].rstrip(), amount=int(amount) if amount.isdigit() else 0,
                                    new_code=r[90], customer_number=r[91:111], result_code=code))
        if code == " ":
            errors.append(f"{no}件目: 振替結果コードが空白です。")
        elif code not in RESULT_CODES and code not in extra_codes:
            warnings.append(f"{no}件目: {result_reason(code)}")
    trailer = records[-2]
    values = [_digits(trailer[a:b], len(records) - 1, label, errors) for a, b, label in (
        (1, 7, "合計件数"), (7, 19, "合計金額"), (19, 25, "振替済件数"), (25, 37, "振替済金額"), (37, 43, "振替不能件数"),
        (43, 55, "振替不能金額"))]
    if errors:
        raise ResultFileRefused("振替結果", errors)
    count, total, paid_count, paid_amount, failed_count, failed_amount = map(int, values)
    paid = [r for r in results if r.paid]
    failed = [r for r in results if not r.paid]
    checks = ((count, len(results), "合計件数"), (total, sum(r.amount for r in results), "合計金額"),
              (paid_count, len(paid), "振替済件数"), (paid_amount, sum(r.amount for r in paid), "振替済金額"),
              (failed_count, len(failed), "振替不能件数"), (failed_amount, sum(r.amount for r in failed), "振替不能金額"))
    if count and paid_count + failed_count == 0:
        errors.append("トレーラーの振替済件数・振替不能件数が0です。これは振替結果ではなく依頼データです。")
    else:
        for stated, actual, label in checks:
            if stated != actual:
                errors.append(f"トレーラーの{label}が {stated:,} ですが、データレコードからは {actual:,} です。")
    if errors:
        raise ResultFileRefused("振替結果", errors)
    return DebitResultFile(header, results, count, total, paid_count, paid_amount, failed_count, failed_amount,
                           warnings)

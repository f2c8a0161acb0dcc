"""The record types, field by field as the spec tables list them (zengin-format.md §2 and §4; positions
1-based in the comments). Each `*_record` returns the 120-byte record; values are already normalised
(kana through app.domain.kana.to_zengin_kana) and are checked again here for width and digits."""
from dataclasses import dataclass

from .fields import encode, filler, numeric, text

DEBIT = "91"  # 預金口座振替
TRANSFER = "21"  # 総合振込
JIS = "0"  # コード区分


@dataclass(frozen=True)
class Header:
    """データ区分 1 — the same positions for 91 and 21 (§2.1, §4.1)."""
    kind: str  # 種別コード 91 / 21
    requester_code: str  # 委託者コード / 振込依頼人コード, N(10)
    requester_name: str  # 委託者名 / 振込依頼人名, C(40)
    date_mmdd: str  # 引落日 / 振込指定日, MMDD
    bank_code: str  # 取引銀行番号 / 仕向銀行番号, N(4)
    bank_name: str  # ※ C(15)
    branch_code: str  # N(3)
    branch_name: str  # ※ C(15)
    account_type: int | None  # 預金種目 N(1)
    account_number: str  # N(7)


@dataclass(frozen=True)
class DebitData:
    """データ区分 2 of 種別91 (§2.2)."""
    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str
    account_type: int
    account_number: str
    holder_name: str  # 預金者名 C(30)
    amount: int  # 引落金額 N(10)
    new_code: str  # 新規コード 0/1/2
    customer_number: str  # 顧客番号 N(20), or C(20) when the profile says so (§8 D5)
    customer_number_text: bool = False
    result_code: str = "0"  # 振替結果コード: 0 in a request


@dataclass(frozen=True)
class TransferData:
    """データ区分 2 of 種別21 (§4.2)."""
    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str
    account_type: int
    account_number: str
    payee_name: str  # 受取人名 C(30)
    amount: int  # 振込金額 N(10)
    new_code: str
    customer_code1: str = ""  # 顧客コード1 N(10)
    customer_code2: str = ""  # 顧客コード2 N(10)
    edi: str | None = None  # EDI情報 C(20) with 識別表示 Y instead of the two codes
    transfer_kind: str = " "  # 振込指定区分 7/8/space


def header_record(h: Header) -> bytes:
    return encode(
        "1"                                                   # 1      データ区分
        + numeric(h.kind, 2, "種別コード")                     # 2-3
        + JIS                                                 # 4      コード区分
        + numeric(h.requester_code, 10, "委託者コード")        # 5-14
        + text(h.requester_name, 40, "委託者名")               # 15-54
        + numeric(h.date_mmdd, 4, "引落日")                    # 55-58
        + numeric(h.bank_code, 4, "取引銀行番号")              # 59-62
        + text(h.bank_name, 15, "取引銀行名")                  # 63-77
        + numeric(h.branch_code, 3, "取引支店番号")            # 78-80
        + text(h.branch_name, 15, "取引支店名")                # 81-95
        + numeric(h.account_type if h.account_type is not None else 0, 1, "預金種目")  # 96
        + numeric(h.account_number, 7, "口座番号")             # 97-103
        + filler(17))                                         # 104-120 ダミー


def debit_data_record(d: DebitData) -> bytes:
    customer = (text(d.customer_number, 20, "顧客番号") if d.customer_number_text
                else numeric(d.customer_number, 20, "顧客番号"))
    return encode(
        "2"                                                   # 1      データ区分
        + numeric(d.bank_code, 4, "引落銀行番号")              # 2-5
        + text(d.bank_name, 15, "引落銀行名")                  # 6-20
        + numeric(d.branch_code, 3, "引落支店番号")            # 21-23
        + text(d.branch_name, 15, "引落支店名")                # 24-38
        + filler(4)                                           # 39-42  ダミー
        + numeric(d.account_type, 1, "預金種目")               # 43
        + numeric(d.account_number, 7, "口座番号")             # 44-50
        + text(d.holder_name, 30, "預金者名")                  # 51-80
        + numeric(d.amount, 10, "引落金額")                    # 81-90
        + numeric(d.new_code, 1, "新規コード")                 # 91
        + customer                                            # 92-111 顧客番号
        + text(d.result_code, 1, "振替結果コード")             # 112
        + filler(8))                                          # 113-120 ダミー


def debit_trailer_record(count: int, total: int, ok_count: int = 0, ok_amount: int = 0, ng_count: int = 0,
                         ng_amount: int = 0) -> bytes:
    return encode(
        "8"                                                   # 1      データ区分
        + numeric(count, 6, "合計件数")                        # 2-7
        + numeric(total, 12, "合計金額")                       # 8-19
        + numeric(ok_count, 6, "振替済件数")                   # 20-25
        + numeric(ok_amount, 12, "振替済金額")                 # 26-37
        + numeric(ng_count, 6, "振替不能件数")                 # 38-43
        + numeric(ng_amount, 12, "振替不能金額")               # 44-55
        + filler(65))                                         # 56-120 ダミー


def transfer_data_record(d: TransferData) -> bytes:
    if d.edi is not None:
        codes, flag = text(d.edi, 20, "EDI情報"), "Y"
    else:
        codes = numeric(d.customer_code1, 10, "顧客コード1") + numeric(d.customer_code2, 10, "顧客コード2")
        flag = " "
    return encode(
        "2"                                                   # 1      データ区分
        + numeric(d.bank_code, 4, "被仕向銀行番号")            # 2-5
        + text(d.bank_name, 15, "被仕向銀行名")                # 6-20
        + numeric(d.branch_code, 3, "被仕向支店番号")          # 21-23
        + text(d.branch_name, 15, "被仕向支店名")              # 24-38
        + "0000"                                              # 39-42  手形交換所番号 (unused)
        + numeric(d.account_type, 1, "預金種目")               # 43
        + numeric(d.account_number, 7, "口座番号")             # 44-50
        + text(d.payee_name, 30, "受取人名")                   # 51-80
        + numeric(d.amount, 10, "振込金額")                    # 81-90
        + numeric(d.new_code, 1, "新規コード")                 # 91
        + codes                                               # 92-111 顧客コード1・2 / EDI情報
        + text(d.transfer_kind, 1, "振込指定区分")             # 112
        + flag                                                # 113    識別表示
        + filler(7))                                          # 114-120 ダミー


def transfer_trailer_record(count: int, total: int) -> bytes:
    return encode(
        "8"                                                   # 1      データ区分
        + numeric(count, 6, "合計件数")                        # 2-7
        + numeric(total, 12, "合計金額")                       # 8-19
        + filler(101))                                        # 20-120 ダミー


def end_record() -> bytes:
    return encode("9" + filler(119))                          # 1 データ区分, 2-120 ダミー

"""全銀 records byte for byte (zengin-format.md §2, §4). Every expected record is written out by hand
from the spec tables: one literal per field, in table order, with its 1-based positions."""
import datetime as dt

import pytest

from app.domain.errors import DomainError
from app.domain.zengin.files import FileOptions, debit_file, mmdd, show_records, split_records, transfer_file
from app.domain.zengin.records import (DebitData, Header, TransferData, debit_data_record, debit_trailer_record,
                                       end_record, header_record, transfer_data_record, transfer_trailer_record)

HEADER_91 = Header(kind="91", requester_code="1234567890", requester_name="ﾃｽﾄｷﾖｳﾄﾞｳｸﾐｱｲ", date_mmdd="1207",
                   bank_code="0001", bank_name="ﾐｽﾞﾎ", branch_code="001", branch_name="ﾄｳｷﾖｳ", account_type=1,
                   account_number="7654321")
DATA_91 = DebitData(bank_code="0005", bank_name="ﾐﾂﾋﾞｼﾕ-ｴﾌｼﾞｴｲ", branch_code="123", branch_name="ｼﾝｼﾞﾕｸ",
                    account_type=1, account_number="0012345", holder_name="ｶ)ﾔﾏﾀﾞｳﾝﾕ", amount=40399,
                    new_code="0", customer_number="42")


def test_header_91_by_the_table():
    expected = ("1"                                   # 1      データ区分
                "91"                                  # 2-3    種別コード
                "0"                                   # 4      コード区分 JIS
                "1234567890"                          # 5-14   委託者コード
                "ﾃｽﾄｷﾖｳﾄﾞｳｸﾐｱｲ" + " " * 27           # 15-54  委託者名 C(40): 13 + 27
                + "1207"                              # 55-58  引落日
                "0001"                                # 59-62  取引銀行番号
                "ﾐｽﾞﾎ" + " " * 11                     # 63-77  取引銀行名 C(15)
                + "001"                               # 78-80  取引支店番号
                "ﾄｳｷﾖｳ" + " " * 10                    # 81-95  取引支店名 C(15)
                + "1"                                 # 96     預金種目
                "7654321"                             # 97-103 口座番号
                + " " * 17)                           # 104-120 ダミー
    assert len(expected) == 120
    record = header_record(HEADER_91)
    assert record == expected.encode("cp932")
    assert len(record) == 120
    assert record[14:54].decode("cp932").rstrip() == "ﾃｽﾄｷﾖｳﾄﾞｳｸﾐｱｲ"  # pos 15-54
    assert record[54:58] == b"1207" and record[95:96] == b"1"


def test_data_91_by_the_table():
    expected = ("2"                                   # 1      データ区分
                "0005"                                # 2-5    引落銀行番号
                "ﾐﾂﾋﾞｼﾕ-ｴﾌｼﾞｴｲ" + " " * 2            # 6-20   引落銀行名 C(15): 13 + 2
                + "123"                               # 21-23  引落支店番号
                "ｼﾝｼﾞﾕｸ" + " " * 9                    # 24-38  引落支店名 C(15)
                + "    "                              # 39-42  ダミー
                "1"                                   # 43     預金種目
                "0012345"                             # 44-50  口座番号
                "ｶ)ﾔﾏﾀﾞｳﾝﾕ" + " " * 21                # 51-80  預金者名 C(30)
                + "0000040399"                        # 81-90  引落金額
                "0"                                   # 91     新規コード
                "00000000000000000042"                # 92-111 顧客番号 N(20)
                "0"                                   # 112    振替結果コード
                + " " * 8)                            # 113-120 ダミー
    assert len(expected) == 120
    record = debit_data_record(DATA_91)
    assert record == expected.encode("cp932")
    assert record[80:90] == b"0000040399" and record[91:111] == b"0" * 18 + b"42"
    assert record[50:80].decode("cp932").rstrip() == "ｶ)ﾔﾏﾀﾞｳﾝﾕ"


def test_data_91_with_a_text_customer_number():
    record = debit_data_record(DebitData(**{**DATA_91.__dict__, "customer_number": "M0001",
                                            "customer_number_text": True}))
    assert record[91:111] == b"M0001" + b" " * 15  # pos 92-111, C: left-aligned, spaces


def test_trailer_91_by_the_table():
    expected = ("8"                                   # 1      データ区分
                "000003"                              # 2-7    合計件数
                "000000123456"                        # 8-19   合計金額
                "000000"                              # 20-25  振替済件数
                "000000000000"                        # 26-37  振替済金額
                "000000"                              # 38-43  振替不能件数
                "000000000000"                        # 44-55  振替不能金額
                + " " * 65)                           # 56-120 ダミー
    assert debit_trailer_record(3, 123456) == expected.encode("ascii")
    result = debit_trailer_record(3, 123456, 2, 100000, 1, 23456)
    assert result[19:25] == b"000002" and result[25:37] == b"000000100000"
    assert result[37:43] == b"000001" and result[43:55] == b"000000023456"


def test_end_record():
    assert end_record() == b"9" + b" " * 119


def test_header_21_and_data_21_by_the_table():
    header = header_record(Header(kind="21", requester_code="0000012345", requester_name="ﾃｽﾄ(ｷﾖｳ", date_mmdd="0110",
                                  bank_code="0009", bank_name="", branch_code="100", branch_name="",
                                  account_type=1, account_number="1111111"))
    assert header == ("1" "21" "0" "0000012345" + "ﾃｽﾄ(ｷﾖｳ".ljust(40) + "0110" "0009" + " " * 15 + "100"
                      + " " * 15 + "1" "1111111" + " " * 17).encode("cp932")
    data = transfer_data_record(TransferData(bank_code="0001", bank_name="ﾐｽﾞﾎ", branch_code="002",
                                             branch_name="ﾏﾙﾉｳﾁ", account_type=1, account_number="0000123",
                                             payee_name="ﾐﾗｲﾎｹﾝｻ-ﾋﾞｽ(ｶ", amount=15000, new_code="0",
                                             customer_code1="1", customer_code2=""))
    expected = ("2"                                   # 1      データ区分
                "0001"                                # 2-5    被仕向銀行番号
                "ﾐｽﾞﾎ" + " " * 11                     # 6-20   被仕向銀行名
                + "002"                               # 21-23  被仕向支店番号
                "ﾏﾙﾉｳﾁ" + " " * 10                    # 24-38  被仕向支店名
                + "0000"                              # 39-42  手形交換所番号
                "1"                                   # 43     預金種目
                "0000123"                             # 44-50  口座番号
                "ﾐﾗｲﾎｹﾝｻ-ﾋﾞｽ(ｶ" + " " * 17           # 51-80  受取人名 C(30): 13 + 17
                + "0000015000"                        # 81-90  振込金額
                "0"                                   # 91     新規コード
                "0000000001"                          # 92-101 顧客コード1
                "0000000000"                          # 102-111 顧客コード2
                " "                                   # 112    振込指定区分
                " "                                   # 113    識別表示
                + " " * 7)                            # 114-120 ダミー
    assert len(expected) == 120
    assert data == expected.encode("cp932")
    edi = transfer_data_record(TransferData(bank_code="0001", bank_name="", branch_code="002", branch_name="",
                                            account_type=1, account_number="0000123", payee_name="ﾐﾗｲ",
                                            amount=1, new_code="0", edi="ｺﾐﾂｼﾖﾝ2026-10", transfer_kind="7"))
    assert edi[91:111] == "ｺﾐﾂｼﾖﾝ2026-10".ljust(20).encode("cp932") and edi[111:113] == b"7Y"
    assert transfer_trailer_record(2, 30000) == b"8" b"000002" b"000000030000" + b" " * 101


def test_debit_file_with_and_without_crlf():
    second = DebitData(**{**DATA_91.__dict__, "amount": 1000, "customer_number": "43"})
    data = debit_file(HEADER_91, [DATA_91, second], FileOptions(separator="crlf"))
    assert len(data) == 5 * 122 and data.count(b"\r\n") == 5 and data.endswith(b"\r\n")
    records = split_records(data)
    assert [r[:1] for r in records] == [b"1", b"2", b"2", b"8", b"9"]
    assert records[3] == debit_trailer_record(2, 41399)  # count and total from the data
    plain = debit_file(HEADER_91, [DATA_91, second], FileOptions(separator="none"))
    assert len(plain) == 600 and b"\r" not in plain and plain == data.replace(b"\r\n", b"")
    assert "ﾃｽﾄｷﾖｳﾄﾞｳｸﾐｱｲ" in show_records(data, 1)


def test_fields_refuse_instead_of_cutting():
    with pytest.raises(DomainError, match="引落金額"):
        debit_data_record(DebitData(**{**DATA_91.__dict__, "amount": 10_000_000_000}))
    with pytest.raises(DomainError, match="預金者名"):
        debit_data_record(DebitData(**{**DATA_91.__dict__, "holder_name": "ﾔ" * 31}))
    with pytest.raises(DomainError, match="全角"):
        debit_data_record(DebitData(**{**DATA_91.__dict__, "holder_name": "ヤマダ"}))
    with pytest.raises(DomainError, match="顧客番号"):
        debit_data_record(DebitData(**{**DATA_91.__dict__, "customer_number": "M0001"}))
    with pytest.raises(DomainError, match="0件"):
        debit_file(HEADER_91, [], FileOptions())
    with pytest.raises(DomainError, match="crlf"):
        FileOptions(separator="lf")


def test_mmdd():
    assert mmdd(dt.date(2026, 12, 7)) == "1207"


# ---- 振替結果 (result files) ----------------------------------------------------------------------------

from app.domain.zengin.reader import RESULT_CODES, ResultFileRefused, read_debit_result, result_reason  # noqa: E402


def _result_file(codes, separator=b"\r\n", trailer=None):
    data = [DebitData(**{**DATA_91.__dict__, "customer_number": str(i + 1), "amount": 1000 * (i + 1),
                         "result_code": code}) for i, code in enumerate(codes)]
    paid = [d for d in data if d.result_code == "0"]
    failed = [d for d in data if d.result_code != "0"]
    trailer = trailer or debit_trailer_record(len(data), sum(d.amount for d in data), len(paid),
                                              sum(d.amount for d in paid), len(failed), sum(d.amount for d in failed))
    records = [header_record(HEADER_91), *(debit_data_record(d) for d in data), trailer, end_record()]
    return separator.join(records) + separator


def test_every_result_code_is_read_with_its_reason():
    codes = ["0", "1", "2", "3", "4", "8", "9"]
    result = read_debit_result(_result_file(codes))
    assert [r.result_code for r in result.records] == codes
    assert [result_reason(r.result_code) for r in result.records] == [
        "振替済", "資金不足", "取引なし", "預金者の都合による振替停止", "依頼書なし", "委託者の都合による振替停止", "その他"]
    assert (result.paid_count, result.paid_amount, result.failed_count) == (1, 1000, 6)
    assert result.records[0].customer_number == "0" * 19 + "1" and result.records[0].amount == 1000
    assert result.header.requester_code == "1234567890" and result.header.date_mmdd == "1207"
    assert set(RESULT_CODES) == set("0123489")


def test_unknown_codes_are_kept_flagged_and_not_paid():
    result = read_debit_result(_result_file(["0", "E"], separator=b""))
    assert result.records[1].result_code == "E" and not result.records[1].paid and not result.records[1].known_code
    assert "不明な結果コード「E」" in result.warnings[0]


def test_broken_result_files_are_refused_line_by_line():
    good = _result_file(["0", "1"])
    with pytest.raises(ResultFileRefused) as refused:
        read_debit_result(good.replace(b"\r\n", b"\r"))
    assert "CR だけ" in refused.value.errors[0]
    lines = good.split(b"\r\n")
    lines[1] = lines[1][:119]
    with pytest.raises(ResultFileRefused) as refused:
        read_debit_result(b"\r\n".join(lines))
    assert refused.value.errors == ["2件目: レコード長が119バイトです（120バイトのはず）。"]
    wrong = _result_file(["0", "1"], trailer=debit_trailer_record(2, 3000, 2, 3000, 0, 0))
    with pytest.raises(ResultFileRefused) as refused:
        read_debit_result(wrong)
    assert any("振替済件数が 2" in e for e in refused.value.errors)
    request = debit_file(HEADER_91, [DATA_91], FileOptions())
    with pytest.raises(ResultFileRefused) as refused:
        read_debit_result(request)
    assert "依頼データ" in refused.value.errors[0]
    assert "LF" in read_debit_result(good.replace(b"\r\n", b"\n")).warnings[0]
    lines = good.split(b"\r\n")
    lines[1] = lines[1][:50] + "ヤマ".encode("cp932") + lines[1][54:]  # full-width in 預金者名, still 120 bytes
    with pytest.raises(ResultFileRefused) as refused:
        read_debit_result(b"\r\n".join(lines))
    assert refused.value.errors == ["2件目: 全角文字（2バイト文字）があります（全銀のレコードは半角だけです）。"]

"""振替結果 and 振込入金 (issue 11 item 4): results matched to invoices, payments recorded, failures with the
reason in Japanese, unknown codes flagged, double imports refused naming the earlier one, broken files record
nothing; transfers by hand or CSV with suggested matches."""
import pytest
from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.domain.zengin.files import split_records
from app.domain.zengin.reader import ResultFileRefused
from app.models.payment import DebitBatch, DebitResultImport, Payment, TransferReceipt
from app.services.actor import acting_as
from app.services.debit_files import generate_debit_file
from app.services.debit_results import import_debit_result
from app.services.transfers import TransferImportRefused, add_transfer, import_transfer_csv, match_transfer, open_receipts, suggestions_for
from tests.integration.test_billing import ACTOR, invoice_of
from tests.integration.test_payments_debit import closed_october  # noqa: F401  (fixture)


def result_file(request: bytes, codes: dict[int, str], amounts: dict[int, int] | None = None,
                customer: dict[int, bytes] | None = None, separator=b"\r\n") -> bytes:
    """The bank's answer to `request`: result codes set on data records (1-based among the data), the
    trailer's result fields filled in."""
    records = split_records(request)
    data = records[1:-2]
    out = []
    for i, record in enumerate(data, start=1):
        r = bytearray(record)
        r[111:112] = codes.get(i, "0").encode()
        if amounts and i in amounts:
            r[80:90] = f"{amounts[i]:010d}".encode()
        if customer and i in customer:
            r[91:111] = customer[i]
        out.append(bytes(r))
    paid = [r for r in out if r[111:112] == b"0"]
    failed = [r for r in out if r[111:112] != b"0"]
    total = sum(int(r[80:90]) for r in out)
    trailer = (f"8{len(out):06d}{total:012d}{len(paid):06d}{sum(int(r[80:90]) for r in paid):012d}"
               f"{len(failed):06d}{sum(int(r[80:90]) for r in failed):012d}").encode() + b" " * 65
    return separator.join([records[0], *out, trailer, records[-1]]) + separator


@pytest.fixture()
def sent_batch(db, closed_october, tmp_path):  # noqa: F811
    with acting_as(ACTOR):
        batch = generate_debit_file("2026-10").batch
    return batch


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_result_records_payments_and_failures(db, closed_october, sent_batch, tmp_path):  # noqa: F811
    m1, m3 = closed_october["m1"], closed_october["m3"]
    path = _write(tmp_path, "kekka.txt", result_file(bytes(sent_batch.content), {2: "1"}))
    with acting_as(ACTOR):
        summary = import_debit_result(path)
    assert "振替済 1件" in str(summary) and "振替不能 1件" in str(summary)
    [failed] = summary.failed
    assert (failed.member_code, failed.code, failed.reason) == ("M003", "1", "資金不足")
    payments = db.session.scalars(select(Payment)).all()
    one = invoice_of(db, m1, "2026-10")
    assert [(p.invoice_id, p.amount, p.method, p.received_on) for p in payments] == [
        (one.id, one.total, "debit", one.debit_date)]
    db.session.expire_all()
    batch = db.session.get(DebitBatch, sent_batch.id)
    assert batch.status == "result_imported"
    assert [i.result_code for i in batch.items] == ["0", "1"]
    assert invoice_of(db, m3, "2026-10").id not in {p.invoice_id for p in payments}

    # The same file again: refused, naming the earlier import.
    with pytest.raises(DomainError, match=r"同じファイルは 取込 #\d+.*kekka.txt.*取込済み"), acting_as(ACTOR):
        import_debit_result(path)
    db.session.rollback()
    # Another file for the same batch: refused too.
    other = _write(tmp_path, "kekka2.txt", result_file(bytes(sent_batch.content), {}, separator=b""))
    with pytest.raises(DomainError, match="振替結果は 取込 #"), acting_as(ACTOR):
        import_debit_result(other)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


@pytest.mark.parametrize("code, reason", [("0", None), ("1", "資金不足"), ("2", "取引なし"),
                                          ("3", "預金者の都合による振替停止"), ("4", "依頼書なし"),
                                          ("8", "委託者の都合による振替停止"), ("9", "その他"),
                                          ("E", "不明な結果コード「E」")])
def test_every_result_code(db, closed_october, sent_batch, tmp_path, code, reason):  # noqa: F811
    path = _write(tmp_path, f"r{code}.txt", result_file(bytes(sent_batch.content), {1: code}))
    with acting_as(ACTOR):
        summary = import_debit_result(path)
    if reason is None:
        assert not summary.failed and summary.row.paid_count == 2
    else:
        assert summary.failed[0].member_code == "M001" and reason in summary.failed[0].reason
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 1  # M003 only
    assert summary.row.unknown_count == (1 if code == "E" else 0)


def test_broken_or_foreign_files_record_nothing(db, closed_october, sent_batch, tmp_path):  # noqa: F811
    good = result_file(bytes(sent_batch.content), {})
    cases = {
        "short.txt": good.replace(b"\r\n", b"\r"),
        "trailer.txt": good.replace(b"8000002", b"8000003", 1),
        "unknown.txt": result_file(bytes(sent_batch.content), {}, customer={1: b"9" * 20}),
        "amount.txt": result_file(bytes(sent_batch.content), {}, amounts={1: 1}),
        "other.txt": good.replace(b"1234567890", b"9999999999", 1),
    }
    messages = {}
    for name, data in cases.items():
        with pytest.raises(ResultFileRefused) as refused, acting_as(ACTOR):
            import_debit_result(_write(tmp_path, name, data))
        db.session.rollback()
        messages[name] = " ".join(refused.value.errors)
        assert "何も記録していません" in refused.value.message
    assert "CR だけ" in messages["short.txt"]
    assert "合計件数" in messages["trailer.txt"]
    assert "顧客番号「99999999999999999999」" in messages["unknown.txt"]
    assert "金額が 1円" in messages["amount.txt"] and "M001" in messages["amount.txt"]
    assert "委託者コード 9999999999" in messages["other.txt"]
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    assert db.session.scalar(select(func.count()).select_from(DebitResultImport)) == 0
    assert db.session.get(DebitBatch, sent_batch.id).status == "generated"


def test_cli_and_upload_screen(db, app, closed_october, sent_batch, tmp_path, staff_client):  # noqa: F811
    path = _write(tmp_path, "kekka.txt", result_file(bytes(sent_batch.content), {2: "3"}))
    result = app.test_cli_runner().invoke(args=["etc", "debit-result", str(path)])
    assert result.exit_code == 0, result.output
    assert "振替不能: M003 佐藤商事" in result.output and "預金者の都合による振替停止" in result.output
    again = app.test_cli_runner().invoke(args=["etc", "debit-result", str(path)])
    assert again.exit_code == 1 and "取込済み" in again.output
    from io import BytesIO

    page = staff_client.post("/payments/debit-results/upload", data={"file": (BytesIO(path.read_bytes()), "k.txt")},
                             content_type="multipart/form-data")
    assert page.status_code == 400 and "取込済み" in page.get_data(as_text=True)
    listing = staff_client.get("/payments/debit-results/").get_data(as_text=True)
    assert "kekka.txt" in listing


def test_transfers_by_hand_and_csv_with_suggestions(db, closed_october, tmp_path, staff_client):  # noqa: F811
    m2 = closed_october["m2"]
    two = invoice_of(db, m2, "2026-10")
    with acting_as(ACTOR):
        m2.kana = "タカハシブツリュウ"
        db.session.commit()
        receipt = add_transfer("2026/12/25", "ﾀｶﾊｼﾌﾞﾂﾘﾕｳ(ﾕ", two.total)
    [(suggestion, invoice, member, owed)] = [s for s in suggestions_for([receipt])[receipt.id] if s[0].score == 3]
    assert invoice.id == two.id and owed == two.total and suggestion.reason == "名義・金額が一致"
    with acting_as(ACTOR):
        payment = match_transfer(receipt.id, two.id)
    assert (payment.amount, payment.method, str(payment.received_on)) == (two.total, "transfer", "2026-12-25")
    assert open_receipts() == []
    with pytest.raises(DomainError, match="消込済み"), acting_as(ACTOR):
        match_transfer(receipt.id, two.id)
    db.session.rollback()

    csv = tmp_path / "nyukin.csv"
    csv.write_text("日付,振込依頼人名,金額\n2026/12/26,ｻﾄｳｼﾖｳｼﾞ,1000\n2026/12/27,ﾔﾏﾀﾞ,2,000\n", encoding="cp932")
    with acting_as(ACTOR):
        with pytest.raises(TransferImportRefused) as refused:
            import_transfer_csv(csv)
    assert refused.value.errors[0].startswith("3行目: 列が4つ以上")
    db.session.rollback()
    csv.write_text("日付,振込依頼人名,金額\n2026/12/26,ｻﾄｳｼﾖｳｼﾞ,1000\n2026/12/27,ﾔﾏﾀﾞ,\"2,000\"\n", encoding="cp932")
    with acting_as(ACTOR):
        assert "2件（3,000円）" in import_transfer_csv(csv)
    with pytest.raises(DomainError, match="取込済み"), acting_as(ACTOR):
        import_transfer_csv(csv)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(TransferReceipt)) == 3
    page = staff_client.get("/payments/transfers/").get_data(as_text=True)
    assert "ｻﾄｳｼﾖｳｼﾞ" in page and "名義が一致" in page  # M003 佐藤商事 suggested (its amount differs)

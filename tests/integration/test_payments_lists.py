"""自動振替一覧表 and 振込一覧表 (issue 11 item 3): on screen and as Excel, from a closed month."""
import datetime as dt

from openpyxl import load_workbook
from sqlalchemy import update

from app.models.billing import Invoice
from app.services.payment_lists import debit_list_sections, transfer_list_rows
from tests.integration.test_billing import invoice_of
from tests.integration.test_payments_debit import closed_october  # noqa: F401  (fixture)


def test_debit_list_per_profile_with_masked_accounts(db, closed_october):  # noqa: F811
    m1, m3 = closed_october["m1"], closed_october["m3"]
    db.session.execute(update(Invoice).where(Invoice.id == invoice_of(db, m3, "2026-10").id).values(total=-300))
    db.session.commit()
    [(profile, rows)] = debit_list_sections("2026-10")
    one = invoice_of(db, m1, "2026-10")
    assert profile.code == "default"
    assert rows[0] == ["M001", "株式会社山田運輸", one.number, "みずほ", "東京営業部", "普通", "****567",
                       "カブシキガイシャ\u3000ヤマダウンユ", dt.date(2026, 12, 7), one.total, ""]
    assert rows[1][0] == "M003" and rows[1][6] == "****042" and rows[1][-1].startswith("対象外（貸方")
    assert rows[-1][:2] == ["合計", "振替 1件"] and rows[-1][9] == one.total


def test_transfer_list(db, closed_october):  # noqa: F811
    m2 = closed_october["m2"]
    two = invoice_of(db, m2, "2026-10")
    rows = transfer_list_rows("2026-10")
    assert rows[0] == ["M002", "髙橋物流有限会社", two.number, two.total, two.debit_date, ""]
    assert rows[-1] == ["合計", "振込 1件", "", two.total, None, ""]


def test_cli_exports(db, app, closed_october, tmp_path):  # noqa: F811
    runner = app.test_cli_runner()
    out = tmp_path / "debit-list.xlsx"
    result = runner.invoke(args=["etc", "export", "debit-list", "2026-10", "-o", str(out)])
    assert result.exit_code == 0 and "2件" in result.output
    sheet = load_workbook(out).active
    assert sheet.title == "自動振替一覧表 default"
    assert [c.value for c in sheet[1]][:3] == ["組合員コード", "組合員名", "請求書番号"]
    assert sheet["A2"].value == "M001" and sheet["G2"].value == "****567"
    assert sheet["J2"].number_format == "#,##0"
    out2 = tmp_path / "transfer.xlsx"
    result = runner.invoke(args=["etc", "export", "transfer-list", "2026-10", "-o", str(out2)])
    assert result.exit_code == 0 and "1件" in result.output
    assert load_workbook(out2).active["A2"].value == "M002"
    refused = runner.invoke(args=["etc", "export", "transfer-list", "2026-11", "-o", str(tmp_path / "x.xlsx")])
    assert refused.exit_code == 1 and "締められていません" in refused.output


def test_screens(db, closed_october, manager_client):  # noqa: F811
    page = manager_client.get("/payments/lists/debit/?month=2026-10").get_data(as_text=True)
    assert "自動振替一覧表" in page and "****567" in page and "M003" in page
    page = manager_client.get("/payments/lists/transfer/").get_data(as_text=True)
    assert "振込一覧表" in page and "M002" in page
    download = manager_client.get("/payments/lists/debit/download/?month=2026-10")
    assert download.status_code == 200 and download.data[:2] == b"PK"

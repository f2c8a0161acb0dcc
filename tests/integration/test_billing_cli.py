"""`flask etc bill`, `close`, `export invoice-list`, `import-operator-discounts`, `tariff export/import`:
what they print and their exit codes."""
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.models.billing import BillingRun, Invoice
from app.models.usage import FLAG_UNREGISTERED_CARD, UsageRecord

from .test_billing import C1, C2, TARIFF, add_usage, load_tariff, make_card, make_member


@pytest.fixture()
def runner(app):
    return app.test_cli_runner()


@pytest.fixture()
def month(db, tmp_path):
    load_tariff(tmp_path)
    m1 = make_member(db, "M001", "株式会社山田運輸")
    m2 = make_member(db, "M002", "髙橋物流有限会社", payment="bank_transfer", account=False)
    add_usage(db, "2026-10", [(make_card(db, m1, C1), "NEXCO東日本", 40000), (make_card(db, m2, C2), "NEXCO", 8000)])
    return m1, m2


def test_bill_prints_the_summary_and_warnings(runner, month, db):
    result = runner.invoke(args=["etc", "bill", "2026-10"])
    assert result.exit_code == 0, result.output
    assert "2026-10 の請求下書きを作成しました: 請求書 2件, 利用額 48,000円" in result.output
    assert "確認事項はありません" in result.output
    again = runner.invoke(args=["etc", "bill", "2026-10"])
    assert "下書きを再計算しました" in again.output
    bad = runner.invoke(args=["etc", "bill", "2026-13"])
    assert bad.exit_code == 1 and "YYYY-MM" in bad.output


def test_close_refuses_with_reasons_then_closes(runner, month, db):
    refused = runner.invoke(args=["etc", "close", "2026-10"])
    assert refused.exit_code == 1 and "下書きがありません" in refused.output
    add_usage(db, "2026-10", [("9999990000000001", "NEXCO", 1000, None, FLAG_UNREGISTERED_CARD)])
    billed = runner.invoke(args=["etc", "bill", "2026-10"])
    assert "【締め不可】未登録カードの走行明細があります" in billed.output
    refused = runner.invoke(args=["etc", "close", "2026-10"])
    assert refused.exit_code == 1
    assert "2026-10 は締められません" in refused.output and "未登録カード" in refused.output
    assert db.session.scalar(select(BillingRun.status)) == "draft"

    db.session.execute(UsageRecord.__table__.delete().where(UsageRecord.card_id.is_(None)))
    db.session.commit()
    assert runner.invoke(args=["etc", "bill", "2026-10"]).exit_code == 0
    closed = runner.invoke(args=["etc", "close", "2026-10"])
    assert closed.exit_code == 0, closed.output
    assert "2026-10 を締めました: 請求書 2件" in closed.output
    db.session.expire_all()
    assert sorted(db.session.scalars(select(Invoice.number))) == ["00000001", "00000002"]
    again = runner.invoke(args=["etc", "bill", "2026-10"])
    assert again.exit_code == 1 and "締め済み" in again.output


def test_export_invoice_list(runner, month, db, tmp_path):
    runner.invoke(args=["etc", "bill", "2026-10"])
    out = tmp_path / "list.xlsx"
    result = runner.invoke(args=["etc", "export", "invoice-list", "2026-10", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"2026-10 の請求一覧 2件を書き出しました: {out}" in result.output
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert rows[0][0] == "組合員コード" and rows[1][0] == "M001" and rows[-1][0] == "合計"
    bad = runner.invoke(args=["etc", "export", "invoice-list", "10-2026", "-o", str(out)])
    assert bad.exit_code == 1


def test_import_operator_discounts(runner, month, tmp_path):
    good = tmp_path / "nexco.csv"
    good.write_bytes(f"利用月,道路事業者,カード番号,割引額\r\n2026-10,NEXCO,{C1},7500\r\n".encode("cp932"))
    result = runner.invoke(args=["etc", "import-operator-discounts", str(good)])
    assert result.exit_code == 0, result.output
    assert "道路事業者の割引額 1件（2026-10, 合計 7,500円）" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("月,割引\n", encoding="utf-8")
    result = runner.invoke(args=["etc", "import-operator-discounts", str(bad)])
    assert result.exit_code == 1 and "見出し" in result.output


def test_tariff_export_and_import(runner, db, tmp_path):
    source = tmp_path / "in.yaml"
    source.write_text(TARIFF, encoding="utf-8")
    result = runner.invoke(args=["etc", "tariff", "import", str(source)])
    assert result.exit_code == 0, result.output
    assert "規則 7件, 版 8件" in result.output
    out = tmp_path / "out.yaml"
    result = runner.invoke(args=["etc", "tariff", "export", str(out)])
    assert result.exit_code == 0 and "版 8件" in result.output
    assert "member_monthly" in out.read_text(encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(TARIFF.replace("type: card_monthly_fee", "type: card_fee"), encoding="utf-8")
    result = runner.invoke(args=["etc", "tariff", "import", str(broken)])
    assert result.exit_code == 1
    assert "card_monthly" in result.output and "取り込みませんでした" in result.output

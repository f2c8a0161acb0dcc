"""代理店手数料 (issue 11 item 6): rules across an effective-date switch on a closed month's invoices, 源泉徴収 for
individuals, the list as Excel, and the 総合振込 (種別21) file byte for byte."""
import datetime as dt
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from app.domain.errors import DomainError
from app.domain.zengin.files import split_records
from app.models import Agency, AgencyCommissionRule
from app.models.billing import BillingRun
from app.services.actor import acting_as
from app.services.agency_commissions import agency_commissions, agency_transfer_file, commission_list_rows
from tests.integration.test_billing import ACTOR, invoice_of
from tests.integration.test_payments_debit import close_october


def _agencies_and_rules(db, members):
    m1, m3 = members["m1"], members["m3"]
    with acting_as(ACTOR):
        company = Agency(code="A001", name="株式会社みらい", kana="ミライ", bank_code="0001", branch_code="001",
                         account_type=1, account_number="1111111", account_holder_kana="カブシキガイシャ　ミライ")
        person = Agency(code="A002", name="山田太郎", kana="ヤマダタロウ", is_individual=True, bank_code="0005",
                        branch_code="001", account_type=1, account_number="2222222", account_holder_kana="ヤマダ　タロウ")
        db.session.add_all([company, person])
        db.session.flush()
        m1.agency_id, m3.agency_id = company.id, person.id
        db.session.add_all([
            AgencyCommissionRule(agency=company, basis="usage_rate", rate=Decimal("0.02"), valid_from=dt.date(2026, 4, 1),
                                 valid_to=dt.date(2026, 9, 30)),
            AgencyCommissionRule(agency=company, basis="usage_rate", rate=Decimal("0.015"), valid_from=dt.date(2026, 10, 1)),
            AgencyCommissionRule(agency=company, basis="per_card", amount=100, valid_from=dt.date(2026, 10, 1)),
            AgencyCommissionRule(agency=person, basis="fee_rate", rate=Decimal("0.5"), valid_from=dt.date(2026, 1, 1)),
        ])
        db.session.commit()
    return dict(company=company, person=person)


@pytest.fixture()
def agencies(db, tmp_path):
    """October closed with two agencies and their rules in place at the close (commissions are computed then)."""
    return close_october(db, tmp_path, lambda members: _agencies_and_rules(db, members))


def test_commissions_follow_the_rules_valid_in_the_month(db, agencies):
    one, three = invoice_of(db, agencies["m1"], "2026-10"), invoice_of(db, agencies["m3"], "2026-10")
    by_code = {c.agency.code: c for c in agency_commissions("2026-10")}
    company, person = by_code["A001"], by_code["A002"]
    # October: the 1.5% version (not the 2% one that ended in September) and 100円 × 1 card.
    assert [(l.basis, l.commission) for l in company.lines] == [
        ("usage_rate", int(one.usage_total * Decimal("0.015"))), ("per_card", 100)]
    assert company.withheld == 0 and company.paid == company.commission
    assert person.commission == three.fee_total // 2
    assert person.withheld == int(person.commission * Decimal("0.1021")) and person.paid == person.commission - person.withheld
    rows = commission_list_rows("2026-10")
    assert rows[-1][:2] == ["合計", "2件"] and rows[-1][8] == company.paid + person.paid


def test_commissions_are_those_computed_at_the_close(db, agencies):
    """Computed at the close and kept: a member moving to another agency, a rule edited or an agency flagged
    individual afterwards changes neither the closed month's list nor its transfer file."""
    before = [(c.agency.code, c.data, c.commission, c.withheld, c.paid) for c in agency_commissions("2026-10")]
    rows, (data, count, total) = commission_list_rows("2026-10"), agency_transfer_file("2026-10", dt.date(2026, 12, 25))
    with acting_as(ACTOR):
        agencies["m1"].agency_id = agencies["person"].id
        db.session.scalar(select(AgencyCommissionRule).where(AgencyCommissionRule.basis == "per_card")).amount = 999
        agencies["company"].is_individual = True
        db.session.commit()
    assert [(c.agency.code, c.data, c.commission, c.withheld, c.paid) for c in agency_commissions("2026-10")] == before
    assert commission_list_rows("2026-10") == rows
    assert agency_transfer_file("2026-10", dt.date(2026, 12, 25)) == (data, count, total)
    # A month closed before commissions were kept (no snapshot) is still computed from today's data.
    db.session.execute(update(BillingRun).where(BillingRun.month == "2026-10").values(agency_commissions_at=None))
    db.session.commit()
    assert [c.agency.code for c in agency_commissions("2026-10")] == ["A001", "A002"]
    assert {c.agency.code: c.data.cards for c in agency_commissions("2026-10")} == {"A001": 0, "A002": 2}


def test_transfer_file_byte_for_byte(db, agencies):
    by_code = {c.agency.code: c for c in agency_commissions("2026-10")}
    data, count, total = agency_transfer_file("2026-10", dt.date(2026, 12, 25))
    records = split_records(data)
    assert count == 2 and total == by_code["A001"].paid + by_code["A002"].paid
    assert records[0] == ("1" "21" "0" "1234567890" + "ﾃｽﾄｷﾖｳﾄﾞｳｸﾐｱｲ".ljust(40) + "1225" "0001" + "ﾐｽﾞﾎ".ljust(15)
                          + "001" + "ﾄｳｷﾖｳ".ljust(15) + "1" "7654321" + " " * 17).encode("cp932")
    company = agencies["company"]
    assert records[1] == ("2" "0001" + "ﾐｽﾞﾎ".ljust(15) + "001" + "ﾄｳｷﾖｳ".ljust(15) + "0000" "1" "1111111"
                          + "ｶ)ﾐﾗｲ".ljust(30) + f"{by_code['A001'].paid:010d}" + "0" + f"{company.id:010d}" + "0" * 10
                          + " " " " + " " * 7).encode("cp932")
    assert records[3] == f"8{2:06d}{total:012d}".encode() + b" " * 101 and records[4] == b"9" + b" " * 119


def test_transfer_refused_naming_the_agency(db, agencies):
    with acting_as(ACTOR):
        agencies["person"].account_holder_kana = "山田太郎"
        db.session.commit()
    with pytest.raises(DomainError, match="A002 山田太郎 の口座名義カナ"):
        agency_transfer_file("2026-10", dt.date(2026, 12, 25))


def test_cli_exports(db, app, agencies, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["etc", "export", "agency-commissions", "2026-10", "-o", str(tmp_path / "c.xlsx")])
    assert result.exit_code == 0 and "2件" in result.output
    sheet = load_workbook(tmp_path / "c.xlsx").active
    assert sheet["A2"].value == "A001" and sheet["C3"].value == "個人"
    result = runner.invoke(args=["etc", "export", "agency-transfer", "2026-10", "--date", "2026/12/25", "-o",
                                 str(tmp_path / "t.txt")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "t.txt").read_bytes()[:3] == b"121"


def test_screens(db, agencies, staff_client):
    page = staff_client.get("/payments/agency-commissions/?month=2026-10").get_data(as_text=True)
    assert "代理店手数料一覧" in page and "A002" in page and "源泉徴収税額" in page
    download = staff_client.get("/payments/agency-commissions/transfer/?month=2026-10&date=2026/12/25")
    assert download.status_code == 200 and download.data[:3] == b"121"
    refused = staff_client.get("/payments/agency-commissions/transfer/?month=2026-10&date=x")
    assert refused.status_code == 302
    rules = staff_client.get("/agency-commission-rules/list/").get_data(as_text=True)
    assert "利用額（通行料金）の率" in rules

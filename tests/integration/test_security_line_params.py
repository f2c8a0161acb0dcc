"""issue 8 item 15 (last part): a closed invoice's lines keep the rule parameters they were computed
with. A rule's parameters may be corrected after its month closed (a wrong rate fixed before a
corrected invoice); the closed invoice still records, and shows, what it used."""
import datetime as dt

import yaml
from sqlalchemy import select

from app.models.billing import InvoiceLine
from app.models.tariff import TariffRule
from app.services.actor import acting_as
from app.services.tariff import export_tariff, import_tariff
from tests.integration.test_billing_screens import billing, closed, table  # noqa: F401  (fixtures)


def _fee_line(db, invoice_id):
    db.session.rollback()
    return db.session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id,
                                                        InvoiceLine.rule_id == "credit_usage_fee")).one()


def _correct_the_fee_rate(tmp_path, rate):
    """Edit credit_usage_fee's rate through the tariff service (export, change, import)."""
    path = tmp_path / "tariff.yaml"
    export_tariff(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for rule in data["rules"]:
        if rule["id"] == "credit_usage_fee":
            rule["rate"] = rate
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with acting_as("test-setup"):
        import_tariff(path)


def test_a_closed_lines_rule_parameters_survive_a_rule_correction(client, db, closed, tmp_path):
    line = _fee_line(db, closed)
    [kept] = line.rule_params
    assert (kept["id"], kept["label"], kept["type"], kept["rounding"]) == (
        "credit_usage_fee", "事務手数料（クレジットカード）", "usage_fee", "floor")
    assert kept["params"]["rate"] == "0.02"
    dt.date.fromisoformat(kept["valid_from"])

    _correct_the_fee_rate(tmp_path, "0.03")
    db.session.rollback()
    rule = db.session.scalars(select(TariffRule).where(TariffRule.rule_id == "credit_usage_fee")).one()
    assert rule.params["rate"] == "0.03"  # the rule itself changed …
    line = _fee_line(db, closed)
    assert line.rule_params[0]["params"]["rate"] == "0.02"  # … the closed line kept what it used

    lines = table(client.get(f"/invoices/show/{closed}").get_data(as_text=True), "invoice-lines")
    assert "計算に使った料金表" in lines
    assert "事務手数料（クレジットカード）（" in lines
    assert "率 0.02・端数切り捨て" in lines
    assert "率 0.03" not in lines
    assert "credit_usage_fee" not in lines and "rate" not in lines  # no code names on a clerk's screen


def test_only_lines_computed_by_a_tariff_rule_keep_parameters(db, closed):
    db.session.rollback()
    kept = {line.rule_id: line.rule_params for line in
            db.session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == closed))}
    assert kept["usage"] is None  # the tolls as the operator charged them: no tariff rule
    assert kept["member_monthly"][0]["params"] == {"amount": 660}
    assert kept["fee_issue"][0]["params"] == {"event": "issue", "amount": 629}


def test_rule_versions_are_kept_once_per_content_and_a_correction_keeps_its_own(client, db, closed, tmp_path):
    """The kept rule versions are one row per content (issue 7, speed): the invoice points at it, its lines
    read their own through their rule id; a corrected invoice computed after a rule correction points at
    a new row, and the cancelled original still reads the old one."""
    from sqlalchemy import func

    from app.models.billing import Invoice, KeptRuleVersions
    from app.services.billing.corrections import reissue_invoice

    db.session.rollback()
    original = db.session.get(Invoice, closed)
    assert original.kept_rule_versions_id is not None
    assert db.session.scalar(select(func.count()).select_from(KeptRuleVersions)) == 1
    assert {v["id"] for v in original.kept_rule_versions.versions} >= {"credit_usage_fee", "member_monthly"}

    _correct_the_fee_rate(tmp_path, "0.03")
    with acting_as("test-setup"):
        corrected = reissue_invoice(closed, "事務手数料の率の訂正", "test-setup")
    db.session.rollback()
    corrected = db.session.get(Invoice, corrected.id)
    assert corrected.kept_rule_versions_id not in (None, original.kept_rule_versions_id)
    assert db.session.scalar(select(func.count()).select_from(KeptRuleVersions)) == 2
    assert _fee_line(db, corrected.id).rule_params[0]["params"]["rate"] == "0.03"
    assert _fee_line(db, closed).rule_params[0]["params"]["rate"] == "0.02"  # the original never changes

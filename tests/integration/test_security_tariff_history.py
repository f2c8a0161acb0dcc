"""issue 8 item 15: the tariff rule versions a closed month was billed with stay: the screen refuses
to delete them (saying why), a YAML import may not drop or change them, an unused rule still goes."""
import io

import pytest
from sqlalchemy import func, select

from app.models.tariff import TariffRule
from tests.integration.test_billing_screens import billing, closed  # noqa: F401  (fixtures)
from tests.integration.test_security_deletes import flashes


def _fee_rule(db):
    db.session.rollback()
    return db.session.scalars(select(TariffRule).where(TariffRule.type == "usage_fee")).first()


def test_a_rule_used_by_a_closed_month_cannot_be_deleted(client, db, closed):
    rule = _fee_rule(db)
    page = client.post(f"/tariff/delete/{rule.id}", follow_redirects=True).get_data(as_text=True)
    assert any(f"この規則（{rule.rule_id}、{rule.valid_from}〜）は締め済みの月（2026-10）の請求に使われているため削除できません。"
               in text for text in flashes(page)), flashes(page)
    assert _fee_rule(db) is not None


def test_an_import_may_not_drop_or_change_a_closed_months_rule(client, db, closed):
    exported = client.get("/tariff/yaml/").get_data(as_text=True)
    count = db.session.scalar(select(func.count()).select_from(TariffRule))
    changed = exported.replace("rate: '0.02'", "rate: '0.03'").replace('rate: "0.02"', 'rate: "0.03"')
    assert changed != exported
    page = client.post("/tariff/upload/", data={"file": (io.BytesIO(changed.encode()), "t.yaml")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "締め済みの月（2026-10）の請求に使われているため、消したり変えたりできません" in page
    assert _fee_rule(db).params["rate"] in ("0.02", 0.02)
    # The unchanged file imports (nothing a closed month used is touched).
    page = client.post("/tariff/upload/", data={"file": (io.BytesIO(exported.encode()), "t.yaml")},
                       content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "料金表を取り込みました" in page
    assert db.session.scalar(select(func.count()).select_from(TariffRule)) == count


def test_a_rule_no_closed_month_used_can_be_deleted(staff_client, db, billing):
    rule = _fee_rule(db)
    staff_client.post(f"/tariff/delete/{rule.id}", follow_redirects=True)
    db.session.rollback()
    assert db.session.get(TariffRule, rule.id) is None

"""issue 8 item 15: the tariff rule versions a closed month was billed with stay: the screen refuses
to delete them (saying why), a YAML import may not drop them, an unused rule still goes."""
import io

import pytest
import yaml
from sqlalchemy import func, select

from app.models.tariff import TariffRule
from tests.conftest import MANAGER_PASSWORD
from tests.integration.test_billing_screens import billing, closed, relogin  # noqa: F401  (fixtures)
from tests.integration.test_security_deletes import flashes


def _fee_rule(db):
    db.session.rollback()
    return db.session.scalars(select(TariffRule).where(TariffRule.type == "usage_fee")).first()


def test_a_rule_used_by_a_closed_month_cannot_be_deleted(client, db, closed):
    relogin(client, "manager", MANAGER_PASSWORD)  # the tariff is changed by 責任者 and 管理者
    rule = _fee_rule(db)
    page = client.post(f"/tariff/delete/{rule.id}", follow_redirects=True).get_data(as_text=True)
    assert any(f"この規則（{rule.label}、{rule.valid_from:%Y/%m/%d}〜）は締め済みの月（2026年10月）の請求に使われているため"
               "削除できません。" in text for text in flashes(page)), flashes(page)
    assert _fee_rule(db) is not None


def test_an_import_may_not_drop_a_closed_months_rule(client, db, closed):
    relogin(client, "manager", MANAGER_PASSWORD)
    exported = client.get("/tariff/yaml/").get_data(as_text=True)
    count = db.session.scalar(select(func.count()).select_from(TariffRule))
    data = yaml.safe_load(exported)
    data["rules"] = [rule for rule in data["rules"] if rule["type"] != "usage_fee"]
    dropped = yaml.safe_dump(data, allow_unicode=True)
    page = client.post("/tariff/upload/", data={"file": (io.BytesIO(dropped.encode()), "t.yaml")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "締め済みの月（2026-10）の請求に使われているため、消せません" in page
    assert _fee_rule(db) is not None
    # The unchanged file imports (nothing a closed month used is dropped).
    page = client.post("/tariff/upload/", data={"file": (io.BytesIO(exported.encode()), "t.yaml")},
                       content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "料金表を取り込みました" in page
    assert db.session.scalar(select(func.count()).select_from(TariffRule)) == count


def test_a_rule_no_closed_month_used_can_be_deleted(manager_client, db, billing):
    rule = _fee_rule(db)
    manager_client.post(f"/tariff/delete/{rule.id}", follow_redirects=True)
    db.session.rollback()
    assert db.session.get(TariffRule, rule.id) is None

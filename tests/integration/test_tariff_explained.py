"""Issue 9 item 17: fees charged together are explained on the rule (its page) and on the invoice line."""
import datetime as dt
import re

from sqlalchemy import select

from app.models.billing import InvoiceLine
from app.models.tariff import TariffRule
from app.services.actor import acting_as
from app.services.billing.draft import run_billing
from app.services.tariff import ensure_default_tariff

from .test_billing import ACTOR, make_card, make_member
from .test_cards import LOSS, REISSUE, record


def test_rule_page_and_invoice_line_explain_a_loss_and_its_reissue(staff_client, db):
    with acting_as(ACTOR):
        ensure_default_tariff()
    rule = db.session.scalar(select(TariffRule).where(TariffRule.rule_id == "fee_reissue"))
    page = staff_client.get(f"/tariff/show/{rule.id}").get_data(as_text=True)
    assert "説明" in page and "同じカードに届出が続くとき（紛失・盗難のあとの再発行など）は、届出ごとにそれぞれの手数料を請求します" in page

    member = make_member(db, "M001", "株式会社山田運輸")
    card = make_card(db, member, "9011000000000011")
    record(db, card, LOSS, occurred_on=dt.date(2026, 10, 5))
    record(db, card, REISSUE, occurred_on=dt.date(2026, 10, 6), new_card_number="9011000000000029")
    with acting_as(ACTOR):
        run_billing("2026-10")
    lines = {l.rule_id: l for l in db.session.scalars(select(InvoiceLine).where(InvoiceLine.rule_id.like("fee_%")))}
    assert lines["fee_loss"].amount == 660 and lines["fee_reissue"].amount == 629
    # (the card's own 新規発行 is billed in the same month here: it is named too)
    assert re.search(r"同じカードの「[^）]*」と合わせて請求", lines["fee_loss"].breakdown)
    assert "「再発行」" in lines["fee_loss"].breakdown and "「紛失・盗難」" in lines["fee_reissue"].breakdown
    invoice = staff_client.get(f"/invoices/show/{lines['fee_loss'].invoice_id}").get_data(as_text=True)
    assert re.search(r"届出ごとに手数料がかかります", invoice)

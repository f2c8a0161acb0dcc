"""The member portal's pages (issue 12 item 2): the last six closed months with their four documents as
PDF and Excel (the stored bytes), older months named with 「事務局にお問い合わせください」, the latest
invoice's total, debit date and payment status, a corrected invoice replacing the cancelled one with a
note, masked card numbers, and the phone layout (no back-office menu)."""
from sqlalchemy import select

from app.models import Invoice, IssuedDocument
from app.models.billing import CANCELLED
from app.services.actor import acting_as
from app.services.billing.corrections import reissue_invoice
from app.services.documents.rendering import render_documents
from tests.conftest import MEMBER_PASSWORD, login

from .documents_month import MONTH
from .portal_data import B_NAME, LONG_NAME, link_logins, real_month, stored_months, tokens

EIGHT_MONTHS = ["2026-03", "2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]


def _make_members(db):
    from .test_billing import make_member

    a = make_member(db, "M001", LONG_NAME)
    b = make_member(db, "M002", B_NAME, payment="bank_transfer", account=False)
    link_logins(db, a.id, b.id)
    return a.id, b.id


def test_six_closed_months_are_shown_older_ones_are_named_and_refused(client, db):
    a, b = _make_members(db)
    invoices = stored_months(db, [a, b], EIGHT_MONTHS)
    login(client, "member1", MEMBER_PASSWORD)
    page = client.get("/portal/documents/").get_data(as_text=True)
    for month in EIGHT_MONTHS[2:]:
        label = f"{month[:4]}年{int(month[5:])}月ご利用分"
        assert label in page, month
        for (kind, fmt), token in tokens(db, invoices[(a, month)]).items():
            assert f"/portal/file/{token}" in page, (month, kind, fmt)
            response = client.get(f"/portal/file/{token}")
            assert response.status_code == 200
            assert response.data == db.session.scalar(select(IssuedDocument.content)
                                                      .where(IssuedDocument.token == token))
    # the two oldest months: named, with what to do, and their files are not served
    for month in EIGHT_MONTHS[:2]:
        assert f"{month[:4]}年{int(month[5:])}月ご利用分：事務局にお問い合わせください" in page
        for token in tokens(db, invoices[(a, month)]).values():
            assert token not in page
            assert client.get(f"/portal/file/{token}").status_code == 404
    # B's months are not A's
    for month in EIGHT_MONTHS:
        for token in tokens(db, invoices[(b, month)]).values():
            assert token not in page
            assert client.get(f"/portal/file/{token}").status_code == 404


def test_a_month_without_an_invoice_says_so(client, db):
    a, b = _make_members(db)
    stored_months(db, [a, b], ["2026-09"])
    stored_months(db, [b], ["2026-10"])
    login(client, "member1", MEMBER_PASSWORD)
    page = client.get("/portal/documents/").get_data(as_text=True)
    october = page.split('id="month-2026-10"')[1].split("</section>")[0]
    assert "この月のご請求はありません。" in october
    assert "2026年9月ご利用分" in page


def test_the_latest_invoice_total_debit_date_and_payment_status(client, db, tmp_path):
    data = real_month(db, tmp_path)
    invoice = db.session.get(Invoice, data.a_invoice)
    login(client, "member1", MEMBER_PASSWORD)
    page = client.get("/portal/").get_data(as_text=True)
    assert f"{invoice.total:,}円" in page
    assert "口座振替日" in page and invoice.debit_date.strftime("%Y/%m/%d") in page
    assert "入金確認前" in page  # no result imported, nothing received yet
    assert invoice.number in page
    # once the payment is recorded (a debit result imported, or a transfer matched) the page says so
    from app.models.payment import Payment

    db.session.add(Payment(invoice_id=invoice.id, member_id=data.a, amount=invoice.total,
                           received_on=invoice.debit_date, method="debit"))
    db.session.commit()
    paid = client.get("/portal/").get_data(as_text=True)
    assert '<dd class="p-payment">入金済み</dd>' in paid
    # the invoice PDF opens in the browser; the Excel downloads, named in Japanese
    pdf = client.get(f"/portal/file/{data.a_tokens[('invoice', 'pdf')]}?open=1")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"].startswith("inline")
    xlsx = client.get(f"/portal/file/{data.a_tokens[('usage-statement', 'xlsx')]}")
    assert xlsx.headers["Content-Disposition"].startswith("attachment")
    assert "%E8%B5%B0%E8%A1%8C%E6%98%8E%E7%B4%B0%E6%9B%B8_M001_2026-10.xlsx" in xlsx.headers["Content-Disposition"]
    assert xlsx.headers["Cache-Control"] == "private, no-store"
    # B pays by transfer: its page says お支払期限 and 振込のご案内
    client.post("/logout/")
    login(client, "member2", MEMBER_PASSWORD)
    page = client.get("/portal/").get_data(as_text=True)
    assert "お支払期限" in page and "振込のご案内" in page and "口座振替のお知らせ" not in page


def test_a_corrected_invoice_replaces_the_cancelled_one_with_a_note(client, db, tmp_path):
    data = real_month(db, tmp_path)
    old_tokens = dict(data.a_tokens)
    original_number = db.session.get(Invoice, data.a_invoice).number
    with acting_as("tester-portal"):
        corrected = reissue_invoice(data.a_invoice, "住所の誤り", "tester-portal")
        corrected_id = corrected.id
    assert not render_documents(MONTH, processes=1).failed
    assert db.session.get(Invoice, data.a_invoice).status == CANCELLED
    new_tokens = tokens(db, corrected_id)
    login(client, "member1", MEMBER_PASSWORD)
    page = client.get("/portal/documents/").get_data(as_text=True)
    assert f"請求書（番号 {original_number}）は取り消され" in page
    for key, token in new_tokens.items():
        assert token in page
        assert client.get(f"/portal/file/{token}").status_code == 200, key
    for token in old_tokens.values():
        assert token not in page
        assert client.get(f"/portal/file/{token}").status_code == 404
    home = client.get("/portal/").get_data(as_text=True)
    assert f"請求書（番号 {original_number}）は取り消され" in home and new_tokens[("invoice", "pdf")] in home


def test_no_documents_before_the_first_close(client, db):
    _make_members(db)
    login(client, "member1", MEMBER_PASSWORD)
    assert "発行済みの請求書はまだありません" in client.get("/portal/").get_data(as_text=True)
    assert "発行済みの請求書はまだありません" in client.get("/portal/documents/").get_data(as_text=True)


def test_documents_not_rendered_yet_read_in_preparation(client, db, tmp_path):
    from .documents_month import build_closed_month

    ids = build_closed_month(db, tmp_path)  # closed; the render job has not run
    from app.services.documents.requests import request_month_documents

    request_month_documents(MONTH)
    link_logins(db, ids["m1"], ids["m2"])
    login(client, "member1", MEMBER_PASSWORD)
    page = client.get("/portal/documents/").get_data(as_text=True)
    assert page.count("準備中") == 8 and "/portal/file/" not in page


def test_the_portal_has_its_own_phone_layout_without_back_office_menus(client, db, tmp_path):
    real_month(db, tmp_path)
    login(client, "member1", MEMBER_PASSWORD)
    for url in ("/portal/", "/portal/documents/", "/portal/cards/", "/portal/password"):
        page = client.get(url).get_data(as_text=True)
        assert 'name="viewport" content="width=device-width, initial-scale=1"' in page
        assert "portal.css" in page and "ログアウト" in page
        for back_office in ("請求処理", "マスタ管理", "走行明細</", "操作履歴", "navbar"):
            assert back_office not in page, (url, back_office)
    cards = client.get("/portal/cards/").get_data(as_text=True)
    assert "************0011" in cards and "1000010000000011" not in cards and "100001-0000-00001-1" not in cards


def test_the_cards_page_lists_the_members_own_vehicles_only(client, db, tmp_path):
    from app.models import Card, Vehicle

    from .documents_month import C1, C2, C3

    real_month(db, tmp_path)
    plates = {number: db.session.scalar(select(Vehicle).join(Card, Card.vehicle_id == Vehicle.id)
                                        .where(Card.number == number)).plate_text() for number in (C1, C2, C3)}
    login(client, "member1", MEMBER_PASSWORD)
    page = client.get("/portal/cards/").get_data(as_text=True)
    vehicles = page.split("<h1>車両</h1>")[1]
    for number in (C1, C2):  # each card names its vehicle; each vehicle its class and number of cards
        assert plates[number] in page.split("<h1>車両</h1>")[0] and f"<strong>{plates[number]}</strong>" in vehicles
    assert vehicles.count("<dd>1枚</dd>") == 2 and "<dd>大型車</dd>" in vehicles
    assert plates[C3] not in page and C3[-4:] not in page

"""Issue 9 item 16: the tariff a clerk can change. Each rule type has its own labelled form (no JSON),
errors in Japanese on the field; 「改定」 ends the old version the day before and adds the new one, the
list shows both (grouped, newest first); the preview's numbers are those the draft computes after saving;
only 責任者 and 管理者 change rules, 事務 reads."""
import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.models.billing import Invoice
from app.models.tariff import TariffRule
from app.services.actor import acting_as
from app.services.billing.draft import run_billing

from .test_billing_screens import (MONTH, TOTAL, assert_refused, billing, close_month, field_errors,  # noqa: F401
                                   relogin, run_draft, text_of)
from tests.conftest import ADMIN_PASSWORD, MANAGER_PASSWORD, STAFF_PASSWORD


def _rule(db, rule_id, newest=True):
    order = TariffRule.valid_from.desc() if newest else TariffRule.valid_from
    return db.session.scalars(select(TariffRule).where(TariffRule.rule_id == rule_id).order_by(order)).first()


FEE = {"type": "member_monthly_fee", "label": "テスト管理料", "amount": "1,100", "valid_from": "2026/11/01",
       "valid_to": "", "rounding": "floor"}


def test_the_add_form_asks_the_type_first_then_shows_labelled_fields(manager_client, db, billing):
    page = manager_client.get("/tariff/add").get_data(as_text=True)
    assert "追加する規則の種類を選んでください" in page and "カード異動手数料" in page
    page = manager_client.get("/tariff/add?type=vehicle_discount").get_data(as_text=True)
    assert "上限額（円・その額を含む）" in page and "割引率（％）" in page and "道路区分" in page
    assert "JSON" not in text_of(page)
    page = manager_client.get("/tariff/add?type=event_fee").get_data(as_text=True)
    assert "異動の種類" in page and "紛失・盗難" in page and "金額（円）" in page and "対象のカード" in page

    response = manager_client.post("/tariff/add?type=member_monthly_fee", data=FEE, follow_redirects=True)
    assert "登録しました" in response.get_data(as_text=True)
    db.session.rollback()
    row = db.session.scalars(select(TariffRule).where(TariffRule.label == "テスト管理料")).one()
    assert (row.type, row.params, row.scope, row.valid_from, row.rule_id) == (
        "member_monthly_fee", {"amount": 1100}, {}, dt.date(2026, 11, 1), "member-monthly-fee-1")
    shown = manager_client.get(f"/tariff/show/{row.id}").get_data(as_text=True)
    assert "金額: 1,100円" in text_of(shown) and "全組合員・全カード" in shown

    # edit: the same labelled fields, filled in; 率 in percent, 対象 as a choice
    row_id = _rule(db, "credit_usage_fee").id
    edit = manager_client.get(f"/tariff/edit/{row_id}").get_data(as_text=True)
    assert 'value="2"' in edit and "率（％）" in edit
    response = manager_client.post(f"/tariff/edit/{row_id}", data={
        "type": "usage_fee", "label": "事務手数料（クレジットカード）", "rate": "8", "valid_from": "2000/01/01",
        "scope_card_kind": "credit", "rounding": "half_up"}, follow_redirects=True)
    assert response.status_code == 200
    db.session.rollback()
    row = db.session.get(TariffRule, row_id)
    assert (row.params, row.scope, row.rounding) == ({"rate": "0.08"}, {"card_kind": "credit"}, "half_up")


def test_bands_are_a_small_table(manager_client, db, billing):
    data = {"type": "vehicle_discount", "label": "首都高 テスト", "valid_from": "2026/11/01", "rounding": "floor",
            "road_operator": "首都高", "bands-amount": ["5,000", "10000", "", ""],
            "bands-rate": ["0", "10", "20", ""]}
    response = manager_client.post("/tariff/add?type=vehicle_discount", data=data, follow_redirects=True)
    assert "登録しました" in response.get_data(as_text=True)
    db.session.rollback()
    row = db.session.scalars(select(TariffRule).where(TariffRule.label == "首都高 テスト")).one()
    assert row.params == {"bands": [[5000, "0"], [10000, "0.1"], [None, "0.2"]], "road_operator": "首都高"}
    shown = text_of(manager_client.get(f"/tariff/show/{row.id}").get_data(as_text=True))
    assert "5,000円 0%" in shown and "上限なし 20%" in shown
    edit = manager_client.get(f"/tariff/edit/{row.id}").get_data(as_text=True)
    assert 'name="bands-amount" value="5,000"' in edit and 'name="bands-rate" value="10"' in edit


@pytest.mark.parametrize("type_name, change, field, expected", [
    ("member_monthly_fee", {"amount": "-5"}, "amount", "金額は0以上の整数（円）で入力してください"),
    ("member_monthly_fee", {"amount": "六百"}, "amount", "金額は円の整数で入力してください"),
    ("member_monthly_fee", {"amount": ""}, "amount", "必須です"),
    ("usage_fee", {"rate": "150"}, "rate", "率は 0〜100 の数で入力してください"),
    ("usage_fee", {"rate": "八"}, "rate", "率は % の数で入力してください"),
    ("member_monthly_fee", {"valid_to": "2026/10/01"}, "valid_to", "有効終了日 が 有効開始日 より前です"),
    ("member_monthly_fee", {"valid_from": "先週"}, "valid_from", "日付"),
    ("vehicle_discount", {"bands-amount": ["10000", "5000", ""], "bands-rate": ["0", "10", "20"]}, "bands",
     "段階 の上限額は 0 より大きく、小さい順に並べてください"),
    ("vehicle_discount", {"bands-amount": ["", "5000"], "bands-rate": ["0", "10"]}, "bands",
     "1段目: 上限額（円・その額を含む）を入力してください（上限なしは最後の段だけです）"),
    ("member_discount", {"method": "pass_through"}, "ratio", "この方式では還元率を入力してください"),
    ("non_taxable_usage", {}, "match_ic", "IC名・道路事業者・備考の語のどれかを入力してください"),
])
def test_form_errors_are_japanese_and_on_the_field(manager_client, db, billing, type_name, change, field, expected):
    before = db.session.scalar(select(func.count()).select_from(TariffRule))
    data = {"type": type_name, "label": "テスト", "valid_from": "2026/11/01", "rounding": "floor", "amount": "660",
            "rate": "2", "bands-amount": [""], "bands-rate": [""], **change}
    response = manager_client.post(f"/tariff/add?type={type_name}", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    errors = field_errors(page)
    assert expected in errors, errors
    assert not re.search(r"[A-Za-z]{3,}", errors), errors
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(TariffRule)) == before


def test_a_second_version_overlapping_is_refused_on_the_start_date(manager_client, db, billing):
    row = _rule(db, "member_monthly")
    page = manager_client.post(f"/tariff/edit/{row.id}", data={
        "type": "member_monthly_fee", "label": "組合員管理料", "amount": "660", "valid_from": "2000/01/01",
        "valid_to": "", "rounding": "floor"}).get_data(as_text=True)
    assert "alert-danger" not in page or "期間" not in field_errors(page)
    page = manager_client.post("/tariff/add?type=member_monthly_fee", data={
        **FEE, "rule_id": "member_monthly", "valid_from": "2000/01/01"}).get_data(as_text=True)
    assert "この規則には有効開始日 2000/01/01 の版がすでにあります" in field_errors(page)


def _revise(client, row_id, amount, starts, button="save"):
    return client.post(f"/tariff/revise/{row_id}", data={
        "type": "member_monthly_fee", "label": "組合員管理料", "amount": amount, "valid_from": starts,
        "rounding": "floor", button: "1"}, follow_redirects=True)


def test_revision_preview_equals_the_draft_then_computed(manager_client, db, billing):
    row = _rule(db, "member_monthly")
    page = manager_client.get(f"/tariff/revise/{row.id}").get_data(as_text=True)
    assert "今の版（2000/01/01〜）" in page and 'value="660"' in page and "改定日" in page

    page = _revise(manager_client, row.id, "770", "2026/10/01", "preview").get_data(as_text=True)
    preview = text_of(re.search(r'id="tariff-preview".*?</table>', page, re.S).group(0))
    assert "2026年10月の請求金額（改定前 → 改定後）" in preview
    assert f"M0001 品川運送株式会社 {TOTAL:,}円 {TOTAL + 110:,}円 +110円" in preview, preview
    assert "新しい版（2026/10/01〜）" in page and "金額: 770円" in text_of(page)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(TariffRule).where(
        TariffRule.rule_id == "member_monthly")) == 1  # the preview saved nothing
    assert _rule(db, "member_monthly").valid_to is None

    page = _revise(manager_client, row.id, "770", "2026/10/01").get_data(as_text=True)
    assert "改定しました" in page and "2026/09/30 までが今までの版" in page
    versions = text_of(re.search(r'id="tariff-versions".*', page, re.S).group(0))
    assert versions.index("770円") < versions.index("660円")  # side by side, the new one first
    db.session.rollback()
    old, new = _rule(db, "member_monthly", newest=False), _rule(db, "member_monthly")
    assert (old.valid_from, old.valid_to, old.params) == (dt.date(2000, 1, 1), dt.date(2026, 9, 30), {"amount": 660})
    assert (new.valid_from, new.valid_to, new.params) == (dt.date(2026, 10, 1), None, {"amount": 770})

    listing = manager_client.get("/tariff/list/").get_data(as_text=True)
    group = text_of(re.search(r'<tbody class="tariff-rule"[^>]*>(?:(?!</tbody>).)*組合員管理料.*?</tbody>',
                              listing, re.S).group(0))
    assert group.index("2026/10/01〜期限なし") < group.index("2000/01/01〜2026/09/30"), group

    with acting_as("test"):
        run_billing(MONTH)
    invoice = db.session.scalars(select(Invoice).where(Invoice.month == MONTH)).one()
    assert invoice.total == TOTAL + 110


def test_revision_refused_into_a_closed_month_and_not_twice_from_an_old_version(client, db, billing):
    relogin(client, "admin", ADMIN_PASSWORD)
    run_draft(client)
    close_month(client)
    row = _rule(db, "member_monthly")
    page = _revise(client, row.id, "770", "2026/10/01").get_data(as_text=True)
    assert "改定日が締め済みの月（2026年10月）にかかっています。2026年11月1日以降の日にしてください。" in field_errors(page)
    page = _revise(client, row.id, "770", "2026/11/01").get_data(as_text=True)
    assert "改定しました" in page
    page = _revise(client, row.id, "880", "2026/12/01").get_data(as_text=True)
    assert "新しい版があります。最新の版を改定してください" in field_errors(page)
    page = _revise(client, _rule(db, "member_monthly").id, "880", "2026/11/01").get_data(as_text=True)
    assert "改定日は今の版の有効開始日（2026/11/01）より後の日にしてください" in field_errors(page)


def test_staff_reads_the_tariff_but_cannot_change_it(client, db, billing):
    relogin(client, "staff", STAFF_PASSWORD)
    row = _rule(db, "member_monthly")
    for url in ("/tariff/list/", f"/tariff/show/{row.id}", f"/tariff/versions/{row.id}", "/tariff/yaml/"):
        assert client.get(url).status_code == 200, url
    listing = client.get("/tariff/list/").get_data(as_text=True)
    assert "tariff-revise" not in listing and "tariff-add" not in listing and "規則の変更は責任者・管理者が行います" in listing
    for url in ("/tariff/add", "/tariff/add?type=member_monthly_fee", f"/tariff/edit/{row.id}",
                f"/tariff/revise/{row.id}", "/tariff/upload/"):
        assert_refused(client.get(url))
    assert_refused(client.post(f"/tariff/revise/{row.id}", data={
        "type": "member_monthly_fee", "label": "組合員管理料", "amount": "770", "valid_from": "2026/10/01",
        "rounding": "floor", "save": "1"}))
    assert_refused(client.post(f"/tariff/delete/{row.id}"))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(TariffRule).where(
        TariffRule.rule_id == "member_monthly")) == 1

    relogin(client, "manager", MANAGER_PASSWORD)
    assert client.get(f"/tariff/revise/{row.id}").status_code == 200


def test_no_code_names_on_the_tariff_screens(client, db, billing):
    """Issue 9 item 11: every tariff page of every rule of the default tariff, each type's add form, a
    revision's preview and the errors, with no rule code, parameter key or JSON (the export keeps them)."""
    from app.domain.tariff import RULE_TYPES
    from tests.integration.test_japanese_ui import code_names_on

    relogin(client, "admin", ADMIN_PASSWORD)
    urls = ["/tariff/list/", "/tariff/add", *(f"/tariff/add?type={name}" for name in RULE_TYPES)]
    for row in db.session.scalars(select(TariffRule)):
        urls += [f"/tariff/show/{row.id}", f"/tariff/edit/{row.id}", f"/tariff/revise/{row.id}",
                 f"/tariff/versions/{row.id}"]
    failures = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        failures += [f"{url}: {problem}" for problem in code_names_on(page)]
        assert "JSON" not in text_of(page), url
    row = _rule(db, "member_monthly")
    pages = {"preview": _revise(client, row.id, "770", "2026/10/01", "preview"),
             "error": _revise(client, row.id, "-1", "1999/01/01", "preview"),
             "refused": _revise(client, row.id, "770", "1999/01/01", "preview")}
    for name, response in pages.items():
        failures += [f"{name}: {problem}" for problem in code_names_on(response.get_data(as_text=True))]
    assert not failures, "\n".join(failures)

"""Issue 7 items 3–8 end to end: usage rows and card events in the database, `flask etc bill` and
`flask etc close` through the CLI, then the invoices as stored (SQLite, and PostgreSQL with
TEST_DATABASE_URL). Every amount is worked out by hand in the comments."""
import datetime as dt
import hashlib
import itertools

import pytest
from sqlalchemy import select

from app.models import Card, CardEvent
from app.models.billing import ISSUED, Invoice, InvoiceLine, InvoiceTaxSubtotal
from app.models.usage import FLAG_OFF_MONTH, FLAG_SUSPECTED_DUPLICATE, ImportBatch, ImportProfile, UsageRecord
from app.services.actor import acting_as
from app.services.billing.corrections import add_adjustment
from app.services.cards import apply_card_event

from .test_billing import ACTOR, invoice_of, load_tariff, make_card, make_member

FEES = """
rules:
  - id: member_monthly
    type: member_monthly_fee
    label: 組合員管理料
    amount: 660
  - id: minimum
    type: minimum_charge
    label: 最低請求額
    amount: 1000
  - id: card_monthly
    type: card_monthly_fee
    label: カード管理料
    amount: 110
    scope: {card_kind: corporate}
  - id: yearly
    type: yearly_card_fee
    label: 年間カード手数料
    month: 4
    amount: 629
"""

DISCOUNTS = """
rules:
  - id: nexco_vehicle
    type: vehicle_discount
    label: NEXCO 車両単位割引
    road_operator: NEXCO
    bands: [[5000, "0"], [10000, "0.10"], [30000, "0.20"], [null, "0.30"]]
    scope: {card_kind: corporate}
  - id: nexco_vehicle_general
    type: vehicle_discount
    label: NEXCO 車両単位割引（一般有料道路）
    road_operator: NEXCO
    road_category: general_toll
    bands: [[5000, "0"], [10000, "0.10"], [30000, "0.20"], [null, "0.30"]]
    scope: {card_kind: corporate}
  - id: nexco_contract
    type: contract_discount
    label: NEXCO 契約単位割引
    road_operator: NEXCO
    threshold_total: 100000
    threshold_average: 30000
    rate: "0.10"
    scope: {card_kind: corporate}
  - id: pass
    type: member_discount
    label: 組合員割引
    method: pass_through
    ratio: "1"
  - id: office_fee
    type: usage_fee
    label: 事務手数料
    rate: "0.02"
  - id: kanku_bridge_tax
    type: non_taxable_usage
    label: 関空橋税（空港連絡橋利用税）
    match:
      remarks: [関空橋税]
"""

_numbers = itertools.count(1)


@pytest.fixture()
def runner(app):
    return app.test_cli_runner()


def _bill(runner, month):
    result = runner.invoke(args=["etc", "bill", month])
    assert result.exit_code == 0, result.output
    return result.output


def _close(runner, month):
    result = runner.invoke(args=["etc", "close", month])
    assert result.exit_code == 0, result.output
    return result.output


def _rows(db, month, rows):
    """rows: dicts of UsageRecord fields (card, amount_billed, …); one batch."""
    profile = db.session.scalar(select(ImportProfile).where(ImportProfile.name == "tollbook-csv"))
    name = f"rules-{month}-{next(_numbers)}.csv"
    batch = ImportBatch(file_name=name, sha256=hashlib.sha256(name.encode()).hexdigest(), profile=profile,
                        usage_month=month, imported_by=ACTOR, row_count=len(rows))
    db.session.add(batch)
    db.session.flush()
    day = dt.datetime(int(month[:4]), int(month[5:]), 10, 9, 0)
    for line_no, row in enumerate(rows, start=1):
        row = dict(row)
        card = row.pop("card")
        db.session.add(UsageRecord(batch_id=batch.id, line_no=line_no, usage_month=month, card_number=card.number,
                                   card_id=card.id, member_id=card.member_id,
                                   exit_at=day + dt.timedelta(minutes=line_no), road_operator=row.pop("road", "NEXCO"),
                                   **row))
    db.session.commit()


def _lines(db, invoice):
    return [(line.description, line.amount, line.tax_category) for line in db.session.scalars(
        select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id).order_by(InvoiceLine.position))]


def _subtotals(db, invoice):
    return sorted((s.category, s.total_including_tax, s.tax) for s in db.session.scalars(
        select(InvoiceTaxSubtotal).where(InvoiceTaxSubtotal.invoice_id == invoice.id)))


# ── items 3 and 4: 最低請求額, credits carried until used, tax toward zero ─────────────────────

def test_a_credit_is_issued_without_debit_and_carried_until_used(db, runner, tmp_path, staff_client):
    load_tariff(tmp_path, FEES)
    member = make_member(db, "M001", "株式会社山田運輸")
    make_card(db, member, "4980003333444455", kind="credit", valid_from=dt.date(2026, 4, 1))  # no monthly fee
    _bill(runner, "2026-09")
    _close(runner, "2026-09")
    september = invoice_of(db, member, "2026-09")
    assert september.total == 1_000  # 660 + 最低請求額 340
    with acting_as(ACTOR):
        add_adjustment(september.id, -50_000, "9月分の返金", ACTOR)

    _bill(runner, "2026-10")
    october = invoice_of(db, member, "2026-10")
    # own charges 660 → 最低請求額 340; then the −50,000 correction: 1,000 − 50,000 = −49,000
    assert _lines(db, october) == [("組合員管理料", 660, "10%"), ("最低請求額", 340, "10%"),
                                   ("訂正（請求書 00000001）9月分の返金", -50_000, "10%")]
    assert october.total == -49_000
    assert _subtotals(db, october) == [("10%", -49_000, -4_454)]  # −4,454.5… toward zero
    output = _close(runner, "2026-10")
    assert "うち貸方 1件" in output
    db.session.expire_all()
    october = invoice_of(db, member, "2026-10")
    assert (october.status, october.number, october.debit_date) == (ISSUED, "00000002", None)
    assert october.invoice_date == dt.date(2026, 11, 20)

    page = staff_client.get(f"/invoices/show/{october.id}").get_data(as_text=True)
    assert "貸方のため振替・お支払はありません（次回の請求書で差し引きます）" in page
    assert "貸方残高（次回へ繰越）" in page

    _bill(runner, "2026-11")
    november = invoice_of(db, member, "2026-11")
    page = staff_client.get(f"/invoices/show/{november.id}").get_data(as_text=True)
    assert 'id="invoice-carried">' in page and "前月繰越（貸方）（請求書 00000002）" in page
    assert _lines(db, november) == [("組合員管理料", 660, "10%"), ("最低請求額", 340, "10%"),
                                    ("前月繰越（貸方）（請求書 00000002）", -49_000, "繰越")]
    assert november.total == -48_000
    assert _subtotals(db, november) == [("10%", 1_000, 90), ("繰越", -49_000, 0)]
    _bill(runner, "2026-11")  # recomputing carries the same credit once
    assert invoice_of(db, member, "2026-11").total == -48_000
    _close(runner, "2026-11")
    db.session.expire_all()
    november = invoice_of(db, member, "2026-11")
    assert db.session.get(Invoice, october.id).credit_carried_to_invoice_id == november.id
    assert november.debit_date is None

    _bill(runner, "2026-12")  # November's credit now, not October's again
    december = invoice_of(db, member, "2026-12")
    assert [l for l in _lines(db, december) if l[2] == "繰越"] == [
        ("前月繰越（貸方）（請求書 00000003）", -48_000, "繰越")]


def test_a_credit_used_up_leaves_a_debit(db, runner, tmp_path):
    load_tariff(tmp_path, FEES)
    member = make_member(db, "M001", "株式会社山田運輸")
    make_card(db, member, "4980003333444455", kind="credit", valid_from=dt.date(2026, 4, 1))  # no monthly fee
    _bill(runner, "2026-09")
    _close(runner, "2026-09")
    with acting_as(ACTOR):
        add_adjustment(invoice_of(db, member, "2026-09").id, -1_500, "返金", ACTOR)
    _bill(runner, "2026-10")
    _close(runner, "2026-10")  # 1,000 − 1,500 = −500
    card = make_card(db, member, "1000010000000011", valid_from=dt.date(2026, 4, 1))
    _rows(db, "2026-11", [dict(card=card, amount_billed=20_000)])
    _bill(runner, "2026-11")
    _close(runner, "2026-11")
    db.session.expire_all()
    november = invoice_of(db, member, "2026-11")
    # 20,000 + 660 + 110 − 500 = 20,270, debited as usual
    assert november.total == 20_270 and november.debit_date is not None


# ── item 5: 関空橋税 ──────────────────────────────────────────────────────────────────────────

def test_kanku_bridge_tax_rows_are_non_taxable_and_in_no_base(db, runner, tmp_path):
    load_tariff(tmp_path, DISCOUNTS)
    member = make_member(db, "M001", "株式会社山田運輸")
    card = make_card(db, member, "1000010000000011")
    _rows(db, "2026-10", [dict(card=card, amount_billed=40_000, road="NEXCO西日本"),
                          dict(card=card, amount_billed=100, road="NEXCO西日本", remarks="関空橋税"),
                          dict(card=card, amount_billed=100, road="NEXCO西日本", remarks="関空橋税")])
    _bill(runner, "2026-10")
    invoice = invoice_of(db, member, "2026-10")
    assert _lines(db, invoice) == [
        ("通行料金 100001-0000-00001-1", 40_000, "10%"),
        ("関空橋税（空港連絡橋利用税） 100001-0000-00001-1", 200, "不課税"),
        ("NEXCO 車両単位割引 100001-0000-00001-1", -7_500, "10%"),   # on 40,000, not 40,200
        ("事務手数料", 800, "10%"),                                    # 2% of 40,000
    ]
    # 10%: 40,000 − 7,500 + 800 = 33,300 → 3,027 (3,027.27…); 不課税 200
    assert _subtotals(db, invoice) == [("10%", 33_300, 3_027), ("不課税", 200, 0)]
    assert (invoice.non_taxable_total, invoice.total) == (200, 33_500)


# ── item 6: cards in force ────────────────────────────────────────────────────────────────────

def test_card_lost_in_october_and_cancelled_in_december_is_not_charged_in_november(db, runner, tmp_path):
    load_tariff(tmp_path, FEES)
    member = make_member(db, "M001", "株式会社山田運輸")
    lost = make_card(db, member, "1000010000000011", valid_from=dt.date(2026, 4, 1))
    make_card(db, member, "1000020000000021", valid_from=dt.date(2026, 4, 1))
    with acting_as(ACTOR):
        apply_card_event(db.session, CardEvent(card=lost, kind="loss", occurred_on=dt.date(2026, 10, 15)))
        db.session.commit()
        apply_card_event(db.session, CardEvent(card=db.session.get(Card, lost.id), kind="cancel",
                                               occurred_on=dt.date(2026, 12, 1)))
        db.session.commit()
    _bill(runner, "2026-11")
    fees = dict((d, a) for d, a, _ in _lines(db, invoice_of(db, member, "2026-11")))
    assert fees["カード管理料"] == 110  # 1 card (was 220: the card's status only changed in December)
    _bill(runner, "2026-10")
    assert dict((d, a) for d, a, _ in _lines(db, invoice_of(db, member, "2026-10")))["カード管理料"] == 220


def test_april_yearly_fee_counts_the_cards_in_force_in_april(db, runner, tmp_path):
    load_tariff(tmp_path, FEES)
    member = make_member(db, "M001", "株式会社山田運輸")
    make_card(db, member, "1000010000000011", valid_from=dt.date(2026, 3, 1))
    lost = make_card(db, member, "1000020000000021", valid_from=dt.date(2026, 3, 1))
    make_card(db, member, "1000030000000031", valid_from=dt.date(2026, 5, 1))  # not issued yet in April
    with acting_as(ACTOR):
        apply_card_event(db.session, CardEvent(card=lost, kind="loss", occurred_on=dt.date(2026, 3, 20)))
        db.session.commit()
        apply_card_event(db.session, CardEvent(card=db.session.get(Card, lost.id), kind="cancel",
                                               occurred_on=dt.date(2026, 5, 10)))
        db.session.commit()
    _bill(runner, "2026-04")  # lost before April, cancelled after it: not in force in April
    fees = dict((d, a) for d, a, _ in _lines(db, invoice_of(db, member, "2026-04")))
    assert (fees["年間カード手数料"], fees["カード管理料"]) == (629, 110)


# ── items 7 and 8: road categories, 摘要 01, 平日朝夕, contract denominator ─────────────────────

def test_nexco_fixed_categories_summary_code_01_and_peak_time(db, runner, tmp_path):
    load_tariff(tmp_path, DISCOUNTS)
    member = make_member(db, "M001", "株式会社山田運輸")
    card = make_card(db, member, "1000010000000011")
    _rows(db, "2026-10", [
        # 50,000 = 高速国道 30,000 + 一般有料道路 15,000 + 公社道路 5,000
        dict(card=card, amount_billed=50_000, amount_expressway=30_000, amount_general_toll=15_000,
             amount_public_corp=5_000, remarks="00"),
        dict(card=card, amount_billed=8_000, remarks="01"),      # 対象外: billed, no discount
        dict(card=card, amount_billed=3_000, peak_time=True),    # 平日朝夕 (no distance): out of the base
    ])
    _bill(runner, "2026-10")
    invoice = invoice_of(db, member, "2026-10")
    discounts = [(d, a) for d, a, _ in _lines(db, invoice) if a < 0]
    # 高速国道 base 30,000 → 4,500; 一般有料道路 15,000 → 1,500; 公社道路 none.
    # (Before: one base of 50,000 + 8,000 + 3,000 = 61,000 → 500 + 4,000 + 9,300 = 13,800.)
    assert discounts == [("NEXCO 車両単位割引 100001-0000-00001-1", -4_500),
                         ("NEXCO 車両単位割引（一般有料道路） 100001-0000-00001-1", -1_500)]
    assert invoice.usage_total == 61_000 and invoice.operator_discount_total == 6_000


def test_contract_average_counts_only_cards_with_a_positive_base(db, runner, tmp_path):
    load_tariff(tmp_path, DISCOUNTS)
    member = make_member(db, "M001", "株式会社山田運輸")
    used = [make_card(db, member, f"10000{i}0000000011") for i in range(1, 4)]
    mismatch_only = [make_card(db, member, f"20000{i}0000000011") for i in range(1, 3)]
    _rows(db, "2026-10", [dict(card=c, amount_billed=40_000) for c in used]
          + [dict(card=c, amount_billed=6_000, remarks="車両不一致") for c in mismatch_only])
    output = _bill(runner, "2026-10")
    # 3 cards × 40,000 = 120,000 over 100,000; average over the 3 cards with a base 40,000 > 30,000 → 12,000.
    # (Counting the 2 車両不一致 cards: 24,000 → nothing.)
    assert "契約単位 12,000円" in output
    lines = dict((d, a) for d, a, _ in _lines(db, invoice_of(db, member, "2026-10")))
    assert lines["契約単位割引の還元"] == -12_000


# ── billable rows (CONTRACTS.md: NOT_BILLED_FLAGS) ─────────────────────────────────────────────

def test_suspected_duplicates_and_off_month_rows_are_not_billed_and_are_counted(db, runner, tmp_path):
    load_tariff(tmp_path, FEES)
    member = make_member(db, "M001", "株式会社山田運輸")
    card = make_card(db, member, "1000010000000011")
    _rows(db, "2026-10", [dict(card=card, amount_billed=3_000),
                          dict(card=card, amount_billed=3_000, flags=FLAG_SUSPECTED_DUPLICATE),
                          dict(card=card, amount_billed=700, flags=FLAG_OFF_MONTH),
                          dict(card=card, amount_billed=900, flags=FLAG_OFF_MONTH)])
    output = _bill(runner, "2026-10")
    assert invoice_of(db, member, "2026-10").usage_total == 3_000
    assert "【参考】重複の疑いの走行明細があります" in output and "（1件）" in output
    assert "【要確認】期ずれの走行明細があります" in output and "（2件）" in output


def test_corporate_rows_without_road_operator_block_the_close(db, runner, tmp_path):
    load_tariff(tmp_path, FEES)
    member = make_member(db, "M001", "株式会社山田運輸")
    card = make_card(db, member, "1000010000000011")
    credit = make_card(db, member, "4980003333444455", kind="credit")
    _rows(db, "2026-10", [dict(card=card, amount_billed=3_000, road=None), dict(card=card, amount_billed=1_000, road=""),
                          dict(card=credit, amount_billed=2_000, road=None)])
    output = _bill(runner, "2026-10")
    assert "【締め不可】道路事業者が分からないコーポレートカードの走行明細があります" in output and "（2件）" in output
    refused = runner.invoke(args=["etc", "close", "2026-10"])
    assert refused.exit_code == 1 and "道路事業者が分からない" in refused.output


def test_the_same_rows_in_one_file_or_split_across_files_bill_the_same(db, runner, tmp_path):
    load_tariff(tmp_path, DISCOUNTS)
    member = make_member(db, "M001", "株式会社山田運輸")
    card = make_card(db, member, "1000010000000011", valid_from=dt.date(2026, 4, 1))
    rows = [dict(card=card, amount_billed=1_000 + 37 * i, remarks=["00", "01", None, "関空橋税"][i % 4],
                 peak_time=i % 3 == 0, amount_general_toll=(i * 11) % 500 if i % 5 == 0 else None)
            for i in range(40)]
    _rows(db, "2026-09", rows)
    shuffled = list(reversed(rows))
    _rows(db, "2026-10", shuffled[:13])
    _rows(db, "2026-10", shuffled[13:])
    _bill(runner, "2026-09")
    _bill(runner, "2026-10")
    september, october = invoice_of(db, member, "2026-09"), invoice_of(db, member, "2026-10")
    assert _lines(db, september) == _lines(db, october)
    assert _subtotals(db, september) == _subtotals(db, october)
    assert september.total == october.total and september.operator_discount_total == october.operator_discount_total


def test_the_tariff_form_lists_each_types_items_from_its_class(manager_client):
    """Each type's form has a labelled field for each item of its class (required and optional)."""
    page = manager_client.get("/tariff/add?type=non_taxable_usage").get_data(as_text=True)
    assert "IC名（入口・出口）" in page and "備考に含まれる語" in page and "1件あたりの不課税額（円）" in page
    page = manager_client.get("/tariff/add?type=contract_discount").get_data(as_text=True)
    for label in ("合計の基準額（円）", "1台あたり平均の基準額（円）", "率（％）", "道路事業者（前方一致）", "道路区分"):
        assert label in page, label


def test_reissuing_a_credit_that_was_carried_does_not_carry_it_twice(db, runner, tmp_path):
    from app.services.billing.corrections import reissue_invoice

    load_tariff(tmp_path, FEES)
    member = make_member(db, "M001", "株式会社山田運輸")
    make_card(db, member, "4980003333444455", kind="credit", valid_from=dt.date(2026, 4, 1))
    _bill(runner, "2026-09")
    _close(runner, "2026-09")
    with acting_as(ACTOR):
        add_adjustment(invoice_of(db, member, "2026-09").id, -50_000, "返金", ACTOR)
    for month in ("2026-10", "2026-11"):
        _bill(runner, month)
        _close(runner, month)
    october = invoice_of(db, member, "2026-10")
    with acting_as(ACTOR):
        corrected = reissue_invoice(october.id, "宛名の誤り", ACTOR)
    db.session.expire_all()
    corrected = db.session.get(Invoice, corrected.id)
    assert corrected.total == -49_000 and corrected.debit_date is None
    _bill(runner, "2026-12")
    december = invoice_of(db, member, "2026-12")
    carried = [l for l in _lines(db, december) if l[2] == "繰越"]
    assert carried == [("前月繰越（貸方）（請求書 00000003）", -48_000, "繰越")]  # November's only

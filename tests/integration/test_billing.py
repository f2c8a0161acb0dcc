"""Monthly billing (app.services.billing): draft → recompute → close → corrections, on SQLite and, with
TEST_DATABASE_URL, on PostgreSQL. The tariff of each test is a small YAML written here, so every
expected amount can be worked out by hand (docs/billing.md, docs/tariff.md)."""
import datetime as dt
import hashlib
import itertools
import textwrap

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.domain.errors import DomainError
from app.models import Card, CardEvent, Member, OperatorSettings, Vehicle
from app.models.billing import (CANCELLED, CLOSED, CORRECTED, ISSUED, REGULAR, BillingRun, Invoice,
                                InvoiceAdjustment, InvoiceLine, InvoiceTaxSubtotal)
from app.models.usage import FLAG_UNREGISTERED_CARD, FLAG_USED_AFTER_LOSS, ImportBatch, ImportProfile, UsageRecord
from app.services.actor import acting_as
from app.services.billing.close import close_billing_run
from app.services.billing.corrections import add_adjustment, adjustments_for, reissue_invoice
from app.services.billing.draft import run_billing
from app.services.billing.review import billing_warnings, operator_check, review
from app.services.cards import apply_card_event, prepare_new_card
from app.services.invoice_list import export_invoice_list, invoice_list_rows
from app.services.operator_discounts import OperatorDiscountImportRefused, import_operator_discounts
from app.services.tariff import TariffImportRefused, export_tariff, import_tariff, rules_for_month
from app.services.usage_import import delete_batch, import_usage_file

ACTOR = "tester-billing"
C1, C2, C3 = "1000010000000011", "1000020000000021", "4980003333444455"

TARIFF = """
rules:
  - id: nexco_vehicle
    type: vehicle_discount
    label: NEXCO 車両単位割引
    road_operator: NEXCO
    valid_from: 2019-04-01
    bands: [[5000, "0"], [10000, "0.10"], [30000, "0.20"], [null, "0.30"]]
    scope: {card_kind: corporate}
  - id: nexco_contract
    type: contract_discount
    label: NEXCO 契約単位割引
    road_operator: NEXCO
    valid_from: 2019-04-01
    threshold_total: 5000000
    threshold_average: 30000
    rate: "0.10"
    scope: {card_kind: corporate}
  - id: pass
    type: member_discount
    label: 組合員割引
    method: pass_through
    ratio: "0.8"
  - id: member_monthly
    type: member_monthly_fee
    label: 組合員管理料
    amount: 500
    valid_from: 2020-01-01
    valid_to: 2026-09-30
  - id: member_monthly
    type: member_monthly_fee
    label: 組合員管理料
    amount: 660
    valid_from: 2026-10-01
  - id: card_monthly
    type: card_monthly_fee
    label: カード管理料
    amount: 110
  - id: fee_issue
    type: event_fee
    label: カード発行手数料
    event: issue
    amount: 629
  - id: fee_add
    type: event_fee
    label: カード追加発行手数料
    event: add
    amount: 629
"""


def load_tariff(tmp_path, text=TARIFF, name="tariff.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with acting_as(ACTOR):
        return import_tariff(path)


REGISTRATION = "T7000012050002"


def make_member(db, code, name, payment="direct_debit", account=True, group=None,
                address="東京都千代田区丸の内1-1-1"):
    """A member that can be invoiced: with an address, and the operator with its 登録番号 (the close needs
    both before it numbers anything: issue 10, "Bad input and faults")."""
    with acting_as(ACTOR):
        settings = db.session.query(OperatorSettings).first()
        if settings is not None and not settings.registration_number:
            settings.registration_number = REGISTRATION
        member = Member(code=code, name=name, kana="テスト", payment_method=payment, status="active",
                        member_group=group, postal_code="100-0005" if address else None, address=address)
        if account:
            member.bank_code, member.branch_code, member.account_type = "0001", "001", 1
            member.account_number, member.account_holder_kana = "1234567", "テスト"
        db.session.add(member)
        db.session.commit()
    return member


_serials = itertools.count(1000)


def make_card(db, member, number, kind="corporate", valid_from=dt.date(2026, 10, 1), etc2=False, commercial=False):
    with acting_as(ACTOR):
        vehicle = None
        if kind == "corporate":
            vehicle = Vehicle(member=member, plate_region="品川", plate_class_number="100", plate_kana="あ",
                              plate_serial=next(_serials), vehicle_class=2, is_etc2=etc2, is_commercial=commercial)
            db.session.add(vehicle)
        card = Card(number=number, kind=kind, issuer="NEXCO" if kind == "corporate" else "テストカード",
                    member=member, vehicle=vehicle, valid_from=valid_from)
        prepare_new_card(db.session, card)
        db.session.commit()
    return card


def add_usage(db, month, rows, status="active", name=None):
    """rows: (card or number, road operator, amount billed[, remarks[, flags]])."""
    profile = db.session.scalar(select(ImportProfile).where(ImportProfile.name == "tollbook-csv"))
    name = name or f"usage-{month}-{len(rows)}-{dt.datetime.now().timestamp()}.csv"
    batch = ImportBatch(file_name=name, sha256=hashlib.sha256(name.encode()).hexdigest(), profile=profile,
                        usage_month=month, imported_by=ACTOR, status=status, row_count=len(rows))
    db.session.add(batch)
    db.session.flush()
    day = dt.datetime(int(month[:4]), int(month[5:]), 10, 9, 0)
    for line_no, row in enumerate(rows, start=1):
        card, road, amount = row[:3]
        remarks = row[3] if len(row) > 3 else None
        flags = row[4] if len(row) > 4 else 0
        known = isinstance(card, Card)
        db.session.add(UsageRecord(batch_id=batch.id, line_no=line_no, usage_month=month,
                                   card_number=card.number if known else card, card_id=card.id if known else None,
                                   member_id=card.member_id if known else None, exit_at=day, road_operator=road,
                                   amount_billed=amount, remarks=remarks, flags=flags))
    db.session.commit()
    return batch


def invoice_of(db, member, month, kind=REGULAR):
    return db.session.scalar(select(Invoice).where(Invoice.member_id == member.id, Invoice.month == month,
                                                   Invoice.kind == kind))


def lines_of(db, invoice):
    return db.session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
                              .order_by(InvoiceLine.position)).all()


def snapshot(db, month):
    """Everything a draft holds, without row ids."""
    db.session.expire_all()
    result = []
    for invoice in db.session.scalars(select(Invoice).where(Invoice.month == month).order_by(Invoice.member_id)):
        result.append((invoice.member_id, invoice.kind, invoice.status, invoice.usage_total, invoice.discount_total,
                       invoice.fee_total, invoice.adjustment_total, invoice.taxable_total, invoice.tax_amount,
                       invoice.total, invoice.operator_discount_total,
                       [(l.position, l.kind, l.description, l.card_id, l.amount, l.tax_category, l.rule_id, l.breakdown)
                        for l in lines_of(db, invoice)],
                       sorted((s.category, s.total_including_tax, s.tax) for s in db.session.scalars(
                           select(InvoiceTaxSubtotal).where(InvoiceTaxSubtotal.invoice_id == invoice.id)))))
    return result


@pytest.fixture()
def october(db, tmp_path):
    """Two members in October 2026: M001 (口座振替) with a corporate card used on NEXCO East and
    Central (one 車両不一致 row), M002 (振込) with a corporate card on NEXCO and 首都高, and a card
    brought over by the master import (its event is not billed again)."""
    load_tariff(tmp_path)
    m1 = make_member(db, "M001", "株式会社山田運輸")
    m2 = make_member(db, "M002", "髙橋物流有限会社", payment="bank_transfer", account=False)
    c1 = make_card(db, m1, C1)
    c2 = make_card(db, m2, C2)
    with acting_as(ACTOR):
        old = make_card(db, m2, "1000020000000039", valid_from=dt.date(2024, 4, 1))
        event = db.session.scalar(select(CardEvent).where(CardEvent.card_id == old.id))
        event.note = "マスタ取込（Excel）"
        db.session.commit()
    add_usage(db, "2026-10", [(c1, "NEXCO東日本", 30000), (c1, "NEXCO中日本", 10000),
                              (c1, "NEXCO東日本", 5000, "02"),  # 車両不一致: no discount on it
                              (c2, "NEXCO西日本", 8000), (c2, "首都高速道路", 4000)])
    return dict(m1=m1, m2=m2, c1=c1, c2=c2, old=old)


def test_draft_amounts_follow_the_tariff(db, october):
    m1, m2 = october["m1"], october["m2"]
    summary = run_billing("2026-10")
    assert summary.created and summary.invoice_count == 2
    one = invoice_of(db, m1, "2026-10")
    # NEXCO East + Central add up per card: 40,000円 → 0 + 500 + 4,000 + 3,000 = 7,500円; 80% passed on = 6,000円.
    assert [(l.kind, l.description, l.amount) for l in lines_of(db, one)] == [
        ("usage", "通行料金 100001-0000-00001-1", 45000),
        ("member_discount", "NEXCO 車両単位割引 100001-0000-00001-1", -6000),
        ("fee", "カード管理料", 110),
        ("fee", "組合員管理料", 660),
        ("fee", "カード発行手数料（新規発行 100001-0000-00001-1）", 629),
    ]
    assert (one.usage_total, one.discount_total, one.fee_total, one.adjustment_total, one.total) == (
        45000, 6000, 1399, 0, 40399)
    assert one.operator_discount_total == 7500
    assert (one.taxable_total, one.tax_amount) == (40399, 40399 * 10 // 110)
    assert (one.status, one.number, one.payment_method) == ("draft", None, "direct_debit")
    two = invoice_of(db, m2, "2026-10")
    # 8,000円 on NEXCO → 300円 discount, 240円 passed on; 首都高 has no rule here. Two cards × 110円
    # (the master-import card is in force too); its 新規発行 event was billed by the previous system.
    assert [(l.kind, l.amount) for l in lines_of(db, two)] == [
        ("usage", 12000), ("member_discount", -240), ("fee", 220), ("fee", 660), ("fee", 629)]
    run = db.session.scalar(select(BillingRun).where(BillingRun.month == "2026-10"))
    assert (run.status, run.invoice_count, run.usage_total, run.total) == ("draft", 2, 57000, 40399 + 13269)
    assert run.operator_discount_total == 7800 and run.contract_discount_total == 0


def test_recompute_is_identical_then_close_numbers_dates_and_read_only(db, october, tmp_path):
    m1, m2, c1 = october["m1"], october["m2"], october["c1"]
    run_billing("2026-10")
    first = snapshot(db, "2026-10")
    summary = run_billing("2026-10")
    assert not summary.created
    assert snapshot(db, "2026-10") == first

    run = close_billing_run("2026-10", "課長")
    assert (run.status, run.closed_by) == (CLOSED, "課長")
    one, two = invoice_of(db, m1, "2026-10"), invoice_of(db, m2, "2026-10")
    assert (one.number, two.number) == ("00000001", "00000002")  # by member code, gap-free
    assert one.status == two.status == ISSUED
    assert one.invoice_date == dt.date(2026, 11, 20)
    assert one.debit_date == dt.date(2026, 12, 7)  # 2026-12-05 is a Saturday
    events = db.session.scalars(select(CardEvent).order_by(CardEvent.id)).all()
    billed = {e.card_id: (e.fee_billed, e.billed_month) for e in events}
    assert billed[c1.id] == (True, "2026-10")
    assert billed[october["old"].id] == (False, None)  # brought over by the master import: never billed here

    with pytest.raises(DomainError, match="締め済み"):
        run_billing("2026-10")
    with pytest.raises(DomainError, match="締め済み"):
        close_billing_run("2026-10", "課長")
    csv = tmp_path / "late.csv"
    csv.write_text("カード番号,利用日時,出口IC,通行料金\n" f"{C1},2026/10/30 10:00,東京,1000\n", encoding="utf-8")
    with pytest.raises(DomainError, match="締め済み"), acting_as(ACTOR):
        import_usage_file(csv, "tollbook-csv", usage_month="2026-10")
    with pytest.raises(DomainError, match="締め済み"), acting_as(ACTOR):
        apply_card_event(db.session, CardEvent(card=c1, kind="loss", occurred_on=dt.date(2026, 10, 31)))
    db.session.rollback()
    with acting_as(ACTOR):  # a November event is fine, and billed in November
        apply_card_event(db.session, CardEvent(card=db.session.get(Card, c1.id), kind="loss",
                                               occurred_on=dt.date(2026, 11, 2)))
        db.session.commit()
    assert snapshot(db, "2026-10")[0][3:11] == first[0][3:11]  # amounts as issued


def test_adjustment_is_billed_next_month_and_shown_on_both(db, october):
    m1 = october["m1"]
    run_billing("2026-10")
    draft = invoice_of(db, m1, "2026-10")
    with pytest.raises(DomainError, match="下書き"):
        add_adjustment(draft.id, -1000, "返金", ACTOR)
    close_billing_run("2026-10", ACTOR)
    original = invoice_of(db, m1, "2026-10")
    before = (original.total, original.status, original.number)
    with pytest.raises(DomainError, match="0以外"):
        add_adjustment(original.id, 0, "なし", ACTOR)
    adjustment = add_adjustment(original.id, -1200, "通行料金の二重計上の返金", ACTOR)
    assert adjustment.billed_invoice_id is None

    run_billing("2026-11")
    november = invoice_of(db, m1, "2026-11")
    line = [l for l in lines_of(db, november) if l.kind == "adjustment"]
    assert [(l.description, l.amount) for l in line] == [("訂正（請求書 00000001）通行料金の二重計上の返金", -1200)]
    assert november.adjustment_total == -1200
    # November: 1 card × 110 + 660 − 1,200 (no usage)
    assert november.total == 110 + 660 - 1200
    close_billing_run("2026-11", ACTOR)
    db.session.expire_all()
    november = invoice_of(db, m1, "2026-11")
    assert db.session.get(InvoiceAdjustment, adjustment.id).billed_invoice_id == november.id
    assert [a.id for a in adjustments_for(original.id)] == [adjustment.id]
    assert [a.id for a in adjustments_for(november.id)] == [adjustment.id]
    original = db.session.get(Invoice, original.id)
    assert (original.total, original.status, original.number) == before
    assert november.number == "00000003"  # 2 in October, then M001 and M002 in November
    run_billing("2026-12")  # billed once: not again in December
    assert all(l.kind != "adjustment" for l in lines_of(db, invoice_of(db, m1, "2026-12")))


def test_reissue_cancels_the_original_and_links_the_corrected_invoice(db, october, tmp_path):
    m1 = october["m1"]
    run_billing("2026-10")
    close_billing_run("2026-10", ACTOR)
    original = invoice_of(db, m1, "2026-10")
    amounts = (original.usage_total, original.discount_total, original.fee_total, original.total)
    # The October 組合員管理料 was wrong: a tariff fix (600円), then a corrected invoice.
    load_tariff(tmp_path, TARIFF.replace("amount: 660", "amount: 600"), "fixed.yaml")
    corrected = reissue_invoice(original.id, "組合員管理料の誤り", "課長")
    db.session.expire_all()
    original = db.session.get(Invoice, original.id)
    corrected = db.session.get(Invoice, corrected.id)
    assert (original.status, original.cancelled_by_invoice_id) == (CANCELLED, corrected.id)
    assert (original.usage_total, original.discount_total, original.fee_total, original.total) == amounts
    assert (corrected.kind, corrected.status, corrected.corrects_invoice_id) == (CORRECTED, ISSUED, original.id)
    assert corrected.number == "00000003"
    assert corrected.total == original.total - 60
    assert corrected.correction_reason == "組合員管理料の誤り"
    assert corrected.debit_date == original.debit_date
    assert [l.description for l in lines_of(db, corrected)] == [l.description for l in lines_of(db, original)]
    with pytest.raises(DomainError, match="取り消されています"):
        reissue_invoice(original.id, "もう一度", ACTOR)
    numbers = sorted(db.session.scalars(select(Invoice.number)))
    assert numbers == ["00000001", "00000002", "00000003"]
    # the review and the list count the corrected invoice, not the cancelled one
    assert [(r.member_code, r.number) for r in review("2026-10").rows] == [("M001", "00000003"), ("M002", "00000002")]


def test_blocking_warnings_stop_the_close(db, october):
    m1, m2 = october["m1"], october["m2"]
    bad = add_usage(db, "2026-10", [("9999990000000001", "NEXCO東日本", 3000, None, FLAG_UNREGISTERED_CARD),
                                    (october["c2"], "NEXCO東日本", 500, None, FLAG_USED_AFTER_LOSS)])
    with acting_as(ACTOR):
        member = db.session.get(Member, m1.id)
        member.account_number = None
        db.session.commit()
    run_billing("2026-10")
    codes = {w.code: (w.count, w.blocking) for w in billing_warnings("2026-10")}
    assert codes["unregistered_card"] == (1, True)
    assert codes["incomplete_bank_account"] == (1, True)
    assert codes["used_after_loss"] == (1, False)
    with pytest.raises(DomainError) as refused:
        close_billing_run("2026-10", ACTOR)
    assert "未登録カード" in refused.value.message and "M001" in refused.value.message
    assert db.session.scalar(select(func.count()).select_from(Invoice).where(Invoice.number.is_not(None))) == 0
    assert not review("2026-10").can_close

    with acting_as(ACTOR):
        delete_batch(bad.id)
        member = db.session.get(Member, m1.id)
        member.account_number = "1234567"
        db.session.commit()
    with pytest.raises(DomainError, match="再計算してから締めて"):  # the draft no longer matches its inputs
        close_billing_run("2026-10", ACTOR)
    run_billing("2026-10")
    assert review("2026-10").can_close
    close_billing_run("2026-10", ACTOR)
    assert invoice_of(db, m2, "2026-10").number == "00000002"


def test_no_draft_and_earlier_open_month_refuse_the_close(db, october):
    with pytest.raises(DomainError, match="下書きがありません"):
        close_billing_run("2026-10", ACTOR)
    run_billing("2026-10")
    run_billing("2026-11")
    with pytest.raises(DomainError, match="2026-10"):
        close_billing_run("2026-11", ACTOR)


def test_tax_is_computed_once_per_rate_per_invoice(db, tmp_path):
    load_tariff(tmp_path, """
    rules:
      - {id: fee_issue, type: event_fee, label: 発行手数料, event: issue, amount: 105}
      - {id: fee_add, type: event_fee, label: 追加発行手数料, event: add, amount: 105}
    """)
    member = make_member(db, "M010", "三枚運送")
    for number in ("2000010000000011", "2000010000000029", "2000010000000037"):
        make_card(db, member, number)
    run_billing("2026-10")
    invoice = invoice_of(db, member, "2026-10")
    assert [l.amount for l in lines_of(db, invoice)] == [105, 105, 105]
    # 315 × 10/110 = 28.6 → 28 once; per line it would be 9 × 3 = 27
    assert (invoice.total, invoice.tax_amount) == (315, 28)
    subtotals = db.session.scalars(select(InvoiceTaxSubtotal).where(InvoiceTaxSubtotal.invoice_id == invoice.id)).all()
    assert [(s.category, s.total_including_tax, s.tax) for s in subtotals] == [("10%", 315, 28)]


def test_effective_dates_bill_september_and_october_differently(db, tmp_path):
    load_tariff(tmp_path)
    member = make_member(db, "M020", "月替り物流")
    card = make_card(db, member, "3000010000000011", valid_from=dt.date(2026, 9, 1))
    add_usage(db, "2026-09", [(card, "NEXCO東日本", 10000)])
    add_usage(db, "2026-10", [(card, "NEXCO東日本", 10000)])
    assert [r.params["amount"] for r in rules_for_month("2026-09") if r.rule_id == "member_monthly"] == [500]
    run_billing("2026-09")
    close_billing_run("2026-09", ACTOR)
    run_billing("2026-10")
    sep, oct_ = invoice_of(db, member, "2026-09"), invoice_of(db, member, "2026-10")
    fee = lambda inv: [l.amount for l in lines_of(db, inv) if l.rule_id == "member_monthly"]  # noqa: E731
    assert fee(sep) == [500] and fee(oct_) == [660]
    assert sep.fee_total == 500 + 110 + 629  # the issue fee was billed in September
    assert oct_.fee_total == 660 + 110
    assert oct_.total - sep.total == 660 - 500 - 629


def test_contract_discount_is_passed_on_pro_rata(db, tmp_path):
    load_tariff(tmp_path)
    big = make_member(db, "M030", "大口運輸")
    small = make_member(db, "M031", "小口運輸")
    a = make_card(db, big, "4000010000000011")
    b = make_card(db, big, "4000010000000029")
    c = make_card(db, small, "4000020000000011")
    add_usage(db, "2026-10", [(a, "NEXCO東日本", 3000000), (b, "NEXCO中日本", 2000000), (c, "NEXCO西日本", 1000000)])
    run_billing("2026-10")
    run = db.session.scalar(select(BillingRun))
    # 6,000,000円 > 5,000,000 and 2,000,000 average > 30,000 → 10% = 600,000; shares 500,000 / 100,000, × 0.8
    assert run.contract_discount_total == 600000
    share = lambda m: [l.amount for l in lines_of(db, invoice_of(db, m, "2026-10"))  # noqa: E731
                       if l.rule_id == "contract_share"]
    assert share(big) == [-400000] and share(small) == [-80000]


def test_invoice_list_and_its_excel_export(db, october, tmp_path):
    run_billing("2026-10")
    rows = invoice_list_rows("2026-10")
    assert rows == [["M001", "株式会社山田運輸", "（締め前）", 45000, 6000, 1399, 0, 3672, 40399],
                    ["M002", "髙橋物流有限会社", "（締め前）", 12000, 240, 1509, 0, 1206, 13269],
                    ["合計", "2件", "", 57000, 6240, 2908, 0, 4878, 53668]]
    close_billing_run("2026-10", ACTOR)
    path = tmp_path / "list.xlsx"
    assert export_invoice_list("2026-10", path) == 2
    sheet = load_workbook(path).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == ["組合員コード", "組合員名", "請求書番号", "利用額", "割引額", "手数料", "訂正額", "消費税", "請求金額"]
    assert values[1] == ["M001", "株式会社山田運輸", "00000001", 45000, 6000, 1399, 0, 3672, 40399]
    assert values[3][0] == "合計" and values[3][8] == 53668
    assert sheet.cell(row=2, column=9).number_format == "#,##0"


def test_review_compares_with_last_month(db, october):
    run_billing("2026-10")
    close_billing_run("2026-10", ACTOR)
    run_billing("2026-11")
    result = review("2026-11")
    first = result.rows[0]
    assert (first.member_code, first.total, first.last_month_total) == ("M001", 770, 40399)
    assert first.difference == 770 - 40399
    assert result.totals.invoice_count == 2
    october_review = review("2026-10")
    assert october_review.totals.operator_discounts_received == 7800
    assert october_review.totals.total == 53668


def test_operator_check_and_margin(db, october, tmp_path):
    run_billing("2026-10")
    csv = tmp_path / "nexco-2026-10.csv"
    csv.write_text("利用月,道路事業者,カード番号,割引額\n"
                   f"2026-10,NEXCO,{C1},7400\n", encoding="utf-8")
    with acting_as(ACTOR):
        assert "1件" in import_operator_discounts(csv)
    check = operator_check("2026-10")
    rows = {(r.rule_id, r.card_number): r for r in check.rows}
    one = rows[("nexco_vehicle", C1)]
    assert (one.discount_base, one.computed, one.reported, one.difference) == (40000, 7500, 7400, -100)
    two = rows[("nexco_vehicle", C2)]
    assert (two.computed, two.reported, two.difference) == (300, None, None)
    assert check.differences == 1
    assert check.received == 7400 + 300 + 0
    assert check.passed_on == 6240
    assert check.fees == 1399 + 1509
    assert check.margin == check.received - 6240 + 2908
    bad = tmp_path / "bad.csv"
    bad.write_text("利用月,道路事業者,カード番号,割引額\n2026-13,NEXCO,12,abc\n", encoding="utf-8")
    with pytest.raises(OperatorDiscountImportRefused) as refused:
        import_operator_discounts(bad)
    assert "2行目 利用月" in refused.value.errors[0]


def test_tariff_export_import_round_trip_and_errors(db, tmp_path):
    load_tariff(tmp_path)
    exported = tmp_path / "export.yaml"
    export_tariff(exported)
    before = rules_for_month("2026-10")
    with acting_as(ACTOR):
        import_tariff(exported)
    assert [(r.rule_id, r.valid_from, r.params) for r in rules_for_month("2026-10")] == [
        (r.rule_id, r.valid_from, r.params) for r in before]
    broken = tmp_path / "broken.yaml"
    broken.write_text(TARIFF.replace('rate: "0.10"', 'rate: "10"').replace("amount: 110", "amount: -1")
                      .replace("valid_to: 2026-09-30", "valid_to: 2026-10-31"), encoding="utf-8")
    with pytest.raises(TariffImportRefused) as refused:
        import_tariff(broken)
    text = "\n".join(refused.value.errors)
    assert "nexco_contract" in text and "card_monthly" in text and "重なっています" in text
    assert len(rules_for_month("2026-10")) == len(before)  # nothing changed


def test_default_tariff_is_loaded_when_empty(db):
    from app.services.tariff import ensure_default_tariff

    with acting_as(ACTOR):
        assert ensure_default_tariff() is True
        assert ensure_default_tariff() is False
    assert {r.rule_id for r in rules_for_month("2026-10")} >= {"nexco_vehicle", "member_monthly"}


def test_operator_settings_move_the_dates(db, october):
    with acting_as(ACTOR):
        settings = db.session.scalar(select(OperatorSettings))
        settings.invoice_day, settings.debit_day, settings.debit_month_offset = 25, 27, 1
        db.session.commit()
    run_billing("2026-10")
    close_billing_run("2026-10", ACTOR)
    one = invoice_of(db, october["m1"], "2026-10")
    assert one.invoice_date == dt.date(2026, 11, 25)
    assert one.debit_date == dt.date(2026, 11, 27)

"""A closed month for the document tests, built through the real services: tariff import, members and
cards, a usage file imported with the tollbook-csv profile, the draft, the close. Every amount the
documents print can be read back from the database the services wrote."""
import datetime as dt
import itertools
import subprocess
from pathlib import Path

from sqlalchemy import select

from app.models import Member, OperatorSettings
from app.models.billing import Invoice
from app.services.actor import acting_as
from app.services.billing.close import close_billing_run
from app.services.billing.draft import run_billing
from app.services.usage_import import import_usage_file

from .test_billing import ACTOR, TARIFF, load_tariff, make_card, make_member

MONTH = "2026-10"
C1, C2, C3 = "1000010000000011", "1000010000000029", "1000020000000021"
REGISTRATION = "T7000012050002"
LONG_NAME = "株式会社髙橋ロジスティクス・ホールディングス東日本広域幹線輸送センター首都圏第二営業所"
OPERATOR_NAME = "東京運輸事業協同組合"

# 関空橋税 (etc-domain.md §7.1): 不課税, shown apart from the 10% tolls.
DOC_TARIFF = TARIFF + """
  - id: kanku
    type: non_taxable_usage
    label: 関空橋税（空港連絡橋利用税）
    match:
      remarks: [関空橋税]
"""

HEADER = "カード番号,入口日付,入口時刻,出口日付,出口時刻,入口IC,出口IC,道路事業者,車種,割引前料金,割引額,通行料金,備考"


def usage_csv(rows) -> str:
    return "\n".join([HEADER, *(",".join(str(v) for v in row) for row in rows)]) + "\n"


def usage_rows_for(card: str, count: int, start=dt.datetime(2026, 10, 1, 6, 5)):
    """`count` passages of one card through October, each a known amount."""
    ics = itertools.cycle((("東京", "厚木"), ("厚木", "名古屋"), ("名古屋", "吹田"), ("浦和", "川口")))
    rows = []
    for i in range(count):
        entry = start + dt.timedelta(minutes=(i * 30 * 24 * 60) // max(count, 1))
        exit_ = entry + dt.timedelta(minutes=47)
        before = 1000 + (i % 17) * 130
        discount = before * 3 // 10 if exit_.hour < 4 else 0  # 深夜割引 30%
        entry_ic, exit_ic = next(ics)
        rows.append((card, f"{entry:%Y/%m/%d}", f"{entry:%H:%M}", f"{exit_:%Y/%m/%d}", f"{exit_:%H:%M}",
                     entry_ic, exit_ic, "NEXCO中日本", 2, before, discount, before - discount, ""))
    return rows


def set_up_operator(db, logo: bytes | None = None, date_style="seireki"):
    with acting_as(ACTOR):
        settings = db.session.scalar(select(OperatorSettings))
        settings.name = OPERATOR_NAME
        settings.postal_code, settings.address, settings.phone = "100-0005", "東京都千代田区丸の内一丁目1番1号", "03-1234-5678"
        settings.registration_number = REGISTRATION
        settings.bank_code, settings.bank_name, settings.branch_code, settings.branch_name = "0001", "みずほ銀行", "001", "東京営業部"
        settings.account_type, settings.account_number, settings.account_holder_kana = 1, "7654321", "トウキヨウウンユ(キヨウ"
        settings.date_style = date_style
        if logo is not None:
            settings.logo_image, settings.logo_mime = logo, "image/png"
        db.session.commit()


def build_closed_month(db, tmp_path, extra_rows=0, date_style="seireki", logo=None, duplicate=False):
    """M001 (口座振替, long name, two cards, 不課税 row), M002 (振込, one card). Returns dict of ids.
    duplicate: a second file delivers M001's 東京→厚木 trip again (重複の疑い: kept, not billed)."""
    set_up_operator(db, logo, date_style)
    load_tariff(tmp_path, DOC_TARIFF)
    m1 = make_member(db, "M001", LONG_NAME)
    m2 = make_member(db, "M002", "髙橋物流有限会社", payment="bank_transfer", account=False)
    with acting_as(ACTOR):
        for member, postal, address in ((m1, "231-0001", "神奈川県横浜市中区新港二丁目3番4号 横浜みなとみらい物流ビル12階"),
                                        (m2, "460-0008", "愛知県名古屋市中区栄三丁目5番12号")):
            member = db.session.get(Member, member.id)
            member.postal_code, member.address = postal, address
        db.session.commit()
    c1, c2, c3 = make_card(db, m1, C1), make_card(db, m1, C2), make_card(db, m2, C3)
    rows = [
        (C1, "2026/10/03", "02:10", "2026/10/03", "03:05", "東京", "厚木", "NEXCO中日本", 2, 3000, 900, 2100, ""),
        (C1, "2026/10/05", "09:00", "2026/10/05", "11:40", "厚木", "名古屋", "NEXCO中日本", 2, 30000, 0, 30000, ""),
        (C1, "2026/10/08", "14:00", "2026/10/08", "14:30", "りんくうJCT", "関西空港", "西日本高速道路", 2, 900, 0, 900, "関空橋税"),
        (C2, "2026/10/12", "07:15", "2026/10/12", "08:02", "浦和", "川口", "NEXCO東日本", 2, 8000, 0, 8000, ""),
        (C3, "2026/10/20", "22:00", "2026/10/20", "23:10", "名古屋", "吹田", "NEXCO中日本", 2, 12000, 0, 12000, ""),
    ] + usage_rows_for(C2, extra_rows)
    path = Path(tmp_path) / "october.csv"
    path.write_text(usage_csv(rows), encoding="utf-8")
    with acting_as(ACTOR):
        import_usage_file(path, "tollbook-csv", usage_month=MONTH)
        if duplicate:
            again = Path(tmp_path) / "october-again.csv"
            again.write_text(usage_csv(rows[:1]), encoding="utf-8")
            import_usage_file(again, "tollbook-csv", usage_month=MONTH)
    run_billing(MONTH)
    close_billing_run(MONTH, ACTOR)
    invoices = {member_id: invoice_id for member_id, invoice_id in db.session.execute(
        select(Invoice.member_id, Invoice.id).where(Invoice.month == MONTH))}
    return dict(m1=m1.id, m2=m2.id, c1=c1.id, c2=c2.id, c3=c3.id, i1=invoices[m1.id], i2=invoices[m2.id])


def pdftotext(data: bytes, tmp_path, *args) -> str:
    path = Path(tmp_path) / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", *args, str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def pdf_pages(data: bytes, tmp_path) -> int:
    path = Path(tmp_path) / "doc.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def pdffonts(data: bytes, tmp_path) -> str:
    path = Path(tmp_path) / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout

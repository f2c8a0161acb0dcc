"""Issued documents (issue 10 items 2, 3, 6 and "Bad input and faults"), on SQLite and, with
TEST_DATABASE_URL, PostgreSQL: a closed month's documents rendered by the real renderer in a real
process pool, stored with their SHA-256 in a hash chain; the CLI's files; a rerun; a failing member;
a changed byte; the close's blocking checks; corrections; two processes rendering at once."""
import hashlib
import io
import subprocess
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.domain.document_chain import GENESIS, chain_hash
from app.domain.errors import DomainError
from app.models import Invoice, OperatorSettings
from app.models.billing import DRAFT, ISSUED, BillingRun, InvoiceNumberCounter
from app.models.document import FAILED, PENDING, RENDERED, IssuedDocument
from app.services.actor import acting_as
from app.services.billing.close import close_billing_run
from app.services.billing.corrections import reissue_invoice
from app.services.billing.draft import run_billing
from app.services.documents.rendering import render_documents

from .race import race
from .test_billing import ACTOR, add_usage, load_tariff, make_card, make_member

MONTH = "2026-10"
REGISTRATION = "T7000012050002"
CARDS = {"M001": "1000010000000011", "M002": "1000020000000021", "M003": "1000030000000031"}
NAMES = {"M001": "株式会社山田運輸", "M002": "髙橋物流有限会社", "M003": "海野急便株式会社"}
KINDS = ("invoice", "card-statement", "usage-statement", "payment-notice")
FORMATS = ("pdf", "xlsx")


def pdf_text(content: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True,
                          check=True).stdout.decode("utf-8")


def set_registration(db, number=REGISTRATION):
    with acting_as(ACTOR):
        db.session.query(OperatorSettings).first().registration_number = number
        db.session.commit()


def fresh(db):
    """The test's session, reading what other transactions committed (kept: a logged-in test client's user
    lives in it)."""
    db.session.rollback()
    db.session.expire_all()
    return db.session


def _session(db_or_session):
    return getattr(db_or_session, "session", db_or_session)


def documents(db, **where):
    query = select(IssuedDocument).order_by(IssuedDocument.id)
    for column, value in where.items():
        query = query.where(getattr(IssuedDocument, column) == value)
    return _session(db).scalars(query).all()


def contents(db) -> dict[int, bytes]:
    return dict(_session(db).execute(select(IssuedDocument.id, IssuedDocument.content)
                                   .where(IssuedDocument.status == RENDERED)).all())


@pytest.fixture()
def month(db, tmp_path):
    """Three members with an address and a corporate card each, October usage, the operator's 登録番号;
    the month's draft made (not closed)."""
    load_tariff(tmp_path)
    set_registration(db)
    for i, code in enumerate(CARDS, start=1):
        member = make_member(db, code, NAMES[code], payment="bank_transfer" if code == "M002" else "direct_debit",
                             account=code != "M002")
        with acting_as(ACTOR):
            member.postal_code, member.address = f"100-000{i}", f"東京都千代田区丸の内{i}-{i}-{i}"
            db.session.commit()
        card = make_card(db, member, CARDS[code])
        add_usage(db, MONTH, [(card, "NEXCO東日本", 12000 * i), (card, "NEXCO中日本", 3000)], name=f"u-{code}.csv")
    with acting_as(ACTOR):
        run_billing(MONTH)
    return MONTH


@pytest.fixture()
def closed(db, month):
    with acting_as(ACTOR):
        close_billing_run(MONTH, ACTOR)
    return MONTH


def expected_names(codes, kinds, suffix="") -> set:
    return {f"{code}_{kind}_{MONTH}{suffix}.{fmt}" for code in codes for kind in kinds for fmt in FORMATS}


def invoice_numbers(db) -> dict[str, str]:
    from app.models import Member

    return dict(_session(db).execute(select(Member.code, Invoice.number).join(Invoice, Invoice.member_id == Member.id)
                                   .where(Invoice.status == ISSUED)).all())


# ---- the close ------------------------------------------------------------------------------------

def test_the_close_only_requests_documents(db, closed):
    rows = documents(db)
    assert len(rows) == 3 * len(KINDS) * len(FORMATS)
    assert {r.status for r in rows} == {PENDING}
    assert {(r.kind, r.format) for r in rows} == {(k, f) for k in KINDS for f in FORMATS}
    assert all(r.content is None and r.chain_position is None and r.token is None for r in rows)


def test_close_is_blocked_by_a_member_without_address_before_any_number(db, month):
    from app.models import Member

    with acting_as(ACTOR):
        member = db.session.scalar(select(Member).where(Member.code == "M002"))
        member.address = "  "
        db.session.commit()
        run_billing(MONTH)  # the member changed: the draft is recomputed (its inputs changed)
    with pytest.raises(DomainError) as refused, acting_as(ACTOR):
        close_billing_run(MONTH, ACTOR)
    message = refused.value.message
    assert "住所が未登録の組合員があります" in message and "M002 髙橋物流有限会社" in message
    assert "M001" not in message and "M003" not in message
    session = fresh(db)
    assert session.scalar(select(BillingRun.status)) == DRAFT
    assert session.scalars(select(Invoice.number)).all() == [None, None, None]
    assert session.scalar(select(InvoiceNumberCounter.last_value)) in (None, 0)
    assert session.scalar(select(func.count()).select_from(IssuedDocument)) == 0


def test_close_is_blocked_without_the_operators_registration_number(db, month):
    set_registration(db, None)
    with pytest.raises(DomainError) as refused, acting_as(ACTOR):
        close_billing_run(MONTH, ACTOR)
    assert "適格請求書発行事業者登録番号（T＋13桁）が未設定です" in refused.value.message
    assert fresh(db).scalars(select(Invoice.number)).all() == [None, None, None]


def test_the_review_lists_both_as_blocking(db, month):
    from app.models import Member
    from app.services.billing.review import review

    set_registration(db, None)
    with acting_as(ACTOR):
        db.session.scalar(select(Member).where(Member.code == "M003")).address = None
        db.session.commit()
    result = review(MONTH)
    codes = {w.code for w in result.warnings if w.blocking}
    assert {"no_registration_number", "member_without_address"} <= codes
    assert not result.can_close


# ---- rendering ------------------------------------------------------------------------------------

def test_closed_month_renders_every_document_with_its_sha256_in_one_chain(db, closed):
    summary = render_documents(MONTH, processes=2)
    per_invoice = len(KINDS) * len(FORMATS)
    assert summary.rendered == 3 * per_invoice
    assert summary.failed == []
    session = fresh(db)
    rows = session.scalars(select(IssuedDocument).where(IssuedDocument.status == RENDERED)
                           .order_by(IssuedDocument.chain_position)).all()
    assert [r.chain_position for r in rows] == list(range(1, 3 * per_invoice + 1))
    previous = GENESIS
    for row in rows:
        assert row.kind in KINDS and row.attempts == 1 and row.error is None
        assert hashlib.sha256(row.content).hexdigest() == row.sha256 and row.size == len(row.content)
        assert row.chain_hash == chain_hash(previous, row.sha256)
        previous = row.chain_hash
        assert len(row.token) >= 40 and row.issued_at is not None and row.claimed_by is None
        assert row.content.startswith(b"%PDF") if row.format == "pdf" else row.content.startswith(b"PK")
    assert len({r.token for r in rows}) == len(rows)
    numbers = invoice_numbers(session)
    for code in CARDS:
        invoice_pdf = next(r for r in rows if r.member.code == code and r.kind == "invoice" and r.format == "pdf")
        page = pdf_text(invoice_pdf.content)
        assert numbers[code] in page and NAMES[code] in page and REGISTRATION in page


def test_a_rerun_renders_nothing_new(db, closed):
    render_documents(MONTH, processes=2)
    before = fresh(db).execute(select(IssuedDocument.id, IssuedDocument.sha256, IssuedDocument.chain_hash,
                                      IssuedDocument.issued_at).order_by(IssuedDocument.id)).all()
    again = render_documents(MONTH, processes=2)
    assert (again.rendered, again.failed) == (0, [])
    after = fresh(db).execute(select(IssuedDocument.id, IssuedDocument.sha256, IssuedDocument.chain_hash,
                                     IssuedDocument.issued_at).order_by(IssuedDocument.id)).all()
    assert after == before


class BrokenData:
    """Invoice data that no renderer can use: any field read raises (a member whose data is broken).
    Pickled to the worker like real data; the real renderer fails on it there."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise RuntimeError("試験用に壊したデータです")


def breaking(real, broken: int):
    """The batch loader, with the data of invoice `broken` replaced by data the renderer fails on."""
    def loader(session, invoice_ids):
        return {i: BrokenData() if i == broken else data for i, data in real(session, invoice_ids).items()}
    return loader


def test_a_render_failure_marks_that_member_failed_with_the_reason_and_the_others_render(db, closed, monkeypatch):
    import app.documents.data as data_module

    real = data_module.load_invoices_documents
    broken = db.session.scalar(select(Invoice.id).join(Invoice.member).where(Invoice.member.has(code="M002")))
    monkeypatch.setattr(data_module, "load_invoices_documents", breaking(real, broken))
    per_invoice = len(KINDS) * len(FORMATS)
    summary = render_documents(MONTH, processes=2)
    assert summary.rendered == 2 * per_invoice
    assert sorted({f.member_code for f in summary.failed}) == ["M002"] and len(summary.failed) == per_invoice
    session = fresh(db)
    failed = documents(session, status=FAILED)
    assert {r.invoice_id for r in failed} == {broken} and len(failed) == per_invoice
    for row in failed:
        assert "試験用に壊したデータです" in row.error
        assert row.attempts == 2  # tried, then retried once in the same run
        assert row.content is None and row.chain_position is None
    assert len(documents(session, status=RENDERED)) == 2 * per_invoice

    monkeypatch.setattr(data_module, "load_invoices_documents", real)  # the data is fixed
    kept = contents(session)
    rerun = render_documents(MONTH, processes=2)
    assert (rerun.rendered, rerun.failed) == (per_invoice, [])
    session = fresh(db)
    for row in documents(session, invoice_id=broken):
        assert row.status == RENDERED and row.attempts == 3
        assert "試験用に壊したデータです" in row.error  # the reason of the earlier failure is kept
    assert {i: c for i, c in contents(session).items() if i in kept} == kept  # the others untouched


# ---- bytes never change; the chain detects a change ----------------------------------------------

def test_stored_bytes_cannot_be_rewritten(db, closed):
    render_documents(MONTH, processes=2)
    target = documents(fresh(db), kind="invoice", format="pdf")[0]
    target_id, original = target.id, target.content
    for change in (dict(content=b"%PDF-forged"), dict(sha256="0" * 64), dict(chain_position=999)):
        with pytest.raises((IntegrityError, DBAPIError)) as refused:
            db.session.execute(update(IssuedDocument.__table__).where(IssuedDocument.id == target_id).values(**change))
            db.session.commit()
        assert "発行済みの帳票の内容・ハッシュ・チェーンは変更できません" in str(refused.value)
        db.session.rollback()
    assert fresh(db).get(IssuedDocument, target_id).content == original


def test_two_documents_cannot_take_the_same_place_in_the_chain(db, closed):
    """What stops two processes that read the same last link from both appending after it."""
    first, second = documents(db)[:2]
    table = IssuedDocument.__table__
    values = dict(status=RENDERED, content=b"x", size=1, sha256="a" * 64, chain_hash="b" * 64, chain_position=1)
    db.session.execute(update(table).where(table.c.id == first.id).values(token="t1", **values))
    with pytest.raises(IntegrityError):
        db.session.execute(update(table).where(table.c.id == second.id).values(token="t2", **values))
    db.session.rollback()


def tamper(db, document_id: int, content: bytes):
    """What someone with database access could do: drop the guard, change the bytes, put it back."""
    session = db.session
    dialect = session.connection().dialect.name
    if dialect == "postgresql":
        session.execute(text("ALTER TABLE issued_document DISABLE TRIGGER issued_document_keep_bytes"))
        session.execute(update(IssuedDocument.__table__).where(IssuedDocument.id == document_id).values(content=content))
        session.execute(text("ALTER TABLE issued_document ENABLE TRIGGER issued_document_keep_bytes"))
    else:
        ddl = session.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'issued_document_keep_bytes'"))
        session.execute(text("DROP TRIGGER issued_document_keep_bytes"))
        session.execute(update(IssuedDocument.__table__).where(IssuedDocument.id == document_id).values(content=content))
        session.execute(text(ddl))
    session.commit()


def test_verify_documents_names_the_document_with_one_changed_byte(app, db, closed):
    render_documents(MONTH, processes=2)
    runner = app.test_cli_runner()
    good = runner.invoke(args=["etc", "verify-documents"])
    assert good.exit_code == 0, good.output
    stored = 3 * len(KINDS) * len(FORMATS)
    assert f"帳票 {stored}件の SHA-256 とハッシュチェーンを確認しました。発行後に変わった帳票はありません。" in good.output

    kind = KINDS[-1]
    target = fresh(db).scalar(select(IssuedDocument).join(IssuedDocument.member)
                              .where(IssuedDocument.member.has(code="M003"), IssuedDocument.kind == kind,
                                     IssuedDocument.format == "pdf"))
    original = target.content
    changed = bytearray(original)
    changed[len(changed) // 2] ^= 0x01  # one bit of one byte
    tamper(db, target.id, bytes(changed))
    bad = runner.invoke(args=["etc", "verify-documents"])
    assert bad.exit_code == 1
    assert f"帳票 {target.id}（チェーン位置 {target.chain_position}、M003 {MONTH} {kind}.pdf" in bad.output
    assert "内容のSHA-256が発行時の記録と一致しません" in bad.output
    named = [line for line in bad.output.splitlines() if line.startswith("  帳票 ")]
    assert len(named) == 1  # only that document

    tamper(db, target.id, original)
    assert runner.invoke(args=["etc", "verify-documents"]).exit_code == 0


# ---- the command ----------------------------------------------------------------------------------

def test_documents_command_writes_every_file_with_the_contract_names(app, db, closed, tmp_path):
    out = tmp_path / "out"
    result = app.test_cli_runner().invoke(args=["etc", "documents", MONTH, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "作成できなかった帳票が" not in result.output, result.output
    assert {p.name for p in out.iterdir()} == expected_names(CARDS, KINDS)
    session = fresh(db)
    stored = {(r.member.code, r.kind, r.format): r for r in documents(session)}
    total = 0
    for path in out.iterdir():
        code, kind, rest = path.name.split("_")
        row = stored[(code, kind, rest.rsplit(".", 1)[1])]
        assert path.read_bytes() == row.content
        assert hashlib.sha256(path.read_bytes()).hexdigest() == row.sha256
        total += path.stat().st_size
    count = 3 * len(KINDS)
    assert (f"{MONTH} の帳票 {2 * count}件（PDF {count}件・Excel {count}件、合計 {total:,}バイト）を {out} に書き出しました。"
            in result.output)
    assert f"{MONTH} の帳票を {2 * count}件作成しました" in result.output  # rendered first

    again = app.test_cli_runner().invoke(args=["etc", "documents", MONTH, "-o", str(out)])
    assert "件作成しました" not in again.output  # nothing left to render
    assert f"合計 {total:,}バイト" in again.output


def test_documents_command_refuses_an_open_month(app, db, month, tmp_path):
    result = app.test_cli_runner().invoke(args=["etc", "documents", MONTH, "-o", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert f"{MONTH} はまだ締められていません" in result.output
    assert not (tmp_path / "x").exists()


def test_a_corrected_invoice_gets_new_documents_naming_the_replaced_ones(app, db, closed, tmp_path):
    render_documents(MONTH, processes=2)
    original = fresh(db).scalar(select(Invoice).where(Invoice.member.has(code="M001"), Invoice.status == ISSUED))
    originals = {(r.kind, r.format): (r.id, r.content) for r in documents(db, invoice_id=original.id)}
    number = original.number
    with acting_as(ACTOR):
        corrected = reissue_invoice(original.id, "住所の誤り", ACTOR)
        corrected_id, corrected_number = corrected.id, corrected.number
    session = fresh(db)
    new = documents(session, invoice_id=corrected_id)
    assert len(new) == len(KINDS) * len(FORMATS) and {r.status for r in new} == {PENDING}
    for row in new:
        assert row.replaces_document_id == originals[(row.kind, row.format)][0]
    out = tmp_path / "out"
    result = app.test_cli_runner().invoke(args=["etc", "documents", MONTH, "-o", str(out)])
    assert "作成できなかった帳票が" not in result.output, result.output
    assert f"{MONTH} の帳票 {4 * len(KINDS) * len(FORMATS)}件" in result.output  # 3 current + 1 cancelled
    assert {p.name for p in out.iterdir()} == (expected_names(CARDS, KINDS)
                                              | expected_names(["M001"], KINDS, f"_cancelled-{number}"))
    session = fresh(db)
    current = {(r.kind, r.format): r for r in documents(session, invoice_id=corrected_id)}
    for kind in KINDS:
        for fmt in FORMATS:
            assert (out / f"M001_{kind}_{MONTH}.{fmt}").read_bytes() == current[(kind, fmt)].content
            assert ((out / f"M001_{kind}_{MONTH}_cancelled-{number}.{fmt}").read_bytes()
                    == originals[(kind, fmt)][1])
    assert corrected_number in pdf_text((out / f"M001_invoice_{MONTH}.pdf").read_bytes())


# ---- two processes at once ------------------------------------------------------------------------

def test_two_processes_rendering_the_same_month_give_one_set_of_documents(db, closed, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    outcomes = race(tmp_path, ("cli", "documents", MONTH, "-o", first, "--processes", "1"),
                    ("cli", "documents", MONTH, "-o", second, "--processes", "1"), timeout=300)
    count = 3 * len(KINDS)
    for outcome in outcomes:
        assert outcome.code == 0, outcome.stderr
        assert "Traceback" not in outcome.stderr
        assert f"{MONTH} の帳票 {2 * count}件（PDF {count}件・Excel {count}件" in outcome.stdout
    session = fresh(db)
    rows = documents(session, status=RENDERED)
    assert len(rows) == 2 * count and {r.kind for r in rows} == set(KINDS)
    assert [r.attempts for r in rows] == [1] * len(rows)  # each rendered and stored once
    assert sorted(r.chain_position for r in rows) == list(range(1, 2 * count + 1))
    a = {p.name: p.read_bytes() for p in first.iterdir()}
    b = {p.name: p.read_bytes() for p in second.iterdir()}
    assert a == b and set(a) == expected_names(CARDS, KINDS)
    from app.services.documents.chain import verify_documents

    assert verify_documents().ok


# ---- screens --------------------------------------------------------------------------------------

def test_month_zip_and_merged_pdf_with_mailing_list(staff_client, db, closed):
    from pypdf import PdfReader

    render_documents(MONTH, processes=2)
    response = staff_client.get(f"/documents/month/{MONTH}/zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert set(archive.namelist()) == expected_names(CARDS, KINDS)
    stored = {(r.member.code, r.kind, r.format): r.content for r in documents(fresh(db))}
    assert archive.read(f"M002_invoice_{MONTH}.pdf") == stored[("M002", "invoice", "pdf")]

    merged = staff_client.get(f"/documents/month/{MONTH}/invoices.pdf")
    assert merged.status_code == 200 and merged.data.startswith(b"%PDF")
    assert "filename*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8" in merged.headers["Content-Disposition"]
    pages = [len(PdfReader(io.BytesIO(stored[(code, "invoice", "pdf")])).pages) for code in CARDS]
    reader = PdfReader(io.BytesIO(merged.data))
    assert len(reader.pages) == 1 + sum(pages)  # the 宛名一覧 (one page for three members), then the invoices
    cover = pdf_text(merged.data).split("\f")[0]
    assert "宛名一覧" in cover
    for i, code in enumerate(CARDS, start=1):
        assert f"〒100-000{i}" in cover and f"東京都千代田区丸の内{i}-{i}-{i}" in cover and f"{NAMES[code]} 御中" in cover
    numbers = invoice_numbers(fresh(db))
    text_pages = pdf_text(merged.data).split("\f")
    order = [next(i for i, t in enumerate(text_pages) if numbers[code] in t and i > 0) for code in CARDS]
    assert order == sorted(order)  # member-code order

    mailing = staff_client.get(f"/documents/month/{MONTH}/mailing.xlsx")
    sheet = load_workbook(io.BytesIO(mailing.data)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["組合員コード", "郵便番号", "住所", "宛名", "請求書番号", "ページ数"]
    assert rows[1] == ["M001", "100-0001", "東京都千代田区丸の内1-1-1", f"{NAMES['M001']} 御中", numbers["M001"], pages[0]]


def test_invoice_screen_offers_pdf_and_excel_of_the_stored_documents(staff_client, db, closed):
    render_documents(MONTH, processes=2)
    invoice = fresh(db).scalar(select(Invoice).where(Invoice.member.has(code="M001")))
    page = staff_client.get(f"/invoices/show/{invoice.id}").get_data(as_text=True)
    assert "発行した帳票" in page
    for kind in KINDS:
        for fmt in FORMATS:
            assert f'id="download-{kind}-{fmt}"' in page
    stored = {(r.kind, r.format): r for r in documents(fresh(db), invoice_id=invoice.id)}
    pdf = staff_client.get(f"/documents/download/{stored[('invoice', 'pdf')].id}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data == stored[("invoice", "pdf")].content
    # 請求書_M001_2026-10.pdf, percent-encoded UTF-8 (RFC 5987)
    assert ("filename*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8_M001_2026-10.pdf"
            in pdf.headers["Content-Disposition"])
    xlsx = staff_client.get(f"/documents/download/{stored[('invoice', 'xlsx')].id}")
    assert xlsx.data == stored[("invoice", "xlsx")].content and xlsx.data.startswith(b"PK")


def test_billing_screen_shows_the_documents_progress_and_failures(manager_client, db, closed, monkeypatch):
    import app.documents.data as data_module

    page = manager_client.get(f"/billing/month/{MONTH}").get_data(as_text=True)
    assert 'id="documents-panel"' in page and "作成済 <strong id=\"documents-rendered\">0</strong>" in page
    broken = db.session.scalar(select(Invoice.id).where(Invoice.member.has(code="M002")))
    monkeypatch.setattr(data_module, "load_invoices_documents", breaking(data_module.load_invoices_documents, broken))
    render_documents(MONTH, processes=2)
    total, per_invoice = 3 * len(KINDS) * len(FORMATS), len(KINDS) * len(FORMATS)
    rendered, failed = 2 * per_invoice, per_invoice
    page = manager_client.get(f"/billing/month/{MONTH}").get_data(as_text=True)
    assert f"作成済 <strong id=\"documents-rendered\">{rendered}</strong>" in page
    start = page.index('id="documents-failures"')
    failures = page[start:page.index("</table>", start)]
    assert "M002 髙橋物流有限会社" in failures and "試験用に壊したデータです" in failures and "M001" not in failures
    status = manager_client.get(f"/documents/month/{MONTH}/status").get_json()
    assert (status["total"], status["rendered"], status["failed"], status["pending"]) == (
        total, rendered, failed, total - rendered - failed)
    runs = manager_client.get("/billing/").get_data(as_text=True)
    assert f"{rendered} / {total}件" in runs and f"失敗 {failed}件" in runs


def test_search_by_date_amount_and_member_exports_to_excel(staff_client, db, closed):
    render_documents(MONTH, processes=2)
    per_invoice = len(KINDS) * len(FORMATS)
    totals = dict(fresh(db).execute(select(Invoice.number, Invoice.total)).all())
    invoice = fresh(db).scalar(select(Invoice).where(Invoice.member.has(code="M003")))
    day = invoice.invoice_date.isoformat()
    query = {"date_from": day, "date_to": day, "amount_min": f"{invoice.total:,}", "amount_max": str(invoice.total)}
    page = staff_client.get("/documents/", query_string=query).get_data(as_text=True)
    assert f'id="search-count">{per_invoice}件' in page and invoice.number in page
    assert page.count('data-document="') == per_invoice
    none = staff_client.get("/documents/", query_string={"date_from": day, "amount_min": str(invoice.total + 1)})
    assert 'id="search-count">0件' in none.get_data(as_text=True)
    reversed_range = staff_client.get("/documents/", query_string={**query, "amount_min": str(invoice.total + 1)})
    assert "請求金額の範囲が逆です（から ≦ まで）。" in reversed_range.get_data(as_text=True)
    by_member = staff_client.get("/documents/", query_string={"member": "髙橋", "kind": "invoice"})
    assert by_member.get_data(as_text=True).count('data-document="') == 2  # PDF and Excel
    export = staff_client.get("/documents/export/", query_string={"member": "M003"})
    sheet = load_workbook(io.BytesIO(export.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:8] == ("請求日", "請求書番号", "組合員コード", "組合員名", "利用月", "帳票", "形式", "請求金額")
    assert len(rows) == 1 + per_invoice
    assert {r[1] for r in rows[1:]} == {invoice.number} and {r[7] for r in rows[1:]} == {totals[invoice.number]}
    stored = {r.sha256 for r in documents(fresh(db), invoice_id=invoice.id, status=RENDERED)}
    assert {r[10] for r in rows[1:]} == stored
    bad = staff_client.get("/documents/", query_string={"date_from": "2026-13-01"})
    assert "請求日（から）は 2026-11-20 の形で入力してください。" in bad.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/documents/", "/documents/export/", "/documents/download/{id}",
                                 f"/documents/month/{MONTH}/zip", f"/documents/month/{MONTH}/invoices.pdf",
                                 f"/documents/month/{MONTH}/mailing.xlsx", f"/documents/month/{MONTH}/status"])
def test_members_never_reach_issued_documents(client, db, closed, url):
    from tests.conftest import MEMBER_PASSWORD, login

    from app.extensions import appbuilder
    from app.models import MemberAccount

    render_documents(MONTH, processes=1, kinds=("invoice",), formats=("pdf",))
    document = documents(fresh(db), status=RENDERED)[0]
    with acting_as(ACTOR):  # member1 is the portal login of the document's own member
        db.session.add(MemberAccount(user_id=appbuilder.sm.find_user(username="member1").id,
                                     member_id=document.member_id))
        db.session.commit()
    login(client, "member1", MEMBER_PASSWORD)
    response = client.get(url.format(id=document.id))
    assert response.status_code in (302, 403, 404)
    assert document.content not in response.data and b"%PDF" not in response.data
    render = client.post(f"/documents/month/{MONTH}/render")
    assert render.status_code in (302, 403, 404)


def test_the_billing_screens_button_renders_in_a_background_job(manager_client, db, closed):
    """The web process's job (a thread, workers from a fork server): the button answers at once."""
    from app.jobs.documents import wait_until_idle

    response = manager_client.post(f"/documents/month/{MONTH}/render")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/billing/month/{MONTH}")
    assert wait_until_idle(300)
    session = fresh(db)
    assert {r.kind for r in documents(session, status=RENDERED)} == set(KINDS)
    assert len(documents(session, status=RENDERED)) == 3 * len(KINDS) * len(FORMATS)
    from app.services.documents.chain import verify_documents

    assert verify_documents().ok

"""Documents benchmark (docs/performance.md, "Documents"): 1,000 one-page invoices rendered by Tollbook's
batch against xhtml2pdf alone, in one run, on one database (SQLite by default).

1. schema by the real migrations, then (not timed) 1,000 members with an address and one ETC card each, a few
   passages per card in 2026-10 (a one-page invoice), the draft and the close (timed for the record);
2. the SAME HTML for the plain loop: each invoice's data read (app.documents.data) and turned into the
   invoice's HTML by the renderer's own template code (not timed), checked to be one page;
3. plain loop (timed): `pisa.CreatePDF` on each HTML, one after the other, in this process (one core);
4. Tollbook's batch (timed): `render_documents(month, processes=2, kinds=("invoice",), formats=("pdf",))`:
   claims, reads each invoice's data from the database, renders in 2 worker processes, stores the bytes,
   their SHA-256 and the hash chain, in the parent; then `verify_documents()` must pass;
5. report: speedup = plain seconds / batch seconds (target ≥ 1.8 on 2 cores), and the per-document overhead =
   the batch parent's CPU seconds per document (database reads, pickling, storage, hashing) / the plain loop's
   seconds per document (target ≤ 15 %); also every process's CPU per document against the plain loop's.

    .venv/bin/python bench/bench_documents.py                    # 1,000 invoices, SQLite, ~3–5 minutes
    .venv/bin/python bench/bench_documents.py --invoices 200     # a quick run
    .venv/bin/python bench/bench_documents.py --db postgresql    # BENCH_PG_URL, database tollbook_bench_documents
    .venv/bin/python bench/bench_documents.py --invoices 300 --profile /tmp/docs.prof   # where the parent's time goes

The machine is shared while this runs: the load average before and after is printed with the figures.
"""
import argparse
import datetime as dt
import io
import os
import resource
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_DB = os.environ.get("BENCH_PG_DB", "tollbook_bench_documents")
MONTH = "2026-10"
sys.path.insert(0, str(BENCH))
from bench_billing import _app  # noqa: E402  (the same app set-up: instance under bench/out)


def generate(connection, members: int, passages: int = 4) -> None:
    """Members with an address and a credit card each, `passages` passages per card in the month."""
    from app.services.bulk import bulk_insert

    now = dt.datetime(2026, 11, 1, 9, 0)
    iso = connection.dialect.name == "sqlite"

    def ts(value):
        return value.isoformat(sep=" ") if iso and isinstance(value, dt.datetime) else (
            value.isoformat() if iso and isinstance(value, dt.date) else value)

    bulk_insert("member", ["id", "code", "name", "kana", "postal_code", "address", "payment_method", "status",
                           "invoice_by_post", "created_at", "updated_at"],
                [(i, f"M{i:05d}", f"ベンチ運輸株式会社 第{i}営業所", "ベンチウンユ", f"100-{i % 10000:04d}",
                  f"東京都千代田区丸の内{i % 9 + 1}-{i % 20 + 1}-{i % 30 + 1}", "bank_transfer", "active", True,
                  ts(now), ts(now)) for i in range(1, members + 1)], connection)
    bulk_insert("card", ["id", "number", "kind", "issuer", "member_id", "valid_from", "valid_until", "status",
                         "created_at", "updated_at"],
                [(i, f"4980{i:011d}1", "credit", "ベンチカード", i, ts(dt.date(2024, 4, 1)), ts(dt.date(2029, 4, 30)),
                  "active", ts(now), ts(now)) for i in range(1, members + 1)], connection)
    profile_id = connection.exec_driver_sql("SELECT id FROM import_profile WHERE name = 'tollbook-csv'").scalar()
    connection.exec_driver_sql(
        "INSERT INTO import_batch (id, file_name, sha256, profile_id, usage_month, row_count, total_billed, "
        f"flagged_count, status, imported_by, imported_at) VALUES (1, 'bench.csv', '{'0' * 64}', {profile_id}, "
        f"'{MONTH}', {members * passages}, 0, 0, 'active', 'bench', '2026-11-01 09:00:00')")
    usage, line = [], 0
    for i in range(1, members + 1):
        for j in range(passages):
            line += 1
            usage.append((1, line, MONTH, f"4980{i:011d}1", i, i, ts(dt.datetime(2026, 10, 1 + (i + j) % 28, 8, j)),
                          None, 1000 + 10 * ((i * 7 + j) % 200), 0, None, 0))
    bulk_insert("usage_record", ["batch_id", "line_no", "usage_month", "card_number", "card_id", "member_id",
                                 "exit_at", "road_operator", "amount_billed", "discount", "remarks", "flags"],
                usage, connection)
    if connection.dialect.name == "postgresql":
        for table in ("member", "card", "import_batch"):
            connection.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                       f"(SELECT MAX(id) FROM {table}))")


def invoice_html(data) -> str:
    """The invoice's HTML exactly as the renderer hands it to xhtml2pdf for a one-page invoice: its own context
    and template (app/documents/render.py paged_pdf, with the expected page total of 1)."""
    from app.documents import html, render

    context = render._invoice_context(data, render.document_title("invoice", data))
    return html.render_html("invoice.html", {**context, "page_total": 1})


def run(url: str, invoices: int, processes: int, profile: str | None = None) -> dict:
    app = _app(url)
    from pypdf import PdfReader
    from sqlalchemy import func, select
    from xhtml2pdf import pisa

    from app.documents.data import load_invoice_documents
    from app.documents.pdf import register_font
    from app.extensions import db
    from app.models import Invoice, IssuedDocument, OperatorSettings
    from app.services.actor import acting_as
    from app.services.billing.close import close_billing_run
    from app.services.billing.draft import run_billing
    from app.services.documents.chain import verify_documents
    from app.services.documents.rendering import render_documents
    from app.services.setup import initialize

    result = {"db": "postgresql" if url.startswith("postgresql") else "sqlite", "invoices": invoices,
              "processes": processes, "cpus": os.cpu_count(), "load_before": os.getloadavg()}
    with app.app_context(), acting_as("bench"):
        initialize("bench-admin-1")
        settings = db.session.query(OperatorSettings).first()
        settings.name, settings.registration_number = "ベンチ事業協同組合", "T7000012050002"
        settings.postal_code, settings.address, settings.phone = "100-0005", "東京都千代田区丸の内1-1-1", "03-0000-0000"
        db.session.commit()
        with db.engine.begin() as connection:
            generate(connection, invoices)
        run_billing(MONTH)
        started = time.perf_counter()
        close_billing_run(MONTH, "bench")
        result["close_seconds"] = time.perf_counter() - started

        ids = db.session.scalars(select(Invoice.id).where(Invoice.month == MONTH).order_by(Invoice.number)).all()
        assert len(ids) == invoices, (len(ids), invoices)
        htmls = [invoice_html(load_invoice_documents(db.session, i)) for i in ids]
        db.session.rollback()
        register_font()
        sample = io.BytesIO()
        pisa.CreatePDF(htmls[0], dest=sample, encoding="utf-8")  # warm: the first rendering loads ReportLab's caches
        result["pages_first_invoice"] = len(PdfReader(io.BytesIO(sample.getvalue())).pages)

        # plain loop: xhtml2pdf alone, one core
        started, cpu = time.perf_counter(), time.process_time()
        plain_bytes = 0
        for html in htmls:
            out = io.BytesIO()
            status = pisa.CreatePDF(html, dest=out, encoding="utf-8")
            assert not status.err
            plain_bytes += len(out.getvalue())
        result["plain_seconds"] = time.perf_counter() - started
        result["plain_cpu_seconds"] = time.process_time() - cpu
        result["plain_bytes"] = plain_bytes

        # Tollbook's batch: database reads, rendering in worker processes, storage, hashing, chain
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        started, cpu = time.perf_counter(), time.process_time()
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        summary = render_documents(MONTH, processes=processes, kinds=("invoice",), formats=("pdf",))
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        result["batch_seconds"] = time.perf_counter() - started
        result["batch_parent_cpu_seconds"] = time.process_time() - cpu
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        result["batch_workers_cpu_seconds"] = ((after.ru_utime + after.ru_stime)
                                               - (children.ru_utime + children.ru_stime))
        result["rendered"], result["failed"] = summary.rendered, len(summary.failed)
        verification = verify_documents()
        result["verified"] = verification.ok and verification.checked == invoices
        result["stored_bytes"] = int(db.session.scalar(select(func.sum(IssuedDocument.size))) or 0)
    result["load_after"] = os.getloadavg()
    per_plain = result["plain_seconds"] / invoices
    result["speedup"] = result["plain_seconds"] / result["batch_seconds"]
    result["overhead_parent"] = result["batch_parent_cpu_seconds"] / invoices / per_plain
    result["overhead_all_cpu"] = ((result["batch_parent_cpu_seconds"] + result["batch_workers_cpu_seconds"])
                                  / invoices / (result["plain_cpu_seconds"] / invoices)) - 1
    return result


def report(r: dict) -> bool:
    n = r["invoices"]
    print(f"[{r['db']}] {n:,} one-page invoices (first invoice: {r['pages_first_invoice']} page), "
          f"{r['cpus']} CPUs, load average before {r['load_before'][0]:.2f} / after {r['load_after'][0]:.2f}")
    print(f"  close (numbers + 作成待ち rows):      {r['close_seconds']:.2f} s")
    print(f"  plain loop, xhtml2pdf alone, 1 core: {r['plain_seconds']:.1f} s = {1000 * r['plain_seconds'] / n:.0f} ms"
          f"/invoice ({n / r['plain_seconds']:.1f} PDF/s), {r['plain_bytes']:,} bytes")
    print(f"  Tollbook batch, {r['processes']} processes:        {r['batch_seconds']:.1f} s = "
          f"{1000 * r['batch_seconds'] / n:.0f} ms/invoice ({n / r['batch_seconds']:.1f} PDF/s), "
          f"{r['rendered']:,} stored ({r['stored_bytes']:,} bytes), {r['failed']} failed, "
          f"chain verified: {'yes' if r['verified'] else 'NO'}")
    print(f"    parent CPU {r['batch_parent_cpu_seconds']:.1f} s (database, pickling, storage, hashing), "
          f"workers CPU {r['batch_workers_cpu_seconds']:.1f} s")
    speed_ok = r["speedup"] >= 1.8
    overhead_ok = r["overhead_parent"] <= 0.15
    print(f"  speedup batch / plain loop:         {r['speedup']:.2f}×  (target ≥ 1.8×: {'met' if speed_ok else 'NOT met'})")
    print(f"  per-document overhead (parent CPU / plain render): {100 * r['overhead_parent']:.1f} %  "
          f"(target ≤ 15 %: {'met' if overhead_ok else 'NOT met'})")
    print(f"  all CPU of the batch per document vs the plain loop's: {100 * r['overhead_all_cpu']:+.1f} %")
    return r["verified"] and r["failed"] == 0 and r["rendered"] == n


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--profile", metavar="FILE",
                        help="cProfile of the batch's parent process (where the per-document overhead is) into FILE")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    if args.db == "sqlite":
        path = OUT / "bench_documents.db"
        path.unlink(missing_ok=True)
        result = run(f"sqlite:///{path}", args.invoices, args.processes, args.profile)
    else:
        import psycopg

        plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
            conn.execute(f"CREATE DATABASE {PG_DB}")
        try:
            result = run(PG_URL.rsplit("/", 1)[0] + "/" + PG_DB, args.invoices, args.processes, args.profile)
        finally:
            from app.extensions import db

            db.engine.dispose()
            with psycopg.connect(plain, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    sys.exit(0 if report(result) else 1)


if __name__ == "__main__":
    main()

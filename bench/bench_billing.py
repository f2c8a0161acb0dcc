"""Billing benchmark: a month's billing run (app.services.billing.draft.run_billing) against a raw SQL
GROUP BY of the same usage per card, on SQLite and PostgreSQL (docs/performance.md, "Billing run").

For each database (bench/out/bench_billing.db, and a fresh PostgreSQL database
`tollbook_bench_billing` that is dropped afterwards), in one subprocess each:

1. schema by the real migrations (app.services.setup.initialize, which also loads the default
   tariff app/tariffs/default.yaml);
2. data generated straight into the tables (sqlite3 executemany / psycopg COPY; not timed):
   10,000 members, 50,000 vehicles and cards (80% corporate, of which 10% ETC2.0 事業用; 20% credit),
   one 新規発行/追加発行 event per card brought over by the master import (not billed again) and 1,000
   再発行 events in the month (billed), one import batch with 1,000,000 usage rows of 2026-10
   (NEXCO East/Central/West, 首都高, 2% 車両不一致); then ANALYZE (VACUUM ANALYZE on PostgreSQL);
3. timed, in this order: the raw GROUP BY (card_id, road_operator) of the month's rows, fetched;
   run_billing("2026-10") (draft: aggregate, compute 10,000 invoices, write invoices, lines and tax
   subtotals, commit, warnings); run_billing again (a recomputation: delete + write); the close;
4. check: the billed usage total equals the raw total.

    .venv/bin/python bench/bench_billing.py                       # both databases, 1,000,000 rows
    .venv/bin/python bench/bench_billing.py --db sqlite --rows 200000
"""
import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_DB = os.environ.get("BENCH_PG_DB", "tollbook_bench_billing")  # another name when two benchmarks share a server
MONTH = "2026-10"
MASTER_NOTE = "マスタ取込（Excel）"


def _app(url: str):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("TOLLBOOK_INSTANCE", str(OUT / "instance"))
    sys.path.insert(0, str(ROOT))
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url})


def _load(connection, table: str, columns: list[str], rows: list[tuple]) -> None:
    """Bulk load on the app's own connection (app.services.bulk: COPY on PostgreSQL, executemany on SQLite)."""
    from app.services.bulk import bulk_insert

    bulk_insert(table, columns, rows, connection)


def generate(connection, members: int, cards: int, rows: int, seed: int = 20261001) -> dict:
    rng = random.Random(seed)
    now = dt.datetime(2026, 11, 1, 9, 0)
    iso = connection.dialect.name == "sqlite"

    def ts(value):  # SQLite stores DATETIME/DATE as text; psycopg takes the objects
        return value.isoformat(sep=" ") if iso and isinstance(value, dt.datetime) else (
            value.isoformat() if iso and isinstance(value, dt.date) else value)

    # With an address, and the operator with a 登録番号: the close refuses invoices without them (issue 10).
    _load(connection, "member", ["id", "code", "name", "kana", "postal_code", "address", "payment_method", "status",
                                 "bank_code", "bank_name", "branch_code", "branch_name", "account_type",
                                 "account_number", "account_holder_kana", "created_at", "updated_at"],
          [(i, f"M{i:05d}", f"ベンチ運輸{i}", "ベンチウンユ", "100-0005", f"東京都千代田区丸の内1-{i}", "direct_debit",
            "active", "0001", "みずほ", "001", "東京営業部", 1, f"{i:07d}", "ベンチウンユ", ts(now), ts(now))
           for i in range(1, members + 1)])
    connection.exec_driver_sql("UPDATE operator_settings SET registration_number = 'T7000012050002'")
    card_rows, vehicle_rows, event_rows, kinds, owners = [], [], [], {}, {}
    seen_member = set()
    for i in range(1, cards + 1):
        member_id = (i - 1) % members + 1 if i <= members else rng.randint(1, members)
        corporate = rng.random() < 0.8
        vehicle_id = None
        if corporate:
            vehicle_id = i
            commercial = rng.random() < 0.1
            vehicle_rows.append((i, member_id, "品川", "100", "あ", i, rng.randint(1, 5), commercial, commercial,
                                 ts(now), ts(now)))
        number = f"{(1 if corporate else 4):d}{i:014d}1"
        card_rows.append((i, number, "corporate" if corporate else "credit", "NEXCO" if corporate else "ベンチカード",
                          member_id, vehicle_id, ts(dt.date(2024, 4, 1)), ts(dt.date(2029, 4, 30)), "active",
                          ts(now), ts(now)))
        kinds[i], owners[i] = ("corporate" if corporate else "credit", number), member_id
        event_rows.append((i, i, member_id, "add" if member_id in seen_member else "issue", ts(dt.date(2024, 4, 1)),
                           MASTER_NOTE, "bench", ts(now), False))
        seen_member.add(member_id)
    for j in range(1000):  # 再発行 in the month: billed by this run (same card number kept, as a fee only)
        card_id = rng.randint(1, cards)
        day = dt.date(2026, 10, rng.randint(1, 31))
        event_rows.append((cards + j + 1, card_id, owners[card_id], "reissue", ts(day), None, "bench", ts(now), False))
    _load(connection, "vehicle", ["id", "member_id", "plate_region", "plate_class_number", "plate_kana",
                                  "plate_serial", "vehicle_class", "is_etc2", "is_commercial", "created_at",
                                  "updated_at"], vehicle_rows)
    _load(connection, "card", ["id", "number", "kind", "issuer", "member_id", "vehicle_id", "valid_from",
                               "valid_until", "status", "created_at", "updated_at"], card_rows)
    _load(connection, "card_event", ["id", "card_id", "member_id", "kind", "occurred_on", "note", "entered_by",
                                     "entered_at", "fee_billed"], event_rows)
    profile_id = connection.exec_driver_sql("SELECT id FROM import_profile WHERE name = 'tollbook-csv'").scalar()
    connection.exec_driver_sql(
        "INSERT INTO import_batch (id, file_name, sha256, profile_id, usage_month, row_count, total_billed, "
        f"flagged_count, status, imported_by, imported_at) VALUES (1, 'bench.csv', '{'0' * 64}', {profile_id}, "
        f"'{MONTH}', {rows}, 0, 0, 'active', 'bench', '2026-11-01 09:00:00')")
    heavy = list(range(1, cards // 5 + 1))  # 20% of the cards make 60% of the passages
    roads = ["NEXCO東日本"] * 8 + ["NEXCO中日本"] * 5 + ["NEXCO西日本"] * 3 + ["首都高速道路"] * 4
    usage, total = [], 0
    for line_no in range(1, rows + 1):
        card_id = rng.choice(heavy) if rng.random() < 0.6 else rng.randint(1, cards)
        kind, number = kinds[card_id]
        road = rng.choice(roads) if kind == "corporate" else None
        amount = rng.randint(3, 600) * 10
        remarks = "02" if kind == "corporate" and rng.random() < 0.02 else None
        exit_at = dt.datetime(2026, 10, rng.randint(1, 31), rng.randint(0, 23), rng.randint(0, 59))
        usage.append((1, line_no, MONTH, number, card_id, owners[card_id], ts(exit_at), road, amount, 0, remarks, 0))
        total += amount
    _load(connection, "usage_record", ["batch_id", "line_no", "usage_month", "card_number", "card_id", "member_id",
                                       "exit_at", "road_operator", "amount_billed", "discount", "remarks", "flags"],
          usage)
    if connection.dialect.name == "postgresql":
        for table in ("member", "vehicle", "card", "card_event", "import_batch"):
            connection.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                       f"(SELECT MAX(id) FROM {table}))")
    return {"members": members, "cards": cards, "vehicles": len(vehicle_rows), "events": len(event_rows),
            "rows": rows, "total": total}


def worker(url: str, members: int, cards: int, rows: int, profile: str | None = None) -> dict:
    app = _app(url)
    from sqlalchemy import text

    from app.extensions import db
    from app.services.actor import acting_as
    from app.services.billing.close import close_billing_run
    from app.services.billing.draft import run_billing
    from app.services.setup import initialize

    result = {"db": "postgresql" if url.startswith("postgresql") else "sqlite"}
    with app.app_context(), acting_as("bench"):
        initialize("bench-admin-1")
        started = time.perf_counter()
        with db.engine.begin() as connection:
            result["data"] = generate(connection, members, cards, rows)
        # Statistics, hint bits and visibility map as a settled database has them (PostgreSQL would
        # otherwise vacuum the fresh million rows in the background, in the middle of the timings).
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE" if connection.dialect.name == "postgresql" else "ANALYZE")
        result["generate_seconds"] = time.perf_counter() - started

        started = time.perf_counter()
        with db.engine.connect() as connection:
            groups = connection.execute(text(
                "SELECT card_id, road_operator, SUM(amount_billed), COUNT(*) FROM usage_record "
                "WHERE usage_month = :month GROUP BY card_id, road_operator"), {"month": MONTH}).all()
        result["raw_seconds"] = time.perf_counter() - started
        raw_total = sum(int(g[2]) for g in groups)
        result["raw_groups"] = len(groups)

        started, cpu_started = time.perf_counter(), time.process_time()
        if profile:  # --profile FILE: cProfile of the first run (its time then includes the profiler's)
            import cProfile

            profiler = cProfile.Profile()
            summary = profiler.runcall(run_billing, MONTH)
            profiler.dump_stats(profile)
        else:
            summary = run_billing(MONTH)
        result["billing_seconds"] = time.perf_counter() - started
        result["billing_cpu_seconds"] = time.process_time() - cpu_started
        started = time.perf_counter()
        again = run_billing(MONTH)
        result["recompute_seconds"] = time.perf_counter() - started
        result["steps"], result["recompute_steps"] = summary.timings, again.timings
        result["invoices"] = summary.invoice_count
        result["lines"] = db.session.execute(text("SELECT COUNT(*) FROM invoice_line")).scalar()
        result["usage_total"] = summary.usage_total
        result["total"] = summary.total
        result["identical"] = (again.total, again.invoice_count) == (summary.total, summary.invoice_count)
        result["warnings"] = [str(w) for w in summary.warnings]
        result["lines_store_seconds"] = _lines_store_seconds()
        result.update(_review_page(app))
        started = time.perf_counter()
        close_billing_run(MONTH, "bench")
        result["close_seconds"] = time.perf_counter() - started
        result["check"] = summary.usage_total == raw_total == result["data"]["total"]
    result["ratio"] = result["billing_seconds"] / result["raw_seconds"]
    return result


def _lines_store_seconds() -> float:
    """The floor no computation can go below: the database storing the draft's invoice lines again, nothing
    else (no parsing, no Python: `INSERT … SELECT` from a copy of them, indexes and foreign keys as they are),
    in a transaction that is rolled back. Together with the raw `GROUP BY` (the run must read the usage at
    least once) it is the part of the run's ratio that is the database's alone."""
    from app.extensions import db

    with db.engine.connect() as connection:
        connection.exec_driver_sql("CREATE TEMP TABLE bench_lines AS SELECT * FROM invoice_line")
        connection.exec_driver_sql("DELETE FROM invoice_line")
        started = time.perf_counter()
        connection.exec_driver_sql("INSERT INTO invoice_line SELECT * FROM bench_lines")
        seconds = time.perf_counter() - started
        connection.rollback()
    return seconds


def _review_page(app, times: int = 5) -> dict:
    """The review page of the month (請求処理の確認: totals, warnings with the input-stamp check, 100 member
    rows, the operator check from the stored discounts) against the same app's /login/ page (a plain
    template, no data) as the baseline: medians of `times` requests through the app's WSGI interface."""
    import statistics

    app.config["WTF_CSRF_ENABLED"] = False
    # The page is measured, not the login: the admin's second factor (TWO_FACTOR_REQUIRED_ROLES) would
    # redirect every request to /two-factor/setup.
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = ()
    admin, anonymous = app.test_client(), app.test_client()
    admin.post("/login/", data={"username": "admin", "password": "bench-admin-1"})
    from flask import g

    g.pop("_login_user", None)

    def median(client, path, marker):
        from flask import g

        seconds = []
        for _ in range(times):
            g.pop("_login_user", None)  # requests share the worker's app context: no cached user between clients
            started = time.perf_counter()
            response = client.get(path)
            seconds.append(time.perf_counter() - started)
            assert response.status_code == 200 and marker in response.get_data(as_text=True), (
                path, response.status, response.headers.get("Location"))
        return statistics.median(seconds)

    login = median(anonymous, "/login/", "ログイン")
    review = median(admin, f"/billing/month/{MONTH}", "請求合計")
    return {"login_page_seconds": login, "review_page_seconds": review}


def _run_worker(url: str, args) -> dict:
    output = subprocess.run([sys.executable, __file__, "--worker", url, "--members", str(args.members), "--cards",
                             str(args.cards), "--rows", str(args.rows),
                             *(["--profile", f"{args.profile}.{url.split(':')[0].split('+')[0]}"] if args.profile else [])],
                            check=True, capture_output=True, text=True,
                            cwd=ROOT)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--cards", type=int, default=50_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database (for profiling)")
    parser.add_argument("--worker")
    parser.add_argument("--profile", help="write a cProfile of the first run_billing to this file (per database)")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.members, args.cards, args.rows, args.profile), ensure_ascii=False))
        return
    OUT.mkdir(exist_ok=True)
    results = []
    if args.db in ("sqlite", "both"):
        path = OUT / "bench_billing.db"
        path.unlink(missing_ok=True)
        results.append(_run_worker(f"sqlite:///{path}", args))
    if args.db in ("postgresql", "both"):
        import psycopg

        plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
            conn.execute(f"CREATE DATABASE {PG_DB}")
        try:
            results.append(_run_worker(PG_URL.rsplit("/", 1)[0] + "/" + PG_DB, args))
        finally:
            if not args.keep:
                with psycopg.connect(plain, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    failed = False
    for r in results:
        d = r["data"]
        print(f"[{r['db']}] {d['members']:,} members, {d['cards']:,} cards, {d['rows']:,} usage rows "
              f"(generated and loaded in {r['generate_seconds']:.1f} s)")
        print(f"  raw GROUP BY per card × operator: {r['raw_seconds']:.2f} s ({r['raw_groups']:,} groups)")
        print(f"  run_billing (draft):              {r['billing_seconds']:.2f} s "
              f"({r['invoices']:,} invoices, {r['lines']:,} lines)")
        print("  steps: " + ", ".join(f"{k} {v:.2f}" for k, v in r["steps"].items())
              + " | recompute: " + ", ".join(f"{k} {v:.2f}" for k, v in r["recompute_steps"].items()))
        print(f"  ratio billing / raw:              {r['ratio']:.1f}×  (target ≤ 5×)")
        floor = r["raw_seconds"] + r["lines_store_seconds"]
        print(f"  floor, the database alone:        raw {r['raw_seconds']:.2f} s + storing the "
              f"{r['lines']:,} lines again {r['lines_store_seconds']:.2f} s = {floor:.2f} s = "
              f"{floor / r['raw_seconds']:.1f}× raw; Python CPU of the run {r['billing_cpu_seconds']:.2f} s")
        print(f"  review page: {r['review_page_seconds']:.3f} s (target ≤ 1 s), /login/ baseline "
              f"{r['login_page_seconds']:.3f} s, ratio {r['review_page_seconds'] / r['login_page_seconds']:.0f}×")
        print(f"  recompute: {r['recompute_seconds']:.2f} s (identical: {r['identical']}), "
              f"close (numbering {r['invoices']:,} invoices): {r['close_seconds']:.2f} s")
        print(f"  usage total {r['usage_total']:,} 円 = raw: {r['check']}; invoiced {r['total']:,} 円")
        failed |= not r["check"] or not r["identical"]
    (OUT / "billing_results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

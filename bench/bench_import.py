"""Usage import benchmark: Tollbook's end-to-end import against the raw bulk-load rate, per database.

For each database (a SQLite file under bench/out/, and a fresh PostgreSQL database `tollbook_bench`
that is dropped afterwards), in one run on the same file and the same database:

1. schema by the real migrations (app.services.setup.initialize), then the generated card master
   (members, vehicles, cards, loss events) with bulk inserts;
2. raw: the file parsed once into the 20-column tuples of usage_record, held in memory (not
   timed); then timed: loading them into usage_record on the app's own connection — sqlite3
   `executemany` in batches of 10,000 / psycopg `COPY … FROM STDIN` with `write_row` — in one
   transaction, commit included. Then the rows are deleted again (and the table vacuumed);
3. end-to-end: app.services.usage_import.import_usage_file on the same file (decode, parse,
   validate, match cards, flag, load, commit), timed;
4. same trips: the end-to-end import of a second file with the same trips (its lines reversed), every
   row a 重複の疑い of the first: the worst case of the duplicate check, whose own time is printed;
5. memory: the end-to-end import of a smaller file, to show the peak stays flat with file size.

Every import runs in a subprocess of its own, so its peak RSS (ru_maxrss) is its own; the process's
RSS before the import (the app, loaded) is printed too. Speed is a ratio, printed; not a test.

    .venv/bin/python bench/bench_import.py                    # 1,000,000 rows + 200,000 rows, both DBs
    .venv/bin/python bench/bench_import.py --db sqlite --rows 300000
"""
import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_DB = "tollbook_bench"
MONTH = "2026-10"
BATCH = 10_000


# ---------------------------------------------------------------------------------------------- workers

def _rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _app(url: str):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("TOLLBOOK_INSTANCE", str(OUT / "instance"))
    sys.path.insert(0, str(ROOT))
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url})


def worker_setup(url: str, card_list: str) -> dict:
    from generate_usage import register_cards

    app = _app(url)
    from app.extensions import db
    from app.services.actor import acting_as
    from app.services.setup import initialize

    with app.app_context(), acting_as("bench"):
        initialize("bench-admin-1")
        started = time.perf_counter()
        with db.engine.begin() as connection:
            cards = register_cards(connection, Path(card_list))
    return {"cards": cards, "seconds": time.perf_counter() - started}


def _parse_raw(path: str, batch_id: int, cards: dict) -> list[tuple]:
    """The usage_record tuples for the file, parsed plainly (independent of the import code)."""
    def at(date, clock):
        return f"20{date[:2]}-{date[3:5]}-{date[6:8]} {clock}:00"

    rows = []
    with open(path, encoding="cp932", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for line_no, r in enumerate(reader, start=2):
            entry_d, entry_t, exit_d, exit_t, entry_ic, exit_ic, before, disc, billed, vclass, plate, card, remarks = r
            exit_at = at(exit_d, exit_t)
            known = cards.get(card)
            if known is None:
                card_id = member_id = None
                flags = 1
            else:
                card_id, member_id, stop = known
                flags = 2 if stop and exit_at[:10] >= stop else 0
            rows.append((batch_id, line_no, MONTH, card, card_id, member_id,
                         at(entry_d, entry_t or "00:00") if entry_d else None, exit_at, entry_ic or None,
                         exit_ic or None, None, int(vclass), int(before), -int(disc), None, int(billed),
                         plate or None, remarks or None, flags, ",".join(r),
                         None, None, None, None, None, False, None))  # 還元額/後納, categories, 朝夕, source
    return rows


def worker_raw(url: str, path: str, bare: str = "") -> dict:
    app = _app(url)
    from sqlalchemy import text

    from app.extensions import db
    from app.models import ImportBatch, ImportProfile
    from app.services.usage_import import USAGE_COLUMNS, _CardIndex

    with app.app_context():
        profile = db.session.query(ImportProfile).filter_by(name="etc-meisai").one()
        batch = ImportBatch(file_name="raw-baseline", sha256="0" * 64, profile=profile, usage_month=MONTH,
                            imported_by="bench", status="deleted")
        db.session.add(batch)
        db.session.commit()
        batch_id = batch.id
        cards = _CardIndex(db.session).exact  # the file's numbers are full 16 digits
        db.session.rollback()
        started = time.perf_counter()
        rows = _parse_raw(path, batch_id, cards)
        parse_seconds = time.perf_counter() - started

        raw = db.engine.raw_connection()  # the app's own connection settings
        dbapi = raw.driver_connection
        dialect = db.engine.dialect.name
        columns = ", ".join(USAGE_COLUMNS)
        cursor = dbapi.cursor()
        started = time.perf_counter()
        if dialect == "postgresql":
            with cursor.copy(f"COPY usage_record ({columns}) FROM STDIN") as copy:
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
        else:
            sql = f"INSERT INTO usage_record ({columns}) VALUES ({', '.join('?' for _ in USAGE_COLUMNS)})"
            for i in range(0, len(rows), BATCH):
                cursor.executemany(sql, rows[i:i + BATCH])
        dbapi.commit()
        seconds = time.perf_counter() - started
        bare_seconds = None
        if bare == "bare":  # reference: the same rows into a copy of the table without indexes and foreign keys
            if dialect == "postgresql":
                cursor.execute("CREATE TABLE usage_bare (LIKE usage_record INCLUDING DEFAULTS)")
            else:
                cursor.execute("CREATE TABLE usage_bare AS SELECT * FROM usage_record WHERE 0")
            dbapi.commit()
            started = time.perf_counter()
            if dialect == "postgresql":
                with cursor.copy(f"COPY usage_bare ({columns}) FROM STDIN") as copy:
                    write_row = copy.write_row
                    for row in rows:
                        write_row(row)
            else:
                sql = f"INSERT INTO usage_bare ({columns}) VALUES ({', '.join('?' for _ in USAGE_COLUMNS)})"
                for i in range(0, len(rows), BATCH):
                    cursor.executemany(sql, rows[i:i + BATCH])
            dbapi.commit()
            bare_seconds = time.perf_counter() - started
            cursor.execute("DROP TABLE usage_bare")
            dbapi.commit()
        cursor.close()
        raw.close()
        summary = {"rows": len(rows), "total": sum(r[15] for r in rows), "flagged": sum(1 for r in rows if r[18]),
                   "unregistered": sum(1 for r in rows if r[18] == 1)}
        del rows
        with db.engine.begin() as connection:
            connection.execute(text("DELETE FROM usage_record WHERE batch_id = :b"), {"b": batch_id})
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM" if dialect == "sqlite" else "VACUUM ANALYZE usage_record"))
    return {**summary, "parse_seconds": parse_seconds, "seconds": seconds, "rate": summary["rows"] / seconds,
            "bare_rate": summary["rows"] / bare_seconds if bare_seconds else None}


def worker_import(url: str, path: str) -> dict:
    app = _app(url)
    from app.extensions import db
    from app.services import usage_import
    from app.services.actor import acting_as
    from app.services.usage_import import import_usage_file

    duplicate_check = []  # seconds spent in the 重複の疑い UPDATE (one statement per import)
    flag = usage_import.flag_suspected_duplicates

    def timed_flag(*args):
        started = time.perf_counter()
        try:
            return flag(*args)
        finally:
            duplicate_check.append(time.perf_counter() - started)

    usage_import.flag_suspected_duplicates = timed_flag

    with app.app_context(), acting_as("bench"):
        db.session.execute(db.text("SELECT 1"))  # connect before measuring the baseline
        db.session.rollback()
        rss_before = _rss_kb()
        peak_before = _peak_kb()
        calls = []
        started = time.perf_counter()
        summary = import_usage_file(path, "etc-meisai", progress=lambda done, total, rows: calls.append(rows))
        seconds = time.perf_counter() - started
    return {"rows": summary.rows, "total": summary.total_billed, "flagged": summary.flagged,
            "unregistered": summary.unregistered, "after_loss": summary.used_after_loss, "month": summary.usage_month,
            "duplicates": summary.suspected_duplicates, "duplicate_check_seconds": sum(duplicate_check),
            "seconds": seconds, "rate": summary.rows / seconds, "rss_before_kb": rss_before,
            "peak_before_kb": peak_before, "peak_kb": _peak_kb(), "progress_calls": len(calls)}


WORKERS = {"setup": worker_setup, "raw": worker_raw, "import": worker_import}


# ------------------------------------------------------------------------------------------ orchestrator

def run_worker(kind: str, *args) -> dict:
    result = subprocess.run([sys.executable, __file__, "--worker", kind, *map(str, args)], cwd=ROOT,
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"worker {kind} failed")
    return json.loads(result.stdout.strip().splitlines()[-1])


def ensure_file(rows: int) -> Path:
    path = OUT / f"usage_{rows}.csv"
    if not path.exists() or not (OUT / "cards.csv").exists():
        from generate_usage import generate

        started = time.perf_counter()
        generate(rows, path)
        print(f"generated {path.name}: {rows:,} rows, {path.stat().st_size / 1e6:.1f} MB in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
    return path


def ensure_same_trips_file(path: Path) -> Path:
    """The same trips as `path` in another file (lines reversed: another hash): every row of it is a
    重複の疑い of the first import, the worst case for the duplicate check."""
    other = path.with_name(path.stem + "_again.csv")
    if not other.exists() or other.stat().st_mtime < path.stat().st_mtime:
        with open(path, "rb") as handle:
            header, *lines = handle.read().split(b"\r\n")
        body = [line for line in lines if line]
        other.write_bytes(b"\r\n".join([header, *reversed(body)]) + b"\r\n")
    return other


def fresh_database(kind: str) -> tuple[str, callable]:
    if kind == "sqlite":
        path = OUT / "bench.db"
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}", lambda: None
    import psycopg

    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")

    def drop():
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")

    return PG_URL.rsplit("/", 1)[0] + "/" + PG_DB, drop


def mb(kb: int) -> str:
    return f"{kb / 1024:.0f} MB"


def bench(kind: str, big: Path, small: Path | None, bare: bool = True) -> dict:
    url, drop = fresh_database(kind)
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[kind]
    try:
        setup = run_worker("setup", url, OUT / "cards.csv")
        print(f"\n== {name} ({url}) — schema by migrations, {setup['cards']:,} cards registered", flush=True)
        raw = run_worker("raw", url, big, "bare" if bare else "")
        loader = "sqlite3 executemany, 10k batches" if kind == "sqlite" else "psycopg COPY write_row"
        print(f"raw load     ({loader}): {raw['rows']:,} rows in {raw['seconds']:.2f} s = "
              f"{raw['rate']:,.0f} rows/s   (parsing beforehand, not timed: {raw['parse_seconds']:.2f} s)", flush=True)
        e2e = run_worker("import", url, big)
        print(f"end-to-end   (import_usage_file):  {e2e['rows']:,} rows in {e2e['seconds']:.2f} s = "
              f"{e2e['rate']:,.0f} rows/s", flush=True)
        same = all(raw[k] == e2e[k] for k in ("rows", "total", "flagged", "unregistered"))
        print(f"check        rows {e2e['rows']:,}, 通行料金 {e2e['total']:,}円, 要確認 {e2e['flagged']:,} "
              f"(未登録 {e2e['unregistered']:,}, 紛失後 {e2e['after_loss']:,}), month {e2e['month']}: "
              f"{'same as the raw rows' if same else 'DIFFERENT FROM THE RAW ROWS'}", flush=True)
        if raw["bare_rate"]:
            print(f"reference    the same raw load into a copy of usage_record without its 4 indexes and 3 foreign "
                  f"keys: {raw['bare_rate']:,.0f} rows/s", flush=True)
        again = run_worker("import", url, ensure_same_trips_file(big))
        print(f"same trips   a second file with the same {again['rows']:,} trips (lines reversed): "
              f"{again['seconds']:.2f} s = {again['rate']:,.0f} rows/s, 重複の疑い {again['duplicates']:,}; "
              f"the duplicate check took {again['duplicate_check_seconds']:.2f} s "
              f"(first import: {e2e['duplicate_check_seconds']:.2f} s, no other batch overlaps)", flush=True)
        ratio = e2e["rate"] / raw["rate"]
        print(f"ratio        end-to-end / raw = {ratio:.0%}  (target ≥ 50%)", flush=True)
        result = {"db": kind, "raw": raw, "e2e": e2e, "again": again, "ratio": ratio, "same": same}
        print(f"memory       peak RSS of the import process, {e2e['rows']:,} rows: {mb(e2e['peak_kb'])} "
              f"(app loaded, before the import: {mb(e2e['rss_before_kb'])}; "
              f"growth {mb(e2e['peak_kb'] - e2e['rss_before_kb'])})", flush=True)
        if small is not None:
            e2e_small = run_worker("import", url, small)
            print(f"             peak RSS of the import process, {e2e_small['rows']:,} rows: "
                  f"{mb(e2e_small['peak_kb'])} (before: {mb(e2e_small['rss_before_kb'])}; growth "
                  f"{mb(e2e_small['peak_kb'] - e2e_small['rss_before_kb'])}); {e2e_small['rate']:,.0f} rows/s",
                  flush=True)
            result["e2e_small"] = e2e_small
        return result
    finally:
        drop()


def main():
    parser = argparse.ArgumentParser(description="Tollbook usage import benchmark (docs/performance.md)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small-rows", type=int, default=200_000, help="second file size for the memory check; 0: skip")
    parser.add_argument("--db", default="sqlite,postgresql", help="sqlite, postgresql or both (comma-separated)")
    parser.add_argument("--no-bare", action="store_true", help="skip the reference load into a table without indexes")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        print(json.dumps(WORKERS[kind](*rest)))
        return
    OUT.mkdir(exist_ok=True)
    print(f"Tollbook usage import benchmark — {os.cpu_count()} CPUs, Python {sys.version.split()[0]}", flush=True)
    big = ensure_file(args.rows)
    small = ensure_file(args.small_rows) if args.small_rows else None
    print(f"file         {big.name}: {args.rows:,} rows, {big.stat().st_size / 1e6:.1f} MB, cp932", flush=True)
    results = [bench(kind.strip(), big, small, not args.no_bare) for kind in args.db.split(",") if kind.strip()]
    print("\nsummary")
    for r in results:
        print(f"  {r['db']:<10}  raw {r['raw']['rate']:>9,.0f} rows/s   end-to-end {r['e2e']['rate']:>9,.0f} rows/s   "
              f"ratio {r['ratio']:.0%}   peak RSS {mb(r['e2e']['peak_kb'])} ({r['e2e']['rows']:,} rows)"
              + (f" / {mb(r['e2e_small']['peak_kb'])} ({r['e2e_small']['rows']:,} rows)" if "e2e_small" in r else ""))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if not all(r["same"] for r in results):
        raise SystemExit("the imported rows differ from the raw rows")


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH))
    main()

"""Backup benchmark (issue 13 item 5; docs/performance.md, "Backup and restore"): `flask etc backup` and
`flask etc restore` of the 1M-row benchmark database against the database's own tool alone, in one run.

For each database (bench/out/bench_backup.db; PostgreSQL databases tollbook_bench_backup and
tollbook_bench_backup_restore, dropped afterwards):

1. the billing benchmark's data (bench/bench_billing.py `generate`: 10,000 members, 50,000 cards, 1,000,000
   usage rows), then the month drafted and closed (10,000 invoices, ~137,000 lines), not timed;
2. timed, ROUNDS times alternately, the best of each kept (the machine is shared):
   * the tool alone: SQLite `sqlite3 SRC ".backup FILE"` and `sqlite3 EMPTY ".restore FILE"`;
     PostgreSQL `pg_dump --format=custom` and `pg_restore --single-transaction --exit-on-error` into an empty
     database (the same flags Tollbook uses);
   * Tollbook: app.services.backup.backup(PATH) and restore(PATH) (what the two commands run, without the
     interpreter's start-up), which add the manifest's counts and totals, the SHA-256 of the copy, the tar
     archive, and after restoring the check against the manifest;
3. printed and written to bench/out/backup_results.json: seconds and bytes of each, and the ratios
   (target ≤ 1.2×).

    .venv/bin/python bench/bench_backup.py                        # both databases, 1,000,000 rows
    .venv/bin/python bench/bench_backup.py --db sqlite --rows 200000
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_DB = "tollbook_bench_backup"
MONTH = "2026-10"
ROUNDS = 2


def _app(url: str):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("TOLLBOOK_INSTANCE", str(OUT / "instance-backup"))
    sys.path.insert(0, str(ROOT))
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url})


def prepare(url: str, members: int, cards: int, rows: int) -> dict:
    app = _app(url)
    sys.path.insert(0, str(BENCH))
    from bench_billing import generate

    from app.extensions import db
    from app.services.actor import acting_as
    from app.services.billing.close import close_billing_run
    from app.services.billing.draft import run_billing
    from app.services.setup import initialize

    with app.app_context(), acting_as("bench"):
        initialize("bench-admin-1")
        with db.engine.begin() as connection:
            data = generate(connection, members, cards, rows)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE" if connection.dialect.name == "postgresql" else "ANALYZE")
        run_billing(MONTH)
        close_billing_run(MONTH, "bench")
    return data


def timed_service(kind: str, url: str, path: str) -> dict:
    app = _app(url)
    from app.services.backup import backup, restore

    with app.app_context():
        started = time.perf_counter()
        message = str(backup(path) if kind == "backup" else restore(path))
        return {"seconds": time.perf_counter() - started, "message": message}


def _worker(*args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--worker", *args], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"worker {args[0]} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _pg_admin(sql: str):
    import psycopg

    with psycopg.connect(_libpq(PG_URL), autocommit=True) as connection:
        connection.execute(sql)


def bench_sqlite(args) -> dict:
    source = OUT / "bench_backup.db"
    for leftover in OUT.glob("bench_backup.db*"):
        leftover.unlink()
    data = _worker("prepare", f"sqlite:///{source}", str(args.members), str(args.cards), str(args.rows))
    tool_file, ours_file = OUT / "bench_backup.sqlite-backup", OUT / "bench_backup.tollbook-backup"
    tool_target, ours_target = OUT / "bench_backup_tool_restored.db", OUT / "bench_backup_restored.db"
    best = {}
    for _ in range(ROUNDS):
        tool_file.unlink(missing_ok=True)
        seconds = _timed(["sqlite3", str(source), f".backup '{tool_file}'"])
        best["tool_backup"] = min(best.get("tool_backup", seconds), seconds)
        ours_file.unlink(missing_ok=True)
        seconds = _worker("backup", f"sqlite:///{source}", str(ours_file))["seconds"]
        best["backup"] = min(best.get("backup", seconds), seconds)
        for target in (tool_target, ours_target):
            for leftover in OUT.glob(f"{target.name}*"):
                leftover.unlink()
        seconds = _timed(["sqlite3", str(tool_target), f".restore '{tool_file}'"])
        best["tool_restore"] = min(best.get("tool_restore", seconds), seconds)
        result = _worker("restore", f"sqlite:///{ours_target}", str(ours_file))
        best["restore"] = min(best.get("restore", result["seconds"]), result["seconds"])
    sizes = {"database_bytes": source.stat().st_size, "tool_backup_bytes": tool_file.stat().st_size,
             "backup_bytes": ours_file.stat().st_size}
    for leftover in [*OUT.glob("bench_backup*")]:
        leftover.unlink()
    return {"db": "sqlite", "data": data, **best, **sizes, "restore_message": result["message"],
            "tool": "sqlite3 .backup / sqlite3 .restore"}


def bench_postgresql(args) -> dict:
    base = PG_URL.rsplit("/", 1)[0]
    source, target = f"{base}/{PG_DB}", f"{base}/{PG_DB}_restore"
    _pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    _pg_admin(f"CREATE DATABASE {PG_DB}")
    tool_file, ours_file = OUT / "bench_backup.dump", OUT / "bench_backup.tollbook-backup"
    try:
        data = _worker("prepare", source, str(args.members), str(args.cards), str(args.rows))
        best = {}
        for _ in range(ROUNDS):
            seconds = _timed(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(tool_file),
                              "--dbname", _libpq(source)])
            best["tool_backup"] = min(best.get("tool_backup", seconds), seconds)
            ours_file.unlink(missing_ok=True)
            seconds = _worker("backup", source, str(ours_file))["seconds"]
            best["backup"] = min(best.get("backup", seconds), seconds)
            _pg_admin(f"DROP DATABASE IF EXISTS {PG_DB}_restore WITH (FORCE)")
            _pg_admin(f"CREATE DATABASE {PG_DB}_restore")
            seconds = _timed(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                              "--dbname", _libpq(target), str(tool_file)])
            best["tool_restore"] = min(best.get("tool_restore", seconds), seconds)
            _pg_admin(f"DROP DATABASE IF EXISTS {PG_DB}_restore WITH (FORCE)")
            _pg_admin(f"CREATE DATABASE {PG_DB}_restore")
            result = _worker("restore", target, str(ours_file))
            best["restore"] = min(best.get("restore", result["seconds"]), result["seconds"])
        sizes = {"tool_backup_bytes": tool_file.stat().st_size, "backup_bytes": ours_file.stat().st_size}
    finally:
        _pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        _pg_admin(f"DROP DATABASE IF EXISTS {PG_DB}_restore WITH (FORCE)")
        tool_file.unlink(missing_ok=True)
        ours_file.unlink(missing_ok=True)
    return {"db": "postgresql", "data": data, **best, **sizes, "restore_message": result["message"],
            "tool": "pg_dump --format=custom / pg_restore --single-transaction"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--cards", type=int, default=50_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--worker", nargs="+")
    args = parser.parse_args()
    if args.worker:
        kind, url, *rest = args.worker
        if kind == "prepare":
            print(json.dumps(prepare(url, *map(int, rest)), ensure_ascii=False, default=str))
        else:
            print(json.dumps(timed_service(kind, url, rest[0]), ensure_ascii=False))
        return
    OUT.mkdir(exist_ok=True)
    load = os.getloadavg()[0]
    results = []
    if args.db in ("sqlite", "both"):
        results.append(bench_sqlite(args))
    if args.db in ("postgresql", "both"):
        results.append(bench_postgresql(args))
    for r in results:
        r["backup_ratio"] = r["backup"] / r["tool_backup"]
        r["restore_ratio"] = r["restore"] / r["tool_restore"]
        r["load_before"], r["load_after"] = load, os.getloadavg()[0]
        d = r["data"]
        print(f"[{r['db']}] {d['members']:,} members, {d['cards']:,} cards, {d['rows']:,} usage rows, month closed; "
              f"{os.cpu_count()} CPUs, load average before {load:.2f} / after {r['load_after']:.2f}; best of {ROUNDS}")
        if "database_bytes" in r:
            print(f"  database file: {r['database_bytes']:,} bytes")
        print(f"  backup:  {r['tool'].split(' / ')[0]} {r['tool_backup']:.2f} s ({r['tool_backup_bytes']:,} bytes) | "
              f"flask etc backup {r['backup']:.2f} s ({r['backup_bytes']:,} bytes) → {r['backup_ratio']:.2f}×  (target ≤ 1.2×)")
        print(f"  restore: {r['tool'].split(' / ')[1]} {r['tool_restore']:.2f} s | flask etc restore {r['restore']:.2f} s "
              f"→ {r['restore_ratio']:.2f}×  (target ≤ 1.2×)")
        print(f"  {r['restore_message']}")
    (OUT / "backup_results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str),
                                             encoding="utf-8")


if __name__ == "__main__":
    main()

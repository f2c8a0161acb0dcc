"""Member portal benchmark (issue 12 "Speed"; docs/performance.md, "Member portal").

1. Data straight into a fresh SQLite database built by the real migrations (not timed): 10,000 members,
   60 closed months (five years, 2021-11 … 2026-10), one issued invoice per member and month (600,000)
   and its eight issued documents (4,800,000 rows, each with its token, hash-chain position and bytes).
   The PDFs of the members who take part in the load are a real rendered A4 page (IPAex Gothic embedded);
   every other document holds a few placeholder bytes (the rows and indexes are full size, the file is not
   hundreds of gigabytes). 50 members get a portal login (`create_login`, the production scrypt hash).
2. The production server command of the README (`make serve`: TOLLBOOK_ENV=production python run.py,
   gunicorn, WORKERS=3 × THREADS=4 by default) on 127.0.0.1, with its own SECRET_KEY and the per-address login limit raised
   (AUTH_RATE_LIMIT: all 50 members log in from one address).
3. Load from another process: 50 concurrent members (one thread and one keep-alive connection each) log in,
   then each makes ROUNDS rounds of: the document list (/portal/documents/), then one of its PDFs. Bounded:
   50 × ROUNDS list pages and 50 × ROUNDS PDFs. Then the same 50 connections fetch a static file
   (/static/css/portal.css, served by the same server) ROUNDS × 2 times each: the raw rate of that server.
4. Printed and written to bench/out/bench_portal.json: p50 / p95 / p99 latency and throughput of each kind.

    .venv/bin/python bench/bench_portal.py                      # 10,000 members, 60 months, 50 users
    .venv/bin/python bench/bench_portal.py --members 1000 --months 12 --rounds 5
"""
import argparse
import datetime as dt
import http.client
import json
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
PASSWORD = "bench-portal-pass-7"
KINDS = ("invoice", "card-statement", "usage-statement", "payment-notice")


def months_back(last: str, count: int) -> list[str]:
    year, month = int(last[:4]), int(last[5:])
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return sorted(out)


def sample_pdf() -> bytes:
    from flask import render_template_string

    from app.documents.pdf import html_to_pdf

    rows = "".join(f"<tr><td>2026/10/{d:02d}</td><td>東京</td><td>厚木</td><td>{1000 + d * 10:,}円</td></tr>"
                   for d in range(1, 31))
    return html_to_pdf(render_template_string(
        '<html><head><meta charset="utf-8"><style>@page { size: a4 portrait; margin: 15mm; }'
        " body, td, h1 { font-family: ipaexg; font-size: 9pt; }</style></head><body>"
        "<h1>請求書（ベンチマーク）</h1><p>株式会社ベンチ運輸 御中　ご請求金額 38,794円</p>"
        "<table>{{ rows|safe }}</table></body></html>", rows=rows))


def random_tokens():
    """Download tokens as secrets.token_urlsafe(32) makes them (43 characters), drawn in blocks."""
    import base64

    while True:
        block = base64.urlsafe_b64encode(os.urandom(33 * 4096)).decode()
        for i in range(4096):
            yield block[i * 44:i * 44 + 43]


def generate(app, members: int, months: list[str], users: int, seed: int = 20261130) -> dict:
    from app.extensions import db
    from app.services.bulk import BulkInserter

    rng = random.Random(seed)
    now = "2026-11-20 09:00:00"
    connection = db.session.connection()
    chosen = sorted(rng.sample(range(1, members + 1), users))
    pdf = sample_pdf()
    placeholder = b"%PDF-1.4 placeholder"
    with BulkInserter("member", ["id", "code", "name", "kana", "payment_method", "status", "postal_code", "address",
                                 "invoice_by_post", "created_at", "updated_at"], connection) as writer:
        writer.write([(i, f"M{i:05d}", f"ベンチ運輸{i}株式会社", "ベンチウンユ", "direct_debit", "active", "100-0005",
                       "東京都千代田区丸の内1-1-1", True, now, now) for i in range(1, members + 1)])
    with BulkInserter("billing_run", ["id", "month", "status", "created_at", "closed_at", "closed_by", "member_count",
                                      "invoice_count"], connection) as writer:
        writer.write([(n, month, "closed", now, now, "bench", members, members) for n, month in enumerate(months, 1)])
    invoice_columns = ["id", "billing_run_id", "member_id", "month", "kind", "status", "number", "invoice_date",
                       "debit_date", "payment_method", "usage_total", "discount_total", "fee_total",
                       "adjustment_total", "taxable_total", "tax_amount", "non_taxable_total", "total",
                       "operator_discount_total", "created_at", "issued_at"]
    document_columns = ["id", "invoice_id", "member_id", "month", "kind", "format", "status", "attempts", "content",
                        "size", "sha256", "chain_position", "chain_hash", "token", "created_at", "issued_at"]
    invoice_id = document_id = 0
    tokens = random_tokens()
    chosen_set = set(chosen)
    window = set(months[-6:])
    digest = "0" * 64
    for run_id, month in enumerate(months, 1):
        year, mon = int(month[:4]), int(month[5:])
        invoice_date = dt.date(year + mon // 12, mon % 12 + 1, 20).isoformat()
        debit_date = dt.date(year + (mon + 1) // 12, (mon + 1) % 12 + 1, 5).isoformat()
        invoice_rows, document_rows = [], []
        for member_id in range(1, members + 1):
            invoice_id += 1
            total = rng.randint(1000, 900_000)
            invoice_rows.append((invoice_id, run_id, member_id, month, "regular", "issued", f"{invoice_id:08d}",
                                 invoice_date, debit_date, "direct_debit", total, 0, 0, 0, total, total // 11, 0,
                                 total, 0, now, now))
            real = member_id in chosen_set and month in window
            for kind in KINDS:
                for fmt in ("pdf", "xlsx"):
                    document_id += 1
                    content = pdf if real and fmt == "pdf" else placeholder
                    document_rows.append((document_id, invoice_id, member_id, month, kind, fmt, "rendered", 1,
                                          content, len(content), digest, document_id, digest, next(tokens), now, now))
        connection = db.session.connection()
        with BulkInserter("invoice", invoice_columns, connection) as invoices:
            invoices.write(invoice_rows)
        with BulkInserter("issued_document", document_columns, connection) as documents:
            documents.write(document_rows)
        db.session.commit()  # a month at a time: the WAL stays small
    db.session.commit()
    db.session.execute(db.text("ANALYZE"))
    db.session.commit()
    return {"members": members, "months": len(months), "invoices": invoice_id, "documents": document_id,
            "users": chosen, "pdf_bytes": len(pdf)}


def make_logins(app, chosen: list[int]) -> list[str]:
    from app.services.actor import acting_as
    from app.services.portal_logins import create_login

    with acting_as("bench"):
        return [create_login(member_id, PASSWORD).login_id for member_id in chosen]


def prepare(path: Path, members: int, months: int, users: int) -> dict:
    """Child process: schema, data, logins; returns the summary (JSON on stdout)."""
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ["TOLLBOOK_INSTANCE"] = str(OUT / "instance-portal")
    sys.path.insert(0, str(ROOT))
    from app import create_app
    from app.services.actor import acting_as
    from app.services.setup import initialize

    app = create_app({"SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"]})
    with app.app_context():
        with acting_as("bench"):
            initialize("bench-admin-password-1")
        started = time.perf_counter()
        summary = generate(app, members, months_back("2026-10", months), users)
        summary["generate_seconds"] = round(time.perf_counter() - started, 1)
        summary["logins"] = make_logins(app, summary.pop("users"))
    return summary


# ---- the load ---------------------------------------------------------------------------------------

class Client:
    """One member's keep-alive connection, with its session cookie."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = ""

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, bytes, float]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                break
            except TimeoutError as error:
                raise TimeoutError(f"{method} {path.split('/file/')[0]}: {error}") from None
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed the idle keep-alive connection (gunicorn's keepalive, 2 s) as we sent: a
                # browser opens a new one and sends the GET again (RFC 9112 §9.3.1); the time counts.
                self.connection.close()
                if method != "GET" or attempt == 2:
                    raise
        data = response.read()
        elapsed = time.perf_counter() - started
        for header in response.headers.get_all("Set-Cookie") or []:
            if header.startswith("session="):
                self.cookie = header.split(";", 1)[0]
        return response.status, data, elapsed

    def log_in(self, login_id: str) -> None:
        status, page, _ = self.request("GET", "/login/")
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1).decode()
        body = urllib.parse.urlencode({"username": login_id, "password": PASSWORD, "csrf_token": token})
        status, _, _ = self.request("POST", "/login/", body)
        if status != 302:
            raise SystemExit(f"ログインできませんでした: {login_id} ({status})")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


def stats(samples: list[float], seconds: float, sizes: int = 0) -> dict:
    return {"requests": len(samples), "p50_ms": round(percentile(samples, 50) * 1000, 1),
            "p95_ms": round(percentile(samples, 95) * 1000, 1), "p99_ms": round(percentile(samples, 99) * 1000, 1),
            "mean_ms": round(statistics.mean(samples) * 1000, 1), "per_second": round(len(samples) / seconds, 1),
            **({"mb_per_second": round(sizes / seconds / 1e6, 1)} if sizes else {})}


def run_load(port: int, logins: list[str], rounds: int, think: float) -> dict:
    """Two phases: members browsing (a random pause of 0.5–1.5 × `think` seconds before each request, as a
    person reading the page), then the same at saturation (no pause), then the static file at saturation."""
    browsing = _phase(port, logins, rounds, think, static=False)
    saturated = _phase(port, logins, rounds, 0.0, static=True)
    return {"concurrent_members": len(logins), "rounds": rounds, "think_seconds": think,
            "browsing": browsing, "saturated": saturated}


def _phase(port: int, logins: list[str], rounds: int, think: float, static: bool) -> dict:
    clients = [Client(port) for _ in logins]
    errors: list[str] = []
    started = time.perf_counter()
    for client, login_id in zip(clients, logins):  # logging in and one warm-up list are not measured
        client.log_in(login_id)
        client.request("GET", "/portal/documents/")
    print(f"  {len(clients)}人がログイン（{time.perf_counter() - started:.1f}秒）", flush=True)
    lists, pdfs, statics = [], [], []
    pdf_bytes = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(len(clients) + 1)

    def pause(rng):
        if think:
            time.sleep(rng.uniform(0.5, 1.5) * think)

    def member(client: Client, login_id: str, rng: random.Random):
        barrier.wait()
        for _ in range(rounds):
            pause(rng)
            status, page, elapsed = client.request("GET", "/portal/documents/")
            tokens = re.findall(rb"/portal/file/([\w-]+)\?open=1", page)
            if status != 200 or len(tokens) != 24:  # 6 months × 4 PDFs
                errors.append(f"{login_id}: list {status}, {len(tokens)} PDFs")
                return
            pause(rng)
            status, body, pdf_elapsed = client.request("GET", f"/portal/file/{rng.choice(tokens).decode()}?open=1")
            if status != 200 or not body.startswith(b"%PDF"):
                errors.append(f"{login_id}: pdf {status}")
                return
            with lock:
                lists.append(elapsed)
                pdfs.append(pdf_elapsed)
                pdf_bytes[0] += len(body)
        barrier.wait()
        for _ in range(rounds * 2 if static else 0):
            status, _, elapsed = client.request("GET", "/static/css/portal.css")
            if status != 200:
                errors.append(f"{login_id}: static {status}")
                return
            with lock:
                statics.append(elapsed)
        barrier.wait()

    def guarded(client: Client, login_id: str, rng: random.Random):
        try:
            member(client, login_id, rng)
        except (OSError, http.client.HTTPException, threading.BrokenBarrierError) as error:
            errors.append(f"{login_id}: {error!r}")
            barrier.abort()

    threads = [threading.Thread(target=guarded, args=(c, login_id, random.Random(i)))
               for i, (c, login_id) in enumerate(zip(clients, logins))]
    for thread in threads:
        thread.start()
    try:
        barrier.wait()
        started = time.perf_counter()
        barrier.wait()
        portal_seconds = time.perf_counter() - started
        barrier.wait()
        static_seconds = time.perf_counter() - started - portal_seconds
    except threading.BrokenBarrierError:
        pass
    for thread in threads:
        thread.join()
    for client in clients:  # free the server's connections before the next phase
        client.connection.close()
    if errors:
        raise SystemExit("負荷試験でエラー: " + "; ".join(errors[:10]))
    result = {"list_page": stats(lists, portal_seconds), "pdf": stats(pdfs, portal_seconds, pdf_bytes[0]),
              "portal_requests": stats(lists + pdfs, portal_seconds)}
    if static:
        result["static_file"] = stats(statics, static_seconds)
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(path: Path, threads: int, workers: int):
    port = free_port()
    env = dict(os.environ, TOLLBOOK_ENV="production", SECRET_KEY=secrets.token_hex(32),
               DATABASE_URL=f"sqlite:///{path}", TOLLBOOK_INSTANCE=str(OUT / "instance-portal"), PORT=str(port),
               THREADS=str(threads), WORKERS=str(workers), AUTH_RATE_LIMIT="100000 per minute", DOCUMENTS_RENDER_AFTER_CLOSE="0")
    log = open(OUT / "bench_portal_server.log", "wb")  # the server's own messages (errors, tracebacks)
    server = subprocess.Popen([sys.executable, "run.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, port
        except OSError:
            if server.poll() is not None:
                raise SystemExit("サーバーが起動しませんでした: " + (OUT / "bench_portal_server.log").read_text(errors="replace"))
            time.sleep(0.3)
    server.kill()
    raise SystemExit("サーバーが60秒以内に起動しませんでした")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--users", type=int, default=50, help="concurrent members")
    parser.add_argument("--rounds", type=int, default=20, help="list + PDF rounds per member")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (THREADS)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes (WORKERS)")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause before each request while browsing (s)")
    parser.add_argument("--prepare-only", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="keep the database of the last run")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    path = OUT / "bench_portal.db"
    summary_path = OUT / "bench_portal_data.json"
    if args.child:
        print(json.dumps(prepare(path, args.members, args.months, args.users)))
        return
    if not (args.reuse and path.exists() and summary_path.exists()):
        for old in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            old.unlink(missing_ok=True)
        print(f"データ生成: {args.members:,}組合員 × {args.months}か月 …", flush=True)
        child = subprocess.run([sys.executable, __file__, "--child", "--members", str(args.members), "--months",
                                str(args.months), "--users", str(args.users)], cwd=ROOT, capture_output=True,
                               text=True)
        if child.returncode != 0:
            raise SystemExit(child.stderr[-3000:])
        summary_path.write_text(child.stdout.strip().splitlines()[-1])
    data = json.loads(summary_path.read_text())
    print(f"データ: 請求書 {data['invoices']:,}件、帳票 {data['documents']:,}件（生成 {data['generate_seconds']}秒）、"
          f"DB {path.stat().st_size / 1e9:.1f} GB", flush=True)
    if args.prepare_only:
        return
    server, port = serve(path, args.threads, args.workers)
    try:
        result = run_load(port, data["logins"][:args.users], args.rounds, args.think)
    finally:
        server.terminate()
        server.wait(timeout=30)
    result["data"] = {k: v for k, v in data.items() if k != "logins"}
    result["server"] = (f"make serve (TOLLBOOK_ENV=production python run.py, gunicorn, WORKERS={args.workers} × "
                        f"THREADS={args.threads}), SQLite")
    (OUT / "bench_portal.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
    labels = (("list_page", "帳票一覧 /portal/documents/"), ("pdf", "PDF /portal/file/…"),
              ("portal_requests", "一覧+PDF 合計"), ("static_file", "静的ファイル /static/css/portal.css"))
    for phase, title in (("browsing", f"閲覧（{args.users}人、各リクエストの前に平均{args.think}秒の間）"),
                         ("saturated", f"飽和（{args.users}人、間なし）")):
        print(title)
        for name, label in labels:
            if name in result[phase]:
                s = result[phase][name]
                extra = f"、{s['mb_per_second']} MB/s" if "mb_per_second" in s else ""
                print(f"  {label}: {s['requests']:,}件 p50 {s['p50_ms']} ms / p95 {s['p95_ms']} ms / "
                      f"p99 {s['p99_ms']} ms、{s['per_second']} 件/秒{extra}")
    saturated = result["saturated"]
    ratio = saturated["portal_requests"]["per_second"] / saturated["static_file"]["per_second"]
    p95 = result["browsing"]["list_page"]["p95_ms"]
    print(f"飽和時のポータル（一覧+PDF）の処理量は静的ファイルの {ratio:.0%}。"
          f"目標: 閲覧時の一覧の p95 < 200 ms → {p95} ms（{'達成' if p95 < 200 else '未達'}）")


if __name__ == "__main__":
    main()

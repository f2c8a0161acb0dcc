"""The same file imported twice at the same moment lands once (issue 7 item 12).

Two real `flask etc import` processes on the same file, started together, on the test database
(SQLite, or PostgreSQL with TEST_DATABASE_URL). The idempotency rule is the database's (a partial
unique index on the file hash among live batches), so whichever commits second is refused with the
Japanese 「取込済みです」 message instead of loading the file a second time. The upload screen
registers its job before copying the upload, so two uploads at once cannot both start."""
import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models.usage import BATCH_ACTIVE, ImportBatch, UsageRecord

ROOT = Path(__file__).resolve().parents[2]
HEADER = ("利用年月日（自）,時分（自）,利用年月日（至）,時分（至）,利用ＩＣ（自）,利用ＩＣ（至）,割引前料金,ＥＴＣ割引額,"
          "通行料金,車種,車両番号,ＥＴＣカード番号,備考")
ROWS = 60_000  # long enough to load (about a second) that both processes check before either commits


def big_file(tmp_path: Path) -> Path:
    start = dt.datetime(2026, 10, 1)
    lines = [HEADER]
    for i in range(ROWS):
        at = start + dt.timedelta(minutes=i // 2)
        lines.append(f"{at:%y/%m/%d},,{at:%y/%m/%d},{at:%H:%M},,東京,1320,0,1320,1,5050,"
                     f"49800{i % 500:011d},確定")
    path = tmp_path / "same.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp932"))
    return path


def test_two_processes_importing_the_same_file_land_it_once(db, tmp_path):
    path = big_file(tmp_path)
    env = dict(os.environ, FLASK_APP="app:create_app")
    command = [str(Path(sys.executable).parent / "flask"), "etc", "import", str(path), "--format", "etc-meisai"]
    processes = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in processes]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    loser = next(err for code, _, err in results if code == 1)
    assert "same.csv は取込#" in loser and "で取込済みです。" in loser and "Traceback" not in loser
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)
                             .where(ImportBatch.status == BATCH_ACTIVE)) == 1
    assert db.session.scalar(select(func.count()).select_from(UsageRecord)) == ROWS


def test_a_second_upload_while_the_first_is_still_being_copied_is_refused(app, db, monkeypatch):
    """The first upload is held inside its copy; a second one arriving then must see it."""
    import io
    import shutil

    from app.views import jobs, usage_upload
    from ..conftest import STAFF_PASSWORD, login

    usage_upload.clear_jobs()
    copying, release = threading.Event(), threading.Event()
    real_copy = shutil.copyfileobj
    calls = []

    def slow_first_copy(source, target, length=0):
        calls.append(1)
        if len(calls) == 1:
            copying.set()
            release.wait(30)
        return real_copy(source, target, length)

    monkeypatch.setattr(jobs.shutil, "copyfileobj", slow_first_copy)
    body = ("\r\n".join([HEADER, "26/10/01,,26/10/01,07:05,,東京,1320,0,1320,1,5050,4980001234567890,確定"])
            + "\r\n").encode("cp932")
    first, second = app.test_client(), app.test_client()
    login(first, "staff", STAFF_PASSWORD)
    login(second, "staff", STAFF_PASSWORD)
    answers = {}

    def post(name, client):
        answers[name] = client.post("/usage/upload/start", content_type="multipart/form-data",
                                    headers={"X-Requested-With": "XMLHttpRequest"},
                                    data={"profile": "etc-meisai", "file": (io.BytesIO(body), f"{name}.csv")})

    thread = threading.Thread(target=post, args=("first", first))
    thread.start()
    assert copying.wait(30)
    post("second", second)  # while the first upload is still being copied
    release.set()
    thread.join(30)
    assert answers["first"].status_code == 202
    assert answers["second"].status_code == 409
    assert "staff さんの取込（first.csv）が実行中です" in answers["second"].get_json()["error"]
    job = answers["first"].get_json()["job"]
    deadline = time.monotonic() + 30
    while usage_upload.get_job(job)["state"] == usage_upload.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert usage_upload.get_job(job)["state"] == usage_upload.DONE

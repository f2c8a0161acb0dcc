"""Background import jobs shared by the upload screens (走行明細の取込, マスタ取込).

A long import must not hold the request (a big file kept a worker busy for minutes and the browser
showed nothing): the view saves the upload, registers a job and starts the import in a thread,
inside an app context and acting as the uploader (records and audit entries say who). The page
polls a status URL (JSON) and then opens a result page.

The job's status is a small JSON file under the instance folder (instance/jobs/<kind>/<id>.json),
not a dict of this process: the production server (`make serve`, gunicorn) runs several worker
processes, and the page's next poll may reach another one. Not in the database: on SQLite the import
holds the write lock for its whole transaction, so progress written there would wait for the import
itself. One import of each kind runs at a time: claim() checks and registers under a file lock
(fcntl.flock) that every worker process and thread takes. A job whose process died (kill -9, a
restarted worker) is shown as interrupted: its import's transaction was never committed.
"""
import fcntl
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from app.services.actor import acting_as
from app.services.processes import HOST, running_here

log = logging.getLogger(__name__)

RUNNING, DONE, REFUSED, FAILED = "running", "done", "refused", "failed"
STATE_NAMES = {RUNNING: "取込中", DONE: "取込完了", REFUSED: "取り込めませんでした", FAILED: "エラー"}
KEEP_SECONDS = 6 * 3600
KEEP_JOBS = 50
PROGRESS_WRITE_SECONDS = 0.25  # progress (not a change of state) is written at most this often
UNEXPECTED = "取込中に予期しないエラーが発生しました。何も登録していません。管理者に連絡してください。"
INTERRUPTED = ("取込が中断されました（サーバーの再起動など）。何も登録していません。"
               "もう一度取り込んでください。")


class JobRefused(Exception):
    """The import refused the file (nothing saved): `message` and the job fields in `values`."""

    def __init__(self, message: str, **values):
        super().__init__(message)
        self.message = message
        self.values = values


class JobRegistry:
    """The jobs of one kind of import, shared by the server's processes through files."""

    def __init__(self, kind: str):
        self.kind = kind
        self.lock = threading.Lock()  # the threads of this process; the file lock serves the processes
        self._written: dict[str, float] = {}
        self._pending: dict[str, dict] = {}

    def folder(self, app=None) -> Path:
        from flask import current_app

        app = app or current_app
        folder = Path(app.config.get("JOB_STATUS_DIR") or Path(app.instance_path) / "jobs") / self.kind
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @contextmanager
    def _locked(self, folder: Path):
        with self.lock, open(folder / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @staticmethod
    def _read(path: Path) -> dict | None:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None

    @staticmethod
    def _write(folder: Path, job: dict):
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".job-", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(job, out, ensure_ascii=False)
        os.replace(temporary, folder / f"{job['id']}.json")

    def _checked(self, folder: Path, job: dict) -> dict:
        """A running job whose process is gone on this host is interrupted (its transaction never committed)."""
        if job["state"] == RUNNING and job.get("host") == HOST and not running_here(job.get("pid") or 0):
            job.update(state=FAILED, message=INTERRUPTED, errors=[], finished=time.time())
            self._write(folder, job)
        return job

    def _jobs(self, folder: Path) -> list[dict]:
        jobs = (self._read(path) for path in folder.glob("*.json"))
        return [self._checked(folder, job) for job in jobs if job is not None]

    def update(self, job_id: str, app=None, **values):
        """Progress alone is written at most every PROGRESS_WRITE_SECONDS (a file replace per row block
        would cost the import); what was held back goes with the next write."""
        now = time.monotonic()
        with self.lock:
            pending = self._pending.setdefault(job_id, {})
            pending.update(values)
            if "state" not in values and "finished" not in values \
                    and now - self._written.get(job_id, 0.0) < PROGRESS_WRITE_SECONDS:
                return
            values = self._pending.pop(job_id)
        folder = self.folder(app)
        with self._locked(folder):
            job = self._read(folder / f"{job_id}.json")
            if job is None:
                return
            job.update(values)
            self._write(folder, job)
            self._written[job_id] = now

    def get(self, job_id: str) -> dict | None:
        folder = self.folder()
        if not job_id or not job_id.replace("-", "").isalnum():
            return None
        with self._locked(folder):
            job = self._read(folder / f"{job_id}.json")
            return self._checked(folder, job) if job else None

    def running(self) -> dict | None:
        folder = self.folder()
        with self._locked(folder):
            return next((j for j in self._jobs(folder) if j["state"] == RUNNING), None)

    def claim(self, job_id: str, job: dict) -> dict | None:
        """Register a new running job unless one runs already (in any process); returns the running one
        (not registered then). Registered BEFORE the upload is copied: copying a large file takes a
        while, and a second upload arriving meanwhile must see this one (checking first and registering
        after let both through)."""
        folder = self.folder()
        with self._locked(folder):
            running = next((j for j in self._jobs(folder) if j["state"] == RUNNING), None)
            if running is not None:
                return running
            self._write(folder, {"id": job_id, **job, "state": RUNNING, "bytes_done": 0, "bytes_total": 0,
                                 "rows": 0, "started": time.time(), "finished": None, "summary": None,
                                 "errors": [], "message": "", "pid": os.getpid(), "host": HOST})
            return None

    def forget(self, job_id: str):
        folder = self.folder()
        with self._locked(folder):
            (folder / f"{job_id}.json").unlink(missing_ok=True)
            self._written.pop(job_id, None)

    def clear(self):
        """For tests: no jobs of this kind."""
        folder = self.folder()
        with self._locked(folder):
            for path in folder.glob("*.json"):
                path.unlink(missing_ok=True)
            self._written.clear()

    def prune(self):
        folder = self.folder()
        with self._locked(folder):
            now = time.time()
            finished = sorted((j for j in self._jobs(folder) if j["state"] != RUNNING), key=lambda j: j["started"])
            for job in finished[:-KEEP_JOBS] + [j for j in finished if now - j["started"] > KEEP_SECONDS]:
                (folder / f"{job['id']}.json").unlink(missing_ok=True)
                self._written.pop(job["id"], None)

    def start(self, app, job_id: str, work, username: str, user_id: int | None, cleanup=None):
        """Run `work(progress)` in a daemon thread. `work` returns the job fields of a finished
        import or raises JobRefused; `progress(**fields)` updates the job while it runs;
        `cleanup()` runs at the end whatever happened (removes the saved upload)."""
        thread = threading.Thread(target=self._run, name=f"{self.kind}-import-{job_id[:8]}", daemon=True,
                                  args=(app, job_id, work, username, user_id, cleanup))
        thread.start()
        return thread

    def _run(self, app, job_id, work, username, user_id, cleanup):
        try:
            with app.app_context(), acting_as(username, user_id):
                try:
                    values = work(lambda **fields: self.update(job_id, app, **fields))
                except JobRefused as refused:
                    self.update(job_id, app, state=REFUSED, message=refused.message, **refused.values)
                except Exception:  # noqa: BLE001  shown as a Japanese message; the log keeps the trace
                    log.exception("%s import job %s failed", self.kind, job_id)
                    self.update(job_id, app, state=FAILED, errors=[], message=UNEXPECTED)
                else:
                    self.update(job_id, app, state=DONE, **values)
        finally:
            self.update(job_id, app, finished=time.time())
            self._written.pop(job_id, None)
            self._pending.pop(job_id, None)
            if cleanup is not None:
                try:
                    cleanup()
                except OSError:
                    pass


def busy_message(running: dict) -> str:
    return (f"{running['user']} さんの取込（{running['file_name']}）が実行中です。"
            "終わってからもう一度取り込んでください。")


def save_upload(stream) -> str:
    """The upload copied in 1 MiB blocks to a temporary file with a random name (never the client's)."""
    handle, path = tempfile.mkstemp(prefix="tollbook-upload-", suffix=".dat")
    try:
        with os.fdopen(handle, "wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
    except BaseException:
        os.unlink(path)
        raise
    return path


def wants_json() -> bool:
    from flask import request
    return (request.headers.get("X-Requested-With") == "XMLHttpRequest"
            or request.accept_mimetypes.best == "application/json")


def started(view: str, job_id: str):
    """The answer to an upload whose job has started: 202 with the job for the page's script, or a
    redirect to the job's page (a plain form post, without JavaScript)."""
    from flask import jsonify, redirect, url_for
    status_url = url_for(f"{view}.status", job_id=job_id)
    result_url = url_for(f"{view}.upload", job=job_id)
    if wants_json():
        return jsonify({"job": job_id, "status_url": status_url, "result_url": result_url}), 202
    return redirect(result_url)


def status_answer(job: dict | None, public):
    """The status JSON of the user's own job (404 for another user's or an unknown one)."""
    from flask import jsonify
    if job is None:
        return jsonify({"error": "取込の状況が見つかりません。"}), 404
    return jsonify(public(job))


def own_job(registry: JobRegistry, job_id: str) -> dict | None:
    """The job if the logged-in user started it (a job id is not a permission)."""
    from flask_login import current_user
    job = registry.get(job_id)
    return job if job is not None and job["user"] == current_user.username else None
